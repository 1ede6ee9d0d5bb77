"""subPath and subPathExpr as the kubelet reads them (runtime/volumes.py)."""

from __future__ import annotations

import pytest

from emukube.runtime.volumes import MountError, _sub_path


def test_sub_path_expr_expands_the_containers_env():
    mount = {"name": "data", "mountPath": "/d", "subPathExpr": "logs/$(POD_NAME)"}
    assert _sub_path(mount, {"POD_NAME": "web-0"}, "app") == "logs/web-0"
    assert _sub_path({"name": "data", "subPath": "a/b"}, {}, "app") == "a/b"


@pytest.mark.parametrize("value", ["$(UP)/etc", "$(ROOT)"])
def test_a_sub_path_leaving_the_volume_fails_the_container(value):
    mount = {"name": "data", "mountPath": "/d", "subPathExpr": value}
    with pytest.raises(MountError, match='failed to prepare subPath for volumeMount "data" of container "app"'):
        _sub_path(mount, {"UP": "..", "ROOT": "/etc"}, "app")
