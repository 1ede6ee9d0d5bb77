"""The reasons emukube gives in Events and container states, spelled as Kubernetes spells them
(kubelet: pkg/kubelet/events/event.go and container states; the scheduler; the workload
controllers), plus emukube's own for its proxies and DNS. Clients match these words exactly:
kubectl's describe, `kubectl get events --field-selector reason=...`, tests, dashboards."""

from __future__ import annotations

from enum import StrEnum

from .times import go_duration


class Reason(StrEnum):
    # the horizontal pod autoscaler's
    SUCCESSFUL_RESCALE = "SuccessfulRescale"
    FAILED_GET_SCALE = "FailedGetScale"
    FAILED_GET_RESOURCE_METRIC = "FailedGetResourceMetric"
    FAILED_GET_CONTAINER_RESOURCE_METRIC = "FailedGetContainerResourceMetric"
    FAILED_GET_PODS_METRIC = "FailedGetPodsMetric"
    FAILED_GET_OBJECT_METRIC = "FailedGetObjectMetric"
    FAILED_GET_EXTERNAL_METRIC = "FailedGetExternalMetric"
    INVALID_METRIC_SOURCE_TYPE = "InvalidMetricSourceType"
    FAILED_COMPUTE_METRICS_REPLICAS = "FailedComputeMetricsReplicas"
    # the kubelet's events
    CREATED = "Created"
    STARTED = "Started"
    FAILED = "Failed"
    KILLING = "Killing"
    BACK_OFF = "BackOff"
    PULLING = "Pulling"
    PULLED = "Pulled"
    UNHEALTHY = "Unhealthy"
    FAILED_MOUNT = "FailedMount"
    EXCEEDED_GRACE_PERIOD = "ExceededGracePeriod"
    PROBE_WARNING = "ProbeWarning"
    FAILED_POST_START_HOOK = "FailedPostStartHook"
    FAILED_PRE_STOP_HOOK = "FailedPreStopHook"
    # the scheduler's
    SCHEDULED = "Scheduled"
    FAILED_SCHEDULING = "FailedScheduling"
    # the workload and volume controllers'
    SUCCESSFUL_CREATE = "SuccessfulCreate"
    SUCCESSFUL_DELETE = "SuccessfulDelete"
    FAILED_CREATE = "FailedCreate"
    SCALING_REPLICA_SET = "ScalingReplicaSet"  # the deployment controller's
    PROVISIONING_FAILED = "ProvisioningFailed"
    TAINT_MANAGER_EVICTION = "TaintManagerEviction"  # the taint eviction controller's
    # emukube's own: its Service proxies, node proxies and CoreDNS
    RELOADED = "Reloaded"
    PROXY_FAILED = "ProxyFailed"
    NODE_PROXY_FAILED = "NodeProxyFailed"
    NODE_PORTS = "NodePorts"
    SYNC = "Sync"  # the Ingress controller's (as ingress-nginx's): an Ingress's routes are served


class Waiting(StrEnum):
    """A container's state.waiting.reason (kubectl's STATUS column shows it)."""

    CONTAINER_CREATING = "ContainerCreating"
    POD_INITIALIZING = "PodInitializing"
    CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
    ERR_IMAGE_PULL = "ErrImagePull"
    IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
    ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"
    CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"
    RUN_CONTAINER_ERROR = "RunContainerError"


KUBELET = frozenset({Reason.CREATED, Reason.STARTED, Reason.FAILED, Reason.KILLING, Reason.BACK_OFF, Reason.PULLING,
                     Reason.PULLED, Reason.UNHEALTHY, Reason.FAILED_MOUNT, Reason.EXCEEDED_GRACE_PERIOD,
                     Reason.PROBE_WARNING, Reason.FAILED_POST_START_HOOK, Reason.FAILED_PRE_STOP_HOOK})
SCHEDULER = frozenset({Reason.SCHEDULED, Reason.FAILED_SCHEDULING})


def kubelet_pod(name: str, namespace: str, uid: str) -> str:
    """How the kubelet names a pod in its messages (format.Pod): "web-0_shop(2d1f...)"."""
    return f"{name}_{namespace}({uid})"


def back_off_restarting(container: str, pod: str) -> str:
    """The kubelet's BackOff event: the same words at every wait, so that the Event counts them
    ("x5 over 3m" in `kubectl describe`); `pod` as kubelet_pod() gives it."""
    return f"Back-off restarting failed container {container} in pod {pod}"


def crash_loop_back_off(seconds: float, container: str, pod: str) -> str:
    """A CrashLoopBackOff container's waiting message, the wait as Go prints it ("1m20s")."""
    return f"back-off {go_duration(round(seconds) * 1_000_000_000)} restarting failed container={container} pod={pod}"
