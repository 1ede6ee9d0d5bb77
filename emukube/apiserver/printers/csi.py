"""Printers of storage.k8s.io's CSI kinds (printCSIDriver, printCSINode, printVolumeAttachment,
printCSIStorageCapacity, printVolumeAttributesClass), and their columns' descriptions: the v1
types' field docs, as kubectl's column definitions take them."""

from __future__ import annotations

from ...plan.canonical_quantity import canonical
from .format import since

DRIVER_NAME_DOC = "Name of the CSI driver This field is immutable."
ATTACHER_DOC = ("attacher indicates the name of the volume driver that MUST handle this request. This is the name "
                "returned by GetPluginName().")
NODE_NAME_DOC = "nodeName represents the node that the volume should be attached to."
PV_DOC = "persistentVolumeName represents the name of the persistent volume to attach."
ATTACHED_DOC = ("attached indicates the volume is successfully attached. This field must only be set by the entity "
                "completing the attach operation, i.e. the external-attacher.")
ATTACH_REQUIRED_DOC = ("attachRequired indicates this CSI volume driver requires an attach operation (because it "
                       "implements the CSI ControllerPublishVolume() method), and that the Kubernetes attach detach "
                       "controller should call the attach volume interface which checks the volumeattachment status "
                       "and waits until the volume is attached before proceeding to mounting. The CSI "
                       "external-attacher coordinates with CSI volume driver and updates the volumeattachment status "
                       "when the attach operation is complete. If the value is specified to false, the attach "
                       "operation will be skipped. Otherwise the attach operation will be called.\n\nThis field is "
                       "immutable.")
POD_INFO_ON_MOUNT_DOC = ("podInfoOnMount indicates this CSI volume driver requires additional pod information (like "
                         "podName, podUID, etc.) during mount operations, if set to true. If set to false, pod "
                         "information will not be passed on mount. Default is false.\n\nThe CSI driver specifies "
                         "podInfoOnMount as part of driver deployment. If true, Kubelet will pass pod information as "
                         "VolumeContext in the CSI NodePublishVolume() calls. The CSI driver is responsible for "
                         "parsing and validating the information passed in as VolumeContext.\n\nThe following "
                         "VolumeContext will be passed if podInfoOnMount is set to true. This list might grow, but "
                         "the prefix will be used. \"csi.storage.k8s.io/pod.name\": pod.Name "
                         "\"csi.storage.k8s.io/pod.namespace\": pod.Namespace \"csi.storage.k8s.io/pod.uid\": "
                         "string(pod.UID) \"csi.storage.k8s.io/ephemeral\": \"true\" if the volume is an ephemeral "
                         "inline volume\n                                defined by a CSIVolumeSource, otherwise "
                         "\"false\"\n\n\"csi.storage.k8s.io/ephemeral\" is a new feature in Kubernetes 1.16. It is "
                         "only required for drivers which support both the \"Persistent\" and \"Ephemeral\" "
                         "VolumeLifecycleMode. Other drivers can leave pod info disabled and/or ignore this field. As "
                         "Kubernetes 1.15 doesn't support this field, drivers can only support one mode when deployed "
                         "on such a cluster and the deployment determines which mode that is, for example via a "
                         "command line parameter of the driver.\n\nThis field was immutable in Kubernetes < 1.29 and "
                         "now is mutable.")
STORAGE_CAPACITY_DOC = ("storageCapacity indicates that the CSI volume driver wants pod scheduling to consider the "
                        "storage capacity that the driver deployment will report by creating CSIStorageCapacity "
                        "objects with capacity information, if set to true.\n\nThe check can be enabled immediately "
                        "when deploying a driver. In that case, provisioning new volumes with late binding will pause "
                        "until the driver deployment has published some suitable CSIStorageCapacity "
                        "object.\n\nAlternatively, the driver can be deployed with the field unset or false and it "
                        "can be flipped later when storage capacity information has been published.\n\nThis field was "
                        "immutable in Kubernetes <= 1.22 and now is mutable.")
TOKEN_REQUESTS_DOC = ("tokenRequests indicates the CSI driver needs pods' service account tokens it is mounting "
                      "volume for to do necessary authentication. Kubelet will pass the tokens in VolumeContext in "
                      "the CSI NodePublishVolume calls. The CSI driver should parse and validate the following "
                      "VolumeContext: \"csi.storage.k8s.io/serviceAccount.tokens\": {\n  \"<audience>\": {\n    "
                      "\"token\": <token>,\n    \"expirationTimestamp\": <expiration timestamp in RFC3339>,\n  },\n  "
                      "...\n}\n\nNote: Audience in each TokenRequest should be different and at most one token is "
                      "empty string. To receive a new token after expiry, RequiresRepublish can be used to trigger "
                      "NodePublishVolume periodically.")
