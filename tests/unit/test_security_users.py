"""securityContext users and groups as docker create options (pure)."""

import pytest

from emukube.runtime.security import RunsAsRoot, user_options


def test_the_containers_context_wins_over_the_pods():
    pod = {"securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "supplementalGroups": [4000, 2000],
                               "fsGroup": 2000}}
    assert user_options(pod, {}) == {"user": "1000:3000", "group_add": ["4000", "2000"]}
    assert user_options(pod, {"securityContext": {"runAsUser": 7}})["user"] == "7:3000"
    assert user_options({}, {"securityContext": {"runAsGroup": 5}}, image_user="app") == {"user": "app:5"}
    assert user_options({}, {"securityContext": {"runAsGroup": 5}}) == {"user": "0:5"}
    assert user_options({}, {}) == {}


@pytest.mark.parametrize("image_user, message", [
    ("", "image will run as root"), ("root", "image will run as root"), ("0:0", "image will run as root"),
    ("nginx", "image has non-numeric user (nginx), cannot verify user is non-root"),
])
def test_run_as_non_root_refuses_what_the_kubelet_refuses(image_user, message):
    with pytest.raises(RunsAsRoot, match=message.replace("(", r"\(").replace(")", r"\)")):
        user_options({"securityContext": {"runAsNonRoot": True}}, {}, image_user)
    with pytest.raises(RunsAsRoot, match="runAsUser breaks non-root policy"):
        user_options({}, {"securityContext": {"runAsNonRoot": True, "runAsUser": 0}})
    assert user_options({"securityContext": {"runAsNonRoot": True}}, {}, "1001") == {}
    assert user_options({"securityContext": {"runAsNonRoot": True, "runAsUser": 1001}}, {}, "") == {"user": "1001"}
