"""A container's securityContext as Docker create options. Pure.

Validation has already refused what needs --allow-privileged; this is the second line: without
it, nothing beyond Docker's defaults is ever granted, whatever reaches the runtime.
"""

from __future__ import annotations

from ..plan.capabilities import BASELINE_CAPABILITIES, cap_name


def security_options(pod_spec: dict, container: dict, allow_privileged: bool) -> dict:
    """privileged, cap_add, cap_drop and security_opt for docker's host config. The default
    seccomp profile stays unless the (pod or container) profile is Unconfined and allowed;
    allowPrivilegeEscalation: false gives no-new-privileges."""
    security = container.get("securityContext") or {}
    caps = security.get("capabilities") or {}
    add = [cap_name(c) for c in caps.get("add") or [] if allow_privileged or cap_name(c) in BASELINE_CAPABILITIES]
    drop = [cap_name(c) for c in caps.get("drop") or []]
    profile = security.get("seccompProfile") or (pod_spec.get("securityContext") or {}).get("seccompProfile") or {}
    out: dict = {"privileged": bool(security.get("privileged")) and allow_privileged}
    if add:
        out["cap_add"] = add
    if drop:
        out["cap_drop"] = drop
    opts = []
    if profile.get("type") == "Unconfined" and allow_privileged:
        opts.append("seccomp=unconfined")
    if security.get("allowPrivilegeEscalation") is False:  # the kernel's no_new_privs, as the kubelet sets it
        opts.append("no-new-privileges:true")
    if opts:
        out["security_opt"] = opts
    return out


class RunsAsRoot(ValueError):
    """runAsNonRoot with a user that is (or may be) root: the kubelet refuses to start it."""


def user_options(pod_spec: dict, container: dict, image_user: str = "") -> dict:
    """user and group_add for docker's create, from the container's securityContext over the
    pod's (runAsUser, runAsGroup, supplementalGroups, fsGroup as a supplemental group, as the
    kubelet gives it). image_user: the image's USER ("" is root). Raises RunsAsRoot with the
    kubelet's message where runAsNonRoot forbids what would run."""
    pod = pod_spec.get("securityContext") or {}
    own = container.get("securityContext") or {}
    uid = own.get("runAsUser", pod.get("runAsUser"))
    gid = own.get("runAsGroup", pod.get("runAsGroup"))
    out: dict = {}
    user = str(uid) if uid is not None else image_user.split(":")[0]
    if uid is not None or gid is not None:
        out["user"] = f"{user or 0}:{gid}" if gid is not None else user
    groups = [*(pod.get("supplementalGroups") or []), *([pod["fsGroup"]] if pod.get("fsGroup") is not None else [])]
    if groups:
        out["group_add"] = [str(g) for g in dict.fromkeys(groups)]
    if own.get("runAsNonRoot", pod.get("runAsNonRoot")):
        if uid is not None:
            if int(uid) == 0:
                raise RunsAsRoot("container's runAsUser breaks non-root policy")
        elif user in ("", "0", "root"):
            raise RunsAsRoot("container has runAsNonRoot and image will run as root")
        elif not user.isdigit():
            raise RunsAsRoot(f"container has runAsNonRoot and image has non-numeric user ({user}), "
                             "cannot verify user is non-root")
    return out
