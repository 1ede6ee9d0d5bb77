"""RBAC as the real kubectl sees it: Roles and bindings made with `kubectl create`, listed with
kubectl's columns, answered by `kubectl auth can-i` (also --as a ServiceAccount) and enforced for
a pod's in-cluster kubectl: refused with the API server's 403 until a RoleBinding grants it."""

from __future__ import annotations

import base64
import json
import re

import pytest
from conftest import HERE, wait_until
from kubectl_tools import Kube, start_kubectl_pod

MANIFEST = HERE / "manifests" / "rbac.yaml"
ROBOT = "--as=system:serviceaccount:team:robot"


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    return Kube(cluster.name, tmp_path_factory.mktemp("kube"))


def test_kubectl_creates_roles_and_bindings_and_lists_them_with_kubectls_columns(kube):
    kube("create", "serviceaccount", "robot", "-n", "team")
    kube("create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods,configmaps", "-n", "team")
    kube("create", "rolebinding", "robot-reads", "--role=pod-reader", "--serviceaccount=team:robot", "-n", "team")
    out = kube.lines("get", "roles,rolebindings", "-n", "team")
    assert out[0].split() == ["NAME", "CREATED", "AT"] and out[1].startswith("role.rbac.authorization.k8s.io/pod-reader")
    assert out[3].split() == ["NAME", "ROLE", "AGE"]
    assert out[4].split()[:2] == ["rolebinding.rbac.authorization.k8s.io/robot-reads", "Role/pod-reader"]
    wide = kube.lines("get", "rolebinding", "robot-reads", "-n", "team", "-o", "wide")
    assert wide[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert wide[1].split()[-1] == "team/robot"
    explained = kube("explain", "rolebinding.roleRef").stdout
    assert "RoleRef can reference a Role in the current namespace" in explained, explained
    resources = kube.lines("api-resources", "--api-group=authorization.k8s.io", "-o", "name")
    assert "selfsubjectaccessreviews.authorization.k8s.io" in resources, resources
    # kube-apiserver's bootstrap policy is there.
    discovery = kube.lines("get", "clusterrolebinding", "system:discovery", "-o", "wide")
    assert discovery[1].split()[1:2] == ["ClusterRole/system:discovery"] and "system:authenticated" in discovery[1]
    assert kube("get", "clusterroles", "cluster-admin", "admin", "edit", "view", "-o", "name").stdout.split() == [
        "clusterrole.rbac.authorization.k8s.io/" + n for n in ("cluster-admin", "admin", "edit", "view")]
    # roleRef cannot change, in the API server's words.
    refused = kube("create", "rolebinding", "robot-reads", "--clusterrole=edit", "--serviceaccount=team:robot",
                   "-n", "team", "--dry-run=client", "-o", "yaml")
    replaced = kube("replace", "-f", "-", input=refused.stdout, check=False)
    assert (replaced.returncode, replaced.stderr) == (1, 'The RoleBinding "robot-reads" is invalid: roleRef: Invalid '
                                                      'value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", '
                                                      'Kind:"ClusterRole", Name:"edit"}: cannot change roleRef\n')


def test_kubectl_auth_can_i_answers_from_the_rbac_objects(kube):
    def can(*args: str) -> str:
        return kube("auth", "can-i", *args, check=False).stdout.strip()

    assert can("list", "pods", "-n", "team", ROBOT) == "yes"
    assert can("get", "configmaps/settings", "-n", "team", ROBOT) == "yes"
    assert can("delete", "pods", "-n", "team", ROBOT) == "no"
    assert can("list", "pods", "-n", "default", ROBOT) == "no"
    assert can("list", "secrets", "-n", "team", ROBOT) == "no"
    assert can("create", "selfsubjectaccessreviews", ROBOT) == "yes"  # system:basic-user
    assert can("*", "*", "--all-namespaces") == "yes"  # the kubeconfig user is cluster-admin
    listed = kube("auth", "can-i", "--list", "-n", "team", ROBOT).stdout
    assert any(line.split()[:1] == ["pods"] and "[get list watch]" in line for line in listed.splitlines()), listed
    whoami = kube("auth", "whoami", ROBOT, "-o", "json")
    assert json.loads(whoami.stdout)["status"]["userInfo"]["username"] == "system:serviceaccount:team:robot"


def test_kubectl_create_token_gives_a_token_rbac_judges(kube):
    token = kube("create", "token", "robot", "-n", "team", "--duration=20m").stdout.strip()
    whoami = json.loads(kube("auth", "whoami", f"--token={token}", "-o", "json").stdout)
    assert whoami["status"]["userInfo"]["username"] == "system:serviceaccount:team:robot"
    assert kube("get", "pods", "-n", "team", f"--token={token}", "-o", "name").returncode == 0
    refused = kube("get", "secrets", "-n", "team", f"--token={token}", check=False)
    assert 'User "system:serviceaccount:team:robot" cannot list resource "secrets"' in refused.stderr, refused
    vault = kube("create", "token", "robot", "-n", "team", "--audience=vault").stdout.strip()
    assert "Unauthorized" in kube("get", "pods", "-n", "team", f"--token={vault}", check=False).stderr
    short = kube("create", "token", "robot", "-n", "team", "--duration=1m", check=False)
    assert "may not specify a duration less than 10 minutes" in short.stderr, short


def in_pod(kube: Kube, script: str, check: bool = True):
    return kube("exec", "-n", "team", "kubectl", "--", "sh", "-c", script, check=check, timeout=60)


def test_a_pod_without_a_binding_is_refused_until_one_grants_it(kube):
    start_kubectl_pod(kube, "team")
    # Streams subresources are authorized too: robot may get pods, not their logs nor exec into them.
    for command, verb, sub in ((["logs", "kubectl"], "get", "log"), (["exec", "kubectl", "--", "true"], "create", "exec")):
        refused = kube(command[0], "-n", "team", ROBOT, *command[1:], check=False)
        assert f'pods "kubectl" is forbidden: User "system:serviceaccount:team:robot" cannot {verb} resource ' \
            f'"pods/{sub}" in API group "" in the namespace "team"' in refused.stderr, refused.stderr
    refused = in_pod(kube, "/opt/kubectl get pods -n team", check=False)
    assert refused.returncode == 1
    assert ('Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:team:default" cannot '
            'list resource "pods" in API group "" in the namespace "team"') in refused.stderr, refused.stderr
    assert in_pod(kube, "/opt/kubectl auth can-i list pods", check=False).stdout.strip() == "no"
    whoami = in_pod(kube, "/opt/kubectl auth whoami").stdout
    assert any(line.split() == ["Username", "system:serviceaccount:team:default"] for line in whoami.splitlines()), \
        whoami
    kube("create", "rolebinding", "default-view", "--clusterrole=view", "--serviceaccount=team:default",
         "-n", "team")
    assert in_pod(kube, "/opt/kubectl get pods -n team -o name").stdout.split() == ["pod/kubectl"]
    assert in_pod(kube, "/opt/kubectl auth can-i list pods").stdout.strip() == "yes"
    # view grants no writes and no Secrets.
    refused = in_pod(kube, "/opt/kubectl delete configmap settings -n team", check=False)
    assert 'configmaps "settings" is forbidden: User "system:serviceaccount:team:default" cannot delete resource ' \
        '"configmaps" in API group "" in the namespace "team"' in refused.stderr, refused.stderr
    assert in_pod(kube, "/opt/kubectl get secrets -n team", check=False).returncode == 1


ROBOT_SECRET = """
apiVersion: v1
kind: Secret
metadata:
  name: robot-secret
  namespace: team
  annotations: {kubernetes.io/service-account.name: robot}
type: kubernetes.io/service-account-token
"""


def test_a_long_lived_token_secret_as_the_docs_make_one(kube):
    """The docs' "Manually create a long-lived API token for a ServiceAccount": the token
    controller fills the Secret; its token is robot's until the Secret is deleted."""
    kube("apply", "-f", "-", input=ROBOT_SECRET)
    data = wait_until(lambda: kube.obj("get", "secret", "robot-secret", "-n", "team").get("data", {}).get("token")
                      and kube.obj("get", "secret", "robot-secret", "-n", "team")["data"], "the Secret's token")
    assert base64.b64decode(data["namespace"]).decode() == "team"
    assert base64.b64decode(data["ca.crt"]).startswith(b"-----BEGIN CERTIFICATE-----")
    described = kube("describe", "secret", "robot-secret", "-n", "team").stdout
    assert re.search(r"Type:\s+kubernetes.io/service-account-token", described) and "token:" in described
    token = base64.b64decode(data["token"]).decode()
    assert kube("get", "pods", "-n", "team", f"--token={token}", "-o", "name").returncode == 0
    refused = kube("get", "secrets", "-n", "team", f"--token={token}", check=False)
    assert 'User "system:serviceaccount:team:robot" cannot list resource "secrets"' in refused.stderr, refused
    kube("delete", "secret", "robot-secret", "-n", "team")
    assert "Unauthorized" in kube("get", "pods", "-n", "team", f"--token={token}", check=False).stderr
    # One naming no account is removed by the controller; one without a name is refused.
    kube("apply", "-f", "-", input=ROBOT_SECRET.replace("robot-secret", "ghost-secret").replace(": robot}", ": ghost}"))
    wait_until(lambda: kube("get", "secret", "ghost-secret", "-n", "team", check=False).returncode != 0,
               "the ghost's Secret removed")
    unnamed = ROBOT_SECRET.replace("  annotations: {kubernetes.io/service-account.name: robot}\n", "")
    unnamed = kube("apply", "-f", "-", input=unnamed, check=False)
    assert unnamed.returncode == 1 and 'The Secret "robot-secret" is invalid: metadata.annotations' \
        '[kubernetes.io/service-account.name]: Required value' in unnamed.stderr, unnamed
