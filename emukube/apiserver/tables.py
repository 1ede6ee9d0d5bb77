"""Server-side printing: the meta.k8s.io Table that `kubectl get` asks for, with the columns and
cells of Kubernetes' own printers (pkg/printers/internalversion/printers.go) and, for anything
without one, the API server's DefaultTableConvertor (NAME, CREATED AT).

Every row carries all cells, priority-1 ones too: the API server generates Tables with Wide set
and kubectl drops priority-1 columns itself unless asked for -o wide."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..k8s.resources import Resource
from ..k8s.times import timestamp
from .printers import (
    admissionregistration,
    apiregistration,
    apps,
    autoscaling,
    batch,
    certificates,
    core,
    csi,
    events,
    networking,
    node,
    pods,
    policy,
    rbac,
    scheduling,
    storage,
)
from .printers.format import now_or, parse_time

_NAME_DOC = ("Name must be unique within a namespace. Is required when creating resources, although some "
             "resources may allow a client to request the generation of an appropriate name automatically. "
             "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
             "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")
_AGE_DOC = ("CreationTimestamp is a timestamp representing the server time when this object was created. It "
            "is not guaranteed to be set in happens-before order across separate operations. Clients may not "
            "set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. "
            "Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/"
            "sig-architecture/api-conventions.md#metadata")
_CONTAINERS_DOC = "Names of each container in the template."
_IMAGES_DOC = "Images referenced by each container in the template."
_JOB_SELECTOR_DOC = ("A label query over pods that should match the pod count. Normally, the system sets this field "
                     "for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/"
                     "#label-selectors")
_TIMEZONE_DOC = (
    "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. "
    "If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid "
    "time zone names and the time zone offset is loaded from the system-wide time zone database by the API server "
    "during CronJob validation and the controller manager during execution. If no system-wide time zone database "
    "can be found a bundled version of the database is used instead. If the time zone name becomes invalid during "
    "the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new "
    "Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in "
    "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones")


def col(name: str, description: str, type_: str = "string", priority: int = 0, format_: str = "") -> dict:
    return {"name": name, "type": type_, "format": format_, "description": description, "priority": priority}


NAME = col("Name", _NAME_DOC, format_="name")
AGE = col("Age", _AGE_DOC)


@dataclass(frozen=True)
class Printer:
    columns: tuple[dict, ...]
    cells: Callable[[dict, float], list]
    conditions: Callable[[dict], list | None] | None = None  # TableRow.conditions


_EVENT = Printer((
    col("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
    col("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
    col("Reason", "This should be a short, machine understandable string that gives the reason for the "
                  "transition into the object's current status."),
    col("Object", "The object that this event is about."),
    col("Subobject", "If referring to a piece of an object instead of an entire object, this string should "
                     "contain a valid JSON/Go field access statement, such as "
                     "desiredState.manifest.containers[2].", priority=1),
    col("Source", "The component reporting this event. Should be a short machine understandable string.",
        priority=1),
    col("Message", "A human-readable description of the status of this operation."),
    col("First Seen", "The time at which the event was first recorded. (Time of server receipt is in "
                      "TypeMeta.)", priority=1),
    col("Count", "The number of times this event has occurred.", priority=1),
    col("Name", _NAME_DOC, priority=1, format_="name"),
), events.event_cells)
# One printer for both kinds, as kubectl has (mutatingWebhookColumnDefinitions, validating...).
_WEBHOOK_CONFIGURATION = Printer((
    NAME, col("Webhooks", "Webhooks indicates the number of webhooks registered in this configuration", "integer"),
    AGE,
), admissionregistration.webhook_configuration_cells)


def _binding_columns(role_doc: str) -> tuple[dict, ...]:
    return (NAME, col("Role", role_doc), AGE,
            col("Users", "Users in the roleBinding", priority=1),
            col("Groups", "Groups in the roleBinding", priority=1),
            col("ServiceAccounts", "ServiceAccounts in the roleBinding", priority=1))


_STORAGE = {
    "persistentvolumeclaims": Printer((
        NAME, col("Status", "phase represents the current phase of PersistentVolumeClaim."),
        col("Volume", "volumeName is the binding reference to the PersistentVolume backing this claim."),
        col("Capacity", "capacity represents the actual resources of the underlying volume."),
        col("Access Modes", "accessModes contains the actual access modes the volume backing the PVC has. More "
                            "info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1"),
        col("StorageClass", "StorageClass of the pvc"),
        col("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
        AGE,
        col("VolumeMode", "volumeMode defines what type of volume is required by the claim. Value of Filesystem is "
                          "implied when not included in claim spec.", priority=1),
    ), storage.claim_cells),
    "persistentvolumes": Printer((
        NAME,
        col("Capacity", "capacity is the description of the persistent volume's resources and capacity. More info: "
                        "https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity"),
        col("Access Modes", "accessModes contains all ways the volume can be mounted. More info: "
                            "https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes"),
        col("Reclaim Policy", "persistentVolumeReclaimPolicy defines what happens to a persistent volume when "
                              "released from its claim. Valid options are Retain (default for manually created "
                              "PersistentVolumes), Delete (default for dynamically provisioned PersistentVolumes), "
                              "and Recycle (deprecated). Recycle must be supported by the volume plugin underlying "
                              "this PersistentVolume. More info: "
                              "https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming"),
        col("Status", "phase indicates if a volume is available, bound to a claim, or released by a claim. More "
                      "info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase"),
        col("Claim", "claimRef is part of a bi-directional binding between PersistentVolume and "
                     "PersistentVolumeClaim. Expected to be non-nil when bound. claim.VolumeName is the "
                     "authoritative bind between PV and PVC. More info: "
                     "https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding"),
        col("StorageClass", "StorageClass of the pv"), col("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
        col("Reason", "reason is a brief CamelCase string that describes any failure and is meant for machine "
                      "parsing and tidy display in the CLI."),
        AGE,
        col("VolumeMode", "volumeMode defines if a volume is intended to be used with a formatted filesystem or to "
                          "remain in raw block state. Value of Filesystem is implied when not included in spec.",
            priority=1),
    ), storage.volume_cells),
    "storageclasses.storage.k8s.io": Printer((
        NAME, col("Provisioner", "provisioner indicates the type of the provisioner."),
        col("ReclaimPolicy", "reclaimPolicy controls the reclaimPolicy for dynamically provisioned "
                             "PersistentVolumes of this storage class. Defaults to Delete."),
        col("VolumeBindingMode", "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and "
                                 "bound.  When unset, VolumeBindingImmediate is used. This field is only honored by "
                                 "servers that enable the VolumeScheduling feature."),
        col("AllowVolumeExpansion", "allowVolumeExpansion shows whether the storage class allow volume expand."),
        AGE,
    ), storage.storage_class_cells),
    "csidrivers.storage.k8s.io": Printer((
        NAME, col("AttachRequired", csi.ATTACH_REQUIRED_DOC, "boolean"),
        col("PodInfoOnMount", csi.POD_INFO_ON_MOUNT_DOC, "boolean"),
        col("StorageCapacity", csi.STORAGE_CAPACITY_DOC, "boolean"), col("TokenRequests", csi.TOKEN_REQUESTS_DOC),
        col("RequiresRepublish", csi.REQUIRES_REPUBLISH_DOC, "boolean"), col("Modes", csi.MODES_DOC), AGE,
    ), csi.csi_driver_cells),
    "csinodes.storage.k8s.io": Printer((NAME, col("Drivers", csi.DRIVERS_DOC, "integer"), AGE), csi.csi_node_cells),
    "volumeattachments.storage.k8s.io": Printer((
        NAME, col("Attacher", csi.ATTACHER_DOC, format_="name"), col("PV", csi.PV_DOC), col("Node", csi.NODE_NAME_DOC),
        col("Attached", csi.ATTACHED_DOC, "boolean"), AGE,
    ), csi.volume_attachment_cells),
    "csistoragecapacities.storage.k8s.io": Printer((
        NAME, col("StorageClassName", csi.STORAGE_CLASS_NAME_DOC), col("Capacity", csi.CAPACITY_DOC),
    ), csi.csi_storage_capacity_cells),
    "volumeattributesclasses.storage.k8s.io": Printer((NAME, col("DriverName", csi.DRIVER_NAME_DOC), AGE),
                                                      csi.volume_attributes_class_cells),
}


PRINTERS: dict[str, Printer] = {
    "pods": Printer((
        NAME,
        col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
        col("Status", "The aggregate status of the containers in this pod."),
        col("Restarts", "The number of times the containers in this pod have been restarted and when the "
                        "last container in this pod has restarted."),
        AGE,
        col("IP", "podIP address allocated to the pod. Routable at least within the cluster. Empty if not "
                  "yet allocated.", priority=1),
        col("Node", "NodeName indicates in which node this pod is scheduled. If empty, this pod is a "
                    "candidate for scheduling by the scheduler defined in schedulerName.", priority=1),
        col("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node, "
                              "but it cannot be scheduled right away as preemption victims receive their "
                              "graceful termination periods.", priority=1),
        col("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.",
            priority=1),
    ), pods.pod_cells, pods.pod_conditions),
    "services": Printer((
        NAME,
        col("Type", "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are "
                    "ExternalName, ClusterIP, NodePort, and LoadBalancer."),
        col("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly."),
        col("External-IP", "externalIPs is a list of IP addresses for which nodes in the cluster will also "
                           "accept traffic for this service."),
        col("Port(s)", "The list of ports that are exposed by this service."),
        AGE,
        col("Selector", "Route service traffic to pods with label keys and values matching this selector.",
            priority=1),
    ), core.service_cells),
    "endpoints": Printer((
        NAME, col("Endpoints", "The set of all endpoints is the union of all subsets."), AGE,
    ), core.endpoints_cells),
    "endpointslices.discovery.k8s.io": Printer((
        NAME,
        col("AddressType", "addressType specifies the type of address carried by this EndpointSlice."),
        col("Ports", "ports specifies the list of network ports exposed by each endpoint in this slice."),
        col("Endpoints", "endpoints is a list of unique endpoints in this slice."),
        AGE,
    ), core.endpointslice_cells),
    "configmaps": Printer((NAME, col("Data", "Data contains the configuration data."), AGE),
                          core.configmap_cells),
    "secrets": Printer((
        NAME, col("Type", "Used to facilitate programmatic handling of secret data."),
        col("Data", "Data contains the secret data."), AGE,
    ), core.secret_cells),
    "serviceaccounts": Printer((
        NAME, col("Secrets", "Secrets is a list of the secrets in the same namespace that pods running using "
                             "this ServiceAccount are allowed to use."), AGE,
    ), core.serviceaccount_cells),
    "namespaces": Printer((NAME, col("Status", "The status of the namespace"), AGE), core.namespace_cells),
    "nodes": Printer((
        NAME,
        col("Status", "The status of the node"),
        col("Roles", "The roles of the node"),
        AGE,
        col("Version", "Kubelet Version reported by the node."),
        col("Internal-IP", "List of addresses reachable to the node.", priority=1),
        col("External-IP", "List of addresses reachable to the node.", priority=1),
        col("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 "
                        "(wheezy)).", priority=1),
        col("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. "
                              "3.16.0-0.bpo.4-amd64).", priority=1),
        col("Container-Runtime", "ContainerRuntime Version reported by the node through runtime remote API "
                                 "(e.g. containerd://1.4.2).", priority=1),
    ), core.node_cells),
    "events": _EVENT,
    **_STORAGE,
    "events.events.k8s.io": _EVENT,
    "deployments.apps": Printer((
        NAME,
        col("Ready", "Number of the pod with ready state"),
        col("Up-to-date", "Total number of non-terminated pods targeted by this deployment that have the "
                          "desired template spec."),
        col("Available", "Total number of available pods (ready for at least minReadySeconds) targeted by "
                         "this deployment."),
        AGE,
        col("Containers", _CONTAINERS_DOC, priority=1),
        col("Images", _IMAGES_DOC, priority=1),
        col("Selector", "Label selector for pods. Existing ReplicaSets whose pods are selected by this will "
                        "be the ones affected by this deployment.", priority=1),
    ), apps.deployment_cells),
    "replicasets.apps": Printer((
        NAME,
        col("Desired", "Replicas is the number of desired replicas. This is a pointer to distinguish between "
                       "explicit zero and unspecified. Defaults to 1.", type_="integer"),
        col("Current", "Replicas is the most recently observed number of replicas.", type_="integer"),
        col("Ready", "The number of ready replicas for this replica set.", type_="integer"),
        AGE,
        col("Containers", _CONTAINERS_DOC, priority=1),
        col("Images", _IMAGES_DOC, priority=1),
        col("Selector", "Selector is a label query over pods that should match the replica count.",
            priority=1),
    ), apps.replicaset_cells),
    "statefulsets.apps": Printer((
        NAME, col("Ready", "Number of the pod with ready state"), AGE,
        col("Containers", _CONTAINERS_DOC, priority=1), col("Images", _IMAGES_DOC, priority=1),
    ), apps.statefulset_cells),
    "replicationcontrollers": Printer((
        NAME,
        col("Desired", "Replicas is the number of desired replicas. This is a pointer to distinguish between "
                       "explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/"
                       "workloads/controllers/replicationcontroller#what-is-a-replicationcontroller", "integer"),
        col("Current", "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/"
                       "docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller",
            "integer"),
        col("Ready", "The number of ready replicas for this replication controller.", "integer"),
        AGE,
        col("Containers", _CONTAINERS_DOC, priority=1),
        col("Images", _IMAGES_DOC, priority=1),
        col("Selector", "Selector is a label query over pods that should match the Replicas count. If Selector is "
                        "empty, it is defaulted to the labels present on the Pod template. Label keys and values "
                        "that must match in order to be controlled by this replication controller, if empty "
                        "defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/"
                        "overview/working-with-objects/labels/#label-selectors", priority=1),
    ), apps.replicationcontroller_cells),
    "daemonsets.apps": Printer((
        NAME,
        col("Desired", "The total number of nodes that should be running the daemon pod (including nodes "
                       "correctly running the daemon pod). More info: "
                       "https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/", "integer"),
        col("Current", "The number of nodes that are running at least 1 daemon pod and are supposed to run the "
                       "daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
            "integer"),
        col("Ready", "numberReady is the number of nodes that should be running the daemon pod and have one or "
                     "more of the daemon pod running with a Ready Condition.", "integer"),
        col("Up-to-date", "The total number of nodes that are running updated daemon pod", "integer"),
        col("Available", "The number of nodes that should be running the daemon pod and have one or more of the "
                         "daemon pod running and available (ready for at least spec.minReadySeconds)", "integer"),
        col("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node. Selector "
                             "which must match a node's labels for the pod to be scheduled on that node. More info: "
                             "https://kubernetes.io/docs/concepts/configuration/assign-pod-node/"),
        AGE,
        col("Containers", _CONTAINERS_DOC, priority=1),
        col("Images", _IMAGES_DOC, priority=1),
        col("Selector", "A label query over pods that are managed by the daemon set. Must match in order to be "
                        "controlled. It must match the pod template's labels. More info: "
                        "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
            priority=1),
    ), apps.daemonset_cells),
    "resourcequotas": Printer((
        NAME, AGE,
        col("Request", "Request represents a minimum amount of cpu/memory that a container may consume."),
        col("Limit", "Limits control the maximum amount of cpu/memory that a container may use independent of "
                     "contention on the node."),
    ), policy.quota_cells),
    "priorityclasses.scheduling.k8s.io": Printer((
        NAME,
        col("Value", "value represents the integer value of this priority class. This is the actual priority that "
                     "pods receive when they have the name of this class in their pod spec.", "integer"),
        col("Global-Default", "globalDefault specifies whether this PriorityClass should be considered as the "
                              "default priority for pods that do not have any priority class. Only one PriorityClass "
                              "can be marked as `globalDefault`. However, if more than one PriorityClasses exists "
                              "with their `globalDefault` field set to true, the smallest value of such global "
                              "default PriorityClasses will be used as the default priority.", "boolean"),
        AGE,
        col("PreemptionPolicy", "preemptionPolicy is the Policy for preempting pods with lower priority. One of "
                                "Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset."),
    ), scheduling.priorityclass_cells),
    # Handler's description is ObjectMeta's doc of "handler", a field ObjectMeta lacks: empty, as kubectl has it.
    "runtimeclasses.node.k8s.io": Printer((NAME, col("Handler", ""), AGE), node.runtime_class_cells),
    "podtemplates": Printer((
        NAME, col("Containers", _CONTAINERS_DOC), col("Images", _IMAGES_DOC),
        col("Pod Labels", "The labels for the pod template."),
    ), core.pod_template_cells),
    "controllerrevisions.apps": Printer((
        NAME, col("Controller", "Controller of the object"),
        col("Revision", "Revision indicates the revision of the state represented by Data."), AGE,
    ), apps.controllerrevision_cells),
    "horizontalpodautoscalers.autoscaling": Printer((
        NAME, col("Reference", "reference to scaled resource; horizontal pod autoscaler will learn the current "
                               "resource consumption and will set the desired number of pods by using its Scale "
                               "subresource."),
        col("Targets", "metrics contains the specifications for which to use to calculate the desired replica "
                       "count (the maximum replica count across all metrics will be used)."),
        col("MinPods", "minReplicas is the lower limit for the number of replicas to which the autoscaler can "
                       "scale down."),
        col("MaxPods", "maxReplicas is the upper limit for the number of replicas to which the autoscaler can "
                       "scale up. It cannot be less that minReplicas."),
        col("Replicas", "currentReplicas is current number of replicas of pods managed by this autoscaler, as "
                        "last seen by the autoscaler.", "integer"), AGE,
    ), autoscaling.autoscaler_cells),
    "ingresses.networking.k8s.io": Printer((
        NAME, col("Class", "The name of the IngressClass resource that should be used for additional configuration"),
        col("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
        col("Address", "Address is a list containing ingress points for the load-balancer"),
        col("Ports", "Ports of TLS configurations that open"), AGE,
    ), networking.ingress_cells),
    "networkpolicies.networking.k8s.io": Printer((
        NAME, col("Pod-Selector", "podSelector selects the pods to which this NetworkPolicy object applies. The array "
                                  "of rules is applied to any pods selected by this field. An empty selector matches "
                                  "all pods in the policy's namespace. Multiple network policies can select the same "
                                  "set of pods. In this case, the ingress rules for each are combined additively. "
                                  "This field is optional. If it is not specified, it defaults to an empty selector."),
        AGE,
    ), networking.network_policy_cells),
    "componentstatuses": Printer((
        NAME, col("Status", "Status of the component conditions"),
        col("Message", "Message of the component conditions"), col("Error", "Error of the component conditions"),
    ), core.component_status_cells),
    "certificatesigningrequests.certificates.k8s.io": Printer((
        NAME, AGE, col("SignerName", certificates.SIGNER_NAME_DOC), col("Requestor", certificates.REQUEST_DOC),
        col("RequestedDuration", certificates.EXPIRATION_DOC), col("Condition", certificates.CONDITIONS_DOC),
    ), certificates.csr_cells),
    "mutatingwebhookconfigurations.admissionregistration.k8s.io": _WEBHOOK_CONFIGURATION,
    "apiservices.apiregistration.k8s.io": Printer((
        NAME, col("Service", apiregistration.SERVICE_DOC), col("Available", apiregistration.AVAILABLE_DOC), AGE,
    ), apiregistration.apiservice_cells),
    "validatingwebhookconfigurations.admissionregistration.k8s.io": _WEBHOOK_CONFIGURATION,
    "validatingadmissionpolicies.admissionregistration.k8s.io": Printer((
        NAME, col("Validations", admissionregistration.VALIDATIONS_DOC, "integer"),
        col("ParamKind", admissionregistration.PARAM_KIND_DOC), AGE,
    ), admissionregistration.admission_policy_cells),
    "validatingadmissionpolicybindings.admissionregistration.k8s.io": Printer((
        NAME, col("PolicyName", admissionregistration.POLICY_NAME_DOC),
        col("ParamRef", admissionregistration.PARAM_REF_DOC), AGE,
    ), admissionregistration.admission_policy_binding_cells),
    "servicecidrs.networking.k8s.io": Printer((NAME, col("CIDRs", networking.CIDRS_DOC), AGE),
                                              networking.service_cidr_cells),
    "ipaddresses.networking.k8s.io": Printer((NAME, col("ParentRef", networking.PARENT_REF_DOC)),
                                             networking.ip_address_cells),
    "ingressclasses.networking.k8s.io": Printer((
        NAME, col("Controller", "Controller that is responsible for handling this class"),
        col("Parameters", "A reference to a resource with additional parameters"), AGE,
    ), networking.ingress_class_cells),
    "poddisruptionbudgets.policy": Printer((
        NAME, col("Min Available", "The minimum number of pods that must be available."),
        col("Max Unavailable", "The maximum number of pods that may be unavailable."),
        col("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", "integer"), AGE,
    ), policy.budget_cells),
    "jobs.batch": Printer((
        NAME, col("Status", "Status of the job."),
        col("Completions", "The number of pods which reached phase Succeeded. The value increases monotonically "
                           "for a given spec. However, it may decrease in reaction to scale down of elastic "
                           "indexed jobs."),
        col("Duration", "Time required to complete the job."), AGE,
        col("Containers", _CONTAINERS_DOC, priority=1), col("Images", _IMAGES_DOC, priority=1),
        col("Selector", _JOB_SELECTOR_DOC, priority=1),
    ), batch.job_cells),
    "cronjobs.batch": Printer((
        NAME, col("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
        col("Timezone", _TIMEZONE_DOC),
        col("Suspend", "This flag tells the controller to suspend subsequent executions, it does not apply to "
                       "already started executions.  Defaults to false.", type_="boolean"),
        col("Active", "A list of pointers to currently running jobs.", type_="integer"),
        col("Last Schedule", "Information when was the last time the job was successfully scheduled."), AGE,
        col("Containers", _CONTAINERS_DOC, priority=1), col("Images", _IMAGES_DOC, priority=1),
        col("Selector", _JOB_SELECTOR_DOC, priority=1),
    ), batch.cronjob_cells),
    "leases.coordination.k8s.io": Printer((
        NAME, col("Holder", "holderIdentity contains the identity of the holder of a current lease."), AGE,
    ), core.lease_cells),
    "rolebindings.rbac.authorization.k8s.io": Printer(_binding_columns(
        "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the "
        "RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable."),
        rbac.binding_cells),
    "clusterrolebindings.rbac.authorization.k8s.io": Printer(_binding_columns(
        "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, "
        "the Authorizer must return an error. This field is immutable."), rbac.binding_cells),
}


def _default_cells(obj: dict, now: float) -> list:
    """DefaultTableConvertor: the name and the creation time as RFC 3339 in UTC."""
    meta = obj.get("metadata") or {}
    created = parse_time(meta.get("creationTimestamp"))
    return [meta.get("name", ""), _rfc3339(created)]


def _rfc3339(epoch: float | None) -> str:
    if epoch is None:  # Go formats the zero time
        return "0001-01-01T00:00:00Z"
    return timestamp(int(epoch // 1))


DEFAULT = Printer((NAME, col("Created At", _AGE_DOC, type_="date")), _default_cells)

INCLUDE_OBJECT = ("None", "Metadata", "Object")


def printer_for(resource: Resource) -> Printer:
    custom = getattr(resource, "printer", None)  # a custom resource's, from its CRD's columns
    return custom if custom is not None else PRINTERS.get(resource.key, DEFAULT)


def row_object(obj: dict, include_object: str, group_version: str = "meta.k8s.io/v1"):
    """What a row carries as its object: nothing, a PartialObjectMetadata, or the object itself."""
    if include_object == "None":
        return None
    if include_object == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": group_version, "metadata": obj.get("metadata") or {}}


def table_for(resource: Resource, objects: list[dict], include_object: str = "Metadata",
              now: float | None = None, *, no_headers: bool = False,
              group_version: str = "meta.k8s.io/v1") -> dict:
    """A meta.k8s.io Table of `objects` (a list, or one object for a GET by name).

    include_object: "None", "Metadata" (the default; "" means it too) or "Object"; anything else
    raises ValueError with the API server's 400 message. no_headers leaves columnDefinitions null,
    as the API server does for every watch event after the first. The caller sets
    metadata.resourceVersion / continue."""
    mode = include_object or "Metadata"
    if mode not in INCLUDE_OBJECT:
        raise ValueError(f'unrecognized includeObject value: "{include_object}"')
    printer = printer_for(resource)
    at = now_or(now)
    rows = []
    for obj in objects:
        row: dict = {"cells": printer.cells(obj, at)}
        conditions = printer.conditions(obj) if printer.conditions else None
        if conditions:
            row["conditions"] = [dict(c) for c in conditions]
        row["object"] = row_object(obj, mode, group_version)
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": group_version,
        "metadata": {},
        "columnDefinitions": None if no_headers else [dict(c) for c in printer.columns],
        "rows": rows,
    }
