"""The Docker labels under emukube.io/ on a cluster's containers, volumes and networks: what
belongs to which cluster and what each container is (for `down` and for observing containers).
The objects themselves live in the cluster's API server; nothing is read back from a label."""

from enum import StrEnum


class Role(StrEnum):
    """What a container is for (the ROLE label)."""

    CONTROLLER = "controller"  # the control loop and the API server
    DNS = "dns"  # CoreDNS
    PROXY = "proxy"  # a Service's HAProxy (TCP)
    PROXY_UDP = "proxy-udp"  # a Service's nginx stream (UDP)
    NODE = "node"  # a node's proxy: its INTERNAL-IP, NodePorts and hostPorts for pods
    INGRESS = "ingress"  # the Ingress controller: HAProxy routing HTTP by host and path
    POD = "pod"  # a pod with one container: it holds the pod's network itself
    SANDBOX = "sandbox"  # the pause container holding the network of a pod with several
    APP = "app"  # one of several containers of a pod
    INIT = "init"  # an init container
    EPHEMERAL = "ephemeral"  # an ephemeral container (kubectl debug), in a running pod's namespaces
    STATE_READER = "state-reader"  # reads a lost controller's state volume, never started
    VOLUME_HOLDER = "volume-holder"  # keeps the config volume (tmpfs) mounted while the controller is away
    FIREWALL = "firewall"  # loads a pod's NetworkPolicy rules into its network namespace, then goes


CLUSTER = "emukube.io/cluster"
ROLE = "emukube.io/role"  # a Role
NAMESPACE = "emukube.io/namespace"
NAME = "emukube.io/name"  # the Service or pod name
CONTAINER = "emukube.io/container"  # the container's name inside its pod
OWNER = "emukube.io/owner"  # "Deployment/web", "" for bare pods
TEMPLATE_HASH = "emukube.io/template-hash"
ORDINAL = "emukube.io/ordinal"
POD_SPEC = "emukube.io/pod-spec"  # the pod spec as JSON: probes and named ports come from it
POD_LABEL = "emukube.io/label."  # prefix: one Docker label per pod label
SHAPE = "emukube.io/shape"  # hash of what can only change by recreating a proxy container
GENERATION = "emukube.io/generation"  # on the controller: hash of its settings and code
SUBNET = "emukube.io/subnet"
CLAIM = "emukube.io/claim"  # on volumes: the PersistentVolumeClaim they hold (kept when pods go)
NODE = "emukube.io/node"  # on pods: the emulated node they run on; on node proxies: the node
PLANNED = "emukube.io/planned"  # on pods: when their owner made them (epoch seconds), before any container
UID = "emukube.io/uid"  # on pods: their object's uid, when the API held it as they were made
RUN_OWNER = "Run"  # OWNER kind of pods `emukube run` made: the CLI owns them, not the applied objects

ROLES_POD = (Role.POD, Role.SANDBOX)  # the container that holds a pod's network


def planned_of(labels: dict) -> float:
    """When the pod's owner made it (PLANNED); 0 for a pod made before that was kept."""
    try:
        return float(labels.get(PLANNED) or 0)
    except ValueError:
        return 0.0


def run_by_cli(owner: str) -> bool:
    """A pod `emukube run` made (OWNER "Run/NAME"): the controller neither removes nor awaits it."""
    return owner.startswith(f"{RUN_OWNER}/")


def pod_labels_of(labels: dict) -> dict:
    return {k[len(POD_LABEL):]: v for k, v in labels.items() if k.startswith(POD_LABEL)}


def cluster_filter(cluster: str, **extra: str) -> dict:
    wanted = [f"{CLUSTER}={cluster}"] + [f"{k}={v}" for k, v in extra.items()]
    return {"label": wanted}
