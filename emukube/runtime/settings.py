"""What `up` hands the controller container, defined once: the cluster's settings (carried in the
container's environment, read back by the CLI), and the state volume's paths both sides use."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

# The state volume, mounted at /state in the controller (its API server's store lives there too).
STATE_DIR = "/state"
STATUS_FILE = f"{STATE_DIR}/status.json"  # the controller's report: converged, waiting, pods, Services
BACKUP_FILE = f"{STATE_DIR}/applied.json"  # the applied objects and settings, for a lost controller
PKI_DIR = f"{STATE_DIR}/pki"  # the API server's CA, serving certificate and tokens
# The config volume (tmpfs: Secrets stay off the disk), mounted here in the controller: it holds
# the pods' configMap and secret volumes (runtime/config_volumes.py).
CONFIG_DIR = "/config"


def config_volume(cluster: str) -> str:
    return f"emukube-{cluster}-config"


@dataclass(frozen=True)
class Settings:
    """A cluster's settings. `user` ones come from `up`'s options; the rest from planning."""

    cluster: str
    subnet: str
    images: dict[str, str] = field(default_factory=dict)  # role -> image reference
    image_map: dict[str, str] = field(default_factory=dict)  # user image -> replacement
    node_address: str = "127.0.0.1"  # --address
    allow_privileged: bool = False
    nodes: int = 1

    def to_env(self) -> dict[str, str]:
        return {"EMUKUBE_CLUSTER": self.cluster, "EMUKUBE_SUBNET": self.subnet,
                "EMUKUBE_IMAGES": json.dumps(self.images), "EMUKUBE_IMAGE_MAP": json.dumps(self.image_map),
                "EMUKUBE_NODE_ADDRESS": self.node_address,
                "EMUKUBE_ALLOW_PRIVILEGED": "1" if self.allow_privileged else "0",
                "EMUKUBE_NODES": str(self.nodes)}

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        return cls(cluster=env["EMUKUBE_CLUSTER"], subnet=env["EMUKUBE_SUBNET"],
                   images=json.loads(env.get("EMUKUBE_IMAGES") or "{}"),
                   image_map=json.loads(env.get("EMUKUBE_IMAGE_MAP") or "{}"),
                   node_address=env.get("EMUKUBE_NODE_ADDRESS", "127.0.0.1"),
                   allow_privileged=env.get("EMUKUBE_ALLOW_PRIVILEGED") == "1",
                   nodes=int(env.get("EMUKUBE_NODES") or 1))

    @classmethod
    def of_container(cls, container) -> Settings:
        """Read back from a controller container's environment."""
        return cls.from_env(dict(e.split("=", 1) for e in container.attrs["Config"]["Env"] if "=" in e))

    def user(self) -> dict:
        """The settings `up` takes from its options, as `apply` compares and keeps them."""
        return {"address": self.node_address, "allow_privileged": self.allow_privileged,
                "image_map": dict(self.image_map), "nodes": self.nodes}
