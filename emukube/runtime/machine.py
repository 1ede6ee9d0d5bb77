"""What this machine offers its pods, as a node's capacity and allocatable resources."""

from __future__ import annotations

import os


def cpus() -> str:
    return str(os.cpu_count() or 1)


def memory() -> str:
    """MemTotal, in Ki ("" when /proc/meminfo cannot be read)."""
    try:
        with open("/proc/meminfo") as fh:
            kib = int(fh.readline().split()[1])
        return f"{kib}Ki"
    except (OSError, ValueError, IndexError):
        return ""


def allocatable() -> dict[str, str]:
    """What a resourceFieldRef reads for a limit the container does not set (the kubelet's
    node allocatable)."""
    return {k: v for k, v in (("cpu", cpus()), ("memory", memory())) if v}