REQUIRES_REPUBLISH_DOC = ("requiresRepublish indicates the CSI driver wants `NodePublishVolume` being periodically "
                          "called to reflect any possible change in the mounted volume. This field defaults to "
                          "false.\n\nNote: After a successful initial NodePublishVolume call, subsequent calls to "
                          "NodePublishVolume should only update the contents of the volume. New mount points will not "
                          "be seen by a running container.")
MODES_DOC = ("volumeLifecycleModes defines what kind of volumes this CSI volume driver supports. The default if the "
             "list is empty is \"Persistent\", which is the usage defined by the CSI specification and implemented in "
             "Kubernetes via the usual PV/PVC mechanism.\n\nThe other mode is \"Ephemeral\". In this mode, volumes "
             "are defined inline inside the pod spec with CSIVolumeSource and their lifecycle is tied to the "
             "lifecycle of that pod. A driver has to be aware of this because it is only going to get a "
             "NodePublishVolume call for such a volume.\n\nFor more information about implementing this mode, see "
             "https://kubernetes-csi.github.io/docs/ephemeral-local-volumes.html A driver can support one or more of "
             "these modes and more modes may be added in the future.\n\nThis field is beta. This field is immutable.")
STORAGE_CLASS_NAME_DOC = ("storageClassName represents the name of the StorageClass that the reported capacity "
                          "applies to. It must meet the same requirements as the name of a StorageClass object "
                          "(non-empty, DNS subdomain). If that object no longer exists, the CSIStorageCapacity object "
                          "is obsolete and should be removed by its creator. This field is immutable.")
CAPACITY_DOC = ("capacity is the value reported by the CSI driver in its GetCapacityResponse for a GetCapacityRequest "
                "with topology and parameters that match the previous fields.\n\nThe semantic is currently (CSI spec "
                "1.2) defined as: The available capacity, in bytes, of the storage that can be used to provision "
                "volumes. If not set, that information is currently unavailable.")
DRIVERS_DOC = "Drivers indicates the number of CSI drivers registered on the node"


def _meta(obj: dict) -> dict:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _spec(obj: dict) -> dict:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def csi_driver_cells(obj: dict, now: float) -> list:
    """NAME ATTACHREQUIRED PODINFOONMOUNT STORAGECAPACITY TOKENREQUESTS REQUIRESREPUBLISH MODES AGE."""
    spec = _spec(obj)
    requests = spec.get("tokenRequests")
    tokens = ",".join(str(r.get("audience") or "") for r in requests if isinstance(r, dict)) \
        if isinstance(requests, list) and requests else "<unset>"  # an empty list is not stored
    modes = ",".join(str(m) for m in spec.get("volumeLifecycleModes") or []) or "<none>"
    attach = spec.get("attachRequired")
    return [_meta(obj).get("name", ""), True if attach is None else bool(attach), bool(spec.get("podInfoOnMount")),
            bool(spec.get("storageCapacity")), tokens, bool(spec.get("requiresRepublish")), modes,
            since(_meta(obj).get("creationTimestamp"), now)]


def csi_node_cells(obj: dict, now: float) -> list:
    drivers = _spec(obj).get("drivers")
    return [_meta(obj).get("name", ""), len(drivers) if isinstance(drivers, list) else 0,
            since(_meta(obj).get("creationTimestamp"), now)]


def volume_attachment_cells(obj: dict, now: float) -> list:
    spec, status = _spec(obj), s if isinstance(s := obj.get("status"), dict) else {}
    source = src if isinstance(src := spec.get("source"), dict) else {}
    return [_meta(obj).get("name", ""), spec.get("attacher") or "", source.get("persistentVolumeName") or "",
            spec.get("nodeName") or "", bool(status.get("attached")), since(_meta(obj).get("creationTimestamp"), now)]


def csi_storage_capacity_cells(obj: dict, now: float) -> list:
    """No AGE: printCSIStorageCapacity has none. The capacity as Quantity.String() writes it."""
    capacity = obj.get("capacity")
    shown = "<unset>" if capacity is None else canonical(capacity) or str(capacity)
    return [_meta(obj).get("name", ""), obj.get("storageClassName") or "", shown]


def volume_attributes_class_cells(obj: dict, now: float) -> list:
    return [_meta(obj).get("name", ""), obj.get("driverName") or "", since(_meta(obj).get("creationTimestamp"), now)]
