"""Service-account volumes bind-mounted from one folder per account (runtime/account_volumes.py)."""

from __future__ import annotations

from emukube.runtime.account_volumes import account_mount

SA = "/var/run/secrets/kubernetes.io/serviceaccount"


def files(token: bytes = b"t1") -> dict:
    return {f"{SA}/token": (token, 0o644), f"{SA}/ca.crt": (b"CA", 0o644), f"{SA}/namespace": (b"shop", 0o644)}


def test_one_folder_per_account_bind_mounted_read_only(tmp_path):
    mount = account_mount((str(tmp_path / "local"), "/host/accounts"), "shop", "default", files(), {"name": "app"})
    assert mount is not None
    assert (mount["Target"], mount["Source"], mount["Type"], mount["ReadOnly"]) == \
        (SA, "/host/accounts/shop/default", "bind", True)
    folder = tmp_path / "local" / "shop" / "default"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {"token": b"t1", "ca.crt": b"CA", "namespace": b"shop"}


def test_a_token_written_stays_for_the_pods_running(tmp_path):
    dirs = (str(tmp_path), "/host")
    account_mount(dirs, "shop", "default", files(b"first"), {})
    account_mount(dirs, "shop", "default", files(b"second"), {})
    assert (tmp_path / "shop" / "default" / "token").read_bytes() == b"first"


def test_a_mount_of_the_container_at_above_or_below_the_path_keeps_the_copy(tmp_path):
    dirs = (str(tmp_path), "/host")
    for path in (SA, SA + "/", SA + "/token", "/var/run/secrets", "/var/run"):
        container = {"volumeMounts": [{"name": "v", "mountPath": path}]}
        assert account_mount(dirs, "shop", "default", files(), container) is None, path
    beside = {"volumeMounts": [{"name": "v", "mountPath": "/var/run/secrets-other"}]}
    assert account_mount(dirs, "shop", "default", files(), beside) is not None


def test_outside_the_controller_the_files_are_copied(tmp_path):
    assert account_mount(None, "shop", "default", files(), {}) is None
