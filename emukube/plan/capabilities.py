"""The Linux capabilities a container gets without privileges: the engine's default set, which
validation holds `capabilities.add` to and the runtime grants."""

from __future__ import annotations

# What the Pod Security Standards' baseline lets a container add: Docker grants these anyway.
BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                         "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}


def cap_name(name: str) -> str:
    """Kubernetes writes NET_ADMIN, people also write CAP_NET_ADMIN or net_admin."""
    name = str(name).upper()
    return name[4:] if name.startswith("CAP_") else name
