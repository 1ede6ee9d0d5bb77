"""Every piece of cluster state is a Docker label under emukube.io/ (no side files)."""

CLUSTER = "emukube.io/cluster"
ROLE = "emukube.io/role"  # controller | dns | proxy | proxy-udp | node | pod | sandbox | init
NAMESPACE = "emukube.io/namespace"
NAME = "emukube.io/name"  # the Service or pod name
CONTAINER = "emukube.io/container"  # the container's name inside its pod
OWNER = "emukube.io/owner"  # "Deployment/web", "" for bare pods
TEMPLATE_HASH = "emukube.io/template-hash"
ORDINAL = "emukube.io/ordinal"
POD_SPEC = "emukube.io/pod-spec"  # the pod spec as JSON: probes and named ports come from it
POD_LABEL = "emukube.io/label."  # prefix: one Docker label per pod label
SHAPE = "emukube.io/shape"  # hash of what can only change by recreating a proxy container
OBJECTS = "emukube.io/objects"  # on the controller: every applied object, as JSON (the "etcd")
GENERATION = "emukube.io/generation"  # hash of OBJECTS
SUBNET = "emukube.io/subnet"
CLAIM = "emukube.io/claim"  # on volumes: the PersistentVolumeClaim they hold (kept when pods go)
NODE = "emukube.io/node"  # on pods: the emulated node they run on; on node proxies: the node
RUN_OWNER = "Run"  # OWNER kind of pods `emukube run` made: the CLI owns them, not the applied objects

ROLES_POD = ("pod", "sandbox")


def run_by_cli(owner: str) -> bool:
    """A pod `emukube run` made (OWNER "Run/NAME"): the controller neither removes nor awaits it."""
    return owner.startswith(f"{RUN_OWNER}/")


def pod_labels_of(labels: dict) -> dict:
    return {k[len(POD_LABEL):]: v for k, v in labels.items() if k.startswith(POD_LABEL)}


def cluster_filter(cluster: str, **extra: str) -> dict:
    wanted = [f"{CLUSTER}={cluster}"] + [f"{k}={v}" for k, v in extra.items()]
    return {"label": wanted}
