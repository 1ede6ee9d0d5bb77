"""storage.k8s.io/v1's CSI kinds (CSIDriver, CSINode, VolumeAttachment, CSIStorageCapacity,
VolumeAttributesClass): stored and validated only, in pkg/apis/storage/validation's words, with
SetDefaults_CSIDriver's defaults, the strategies' update rules and warnings, and kubectl's
columns (printers.go)."""

from __future__ import annotations

from test_apiserver_harness import run

from emukube.apiserver import tables
from emukube.k8s.resources import BY_KEY
from emukube.manifests.defaults import apply_defaults
from emukube.manifests.validate import validate_object
from emukube.plan.canonical_quantity import canonical

STORAGE = "/apis/storage.k8s.io/v1"
NOW = 1767225602.0  # 2 s after the objects' creationTimestamp
CREATED = "2026-01-01T00:00:00Z"


def obj(kind: str, name: str, **fields) -> dict:
    meta = {"name": name, "creationTimestamp": CREATED}
    if kind == "CSIStorageCapacity":
        meta["namespace"] = "default"
    return {"apiVersion": "storage.k8s.io/v1", "kind": kind, "metadata": meta, **fields}


def cells(key: str, item: dict) -> list:
    return tables.table_for(BY_KEY[key], [item], now=NOW)["rows"][0]["cells"]


def columns(key: str) -> list[tuple[str, str, str]]:
    return [(c["name"], c["type"], c["format"]) for c in tables.table_for(BY_KEY[key], [])["columnDefinitions"]]


def test_csi_driver_defaults_validation_and_columns():
    driver = obj("CSIDriver", "ebs.csi.aws.com", spec={})
    assert apply_defaults(driver)["spec"] == {
        "attachRequired": True, "podInfoOnMount": False, "storageCapacity": False,
        "fsGroupPolicy": "ReadWriteOnceWithFSType", "volumeLifecycleModes": ["Persistent"],
        "requiresRepublish": False, "seLinuxMount": False}
    assert validate_object(driver) == []
    bad = obj("CSIDriver", "d", spec={"fsGroupPolicy": "Some", "volumeLifecycleModes": ["Persistent", "Inline"],
                                      "tokenRequests": [{"audience": "a", "expirationSeconds": 60}, {"audience": "a"},
                                                        {"audience": "b", "expirationSeconds": 1 << 33}],
                                      "nodeAllocatableUpdatePeriodSeconds": 5})
    assert validate_object(bad) == [
        'spec.fsGroupPolicy: Unsupported value: "Some": supported values: "File", "None", "ReadWriteOnceWithFSType"',
        "spec.tokenRequests[0].expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes",
        'spec.tokenRequests[1].audience: Duplicate value: "a"',
        "spec.tokenRequests[2].expirationSeconds: Invalid value: 8589934592: may not specify a duration larger than "
        "2^32 seconds",
        'spec.volumeLifecycleModes: Unsupported value: "Inline": supported values: "Persistent", "Ephemeral"',
        "spec.nodeAllocatableUpdatePeriodSeconds: Invalid value: 5: must be greater than or equal to 10 seconds"]
    assert validate_object(obj("CSIDriver", "d", spec={"serviceAccountTokenInSecrets": True})) == [
        "spec.serviceAccountTokenInSecrets: Invalid value: true: serviceAccountTokenInSecrets is set but no "
        "tokenRequests are specified"]
    assert [c[0] for c in columns("csidrivers.storage.k8s.io")] == [
        "Name", "AttachRequired", "PodInfoOnMount", "StorageCapacity", "TokenRequests", "RequiresRepublish",
        "Modes", "Age"]
    stored = apply_defaults(obj("CSIDriver", "d", spec={"tokenRequests": [{"audience": "vault"}, {"audience": "x"}],
                                                        "volumeLifecycleModes": ["Persistent", "Ephemeral"]}))
    assert cells("csidrivers.storage.k8s.io", stored) == ["d", True, False, False, "vault,x", False,
                                                          "Persistent,Ephemeral", "2s"]
    assert cells("csidrivers.storage.k8s.io", obj("CSIDriver", "e", spec={"attachRequired": False}))[1:7] == [
        False, False, False, "<unset>", False, "<none>"]


def test_csi_node_validation_and_columns():
    node = obj("CSINode", "node-1", spec={"drivers": [
        {"name": "ebs.csi.aws.com", "nodeID": "i-123", "topologyKeys": ["topology.ebs.csi.aws.com/zone"],
         "allocatable": {"count": 25}}]})
    assert validate_object(node) == []
    assert validate_object(obj("CSINode", "n", spec={"drivers": [
        {"name": "", "nodeID": "", "allocatable": {"count": -1}},
        {"name": "Bad_Driver", "nodeID": "x" * 257, "topologyKeys": ["", "a/b/c", "zone", "zone"]},
        {"name": "Bad_Driver", "nodeID": "y"}]})) == [
        "spec.drivers[0].name: Required value",
        "spec.drivers[0].nodeID: Required value",
        "spec.drivers[0].allocatable.count: Invalid value: -1: must be greater than or equal to 0",
        "spec.drivers[1].name: Invalid value: \"Bad_Driver\": a lowercase RFC 1123 subdomain must consist of lower "
        "case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
        "'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        # (a value this long is cut short in emukube's messages)
        f'spec.drivers[1].nodeID: Invalid value: "{"x" * 256}...(truncated)": must be 256 characters or less',
        "spec.drivers[1]: Required value",
        "spec.drivers[1]: Invalid value: \"\": name part must be non-empty",
        "spec.drivers[1]: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', "
        "and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
        "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        "spec.drivers[1]: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', "
        "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
        "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS "
        "subdomain prefix and '/' (e.g. 'example.com/MyName')",
        'spec.drivers[1]: Duplicate value: "zone"',
        "spec.drivers[2].name: Invalid value: \"Bad_Driver\": a lowercase RFC 1123 subdomain must consist of lower "
        "case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
        "'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        'spec.drivers[2].name: Duplicate value: "Bad_Driver"']
    assert columns("csinodes.storage.k8s.io") == [("Name", "string", "name"), ("Drivers", "integer", ""),
                                                  ("Age", "string", "")]
    assert cells("csinodes.storage.k8s.io", node) == ["node-1", 1, "2s"]


def test_volume_attachment_validation_and_columns():
    attachment = obj("VolumeAttachment", "csi-123", spec={
        "attacher": "ebs.csi.aws.com", "nodeName": "node-1", "source": {"persistentVolumeName": "pv-1"}},
        status={"attached": True})
    assert validate_object(attachment) == []
    assert validate_object(obj("VolumeAttachment", "v", spec={"source": {}, "nodeName": "Node_1"})) == [
        "spec.attacher: Required value",
        "spec.source: Required value: must specify exactly one of inlineVolumeSpec and persistentVolumeName",
        "spec.nodeName: Invalid value: \"Node_1\": a lowercase RFC 1123 subdomain must consist of lower case "
        "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
        "'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        "spec.attacher: Required value"]  # twice, as ValidateVolumeAttachmentV1 checks it again
    both = obj("VolumeAttachment", "v", spec={"attacher": "d", "nodeName": "n", "source": {
        "persistentVolumeName": "pv", "inlineVolumeSpec": {}}})
    assert validate_object(both) == [
        "spec.source: Forbidden: must specify exactly one of inlineVolumeSpec and persistentVolumeName"]
    inline = obj("VolumeAttachment", "v", spec={"attacher": "d", "nodeName": "n", "source": {"inlineVolumeSpec": {
        "capacity": {"storage": "1Gi"}, "persistentVolumeReclaimPolicy": "Delete"}}})
    assert validate_object(inline) == [
        "spec.source.inlineVolumeSpec.capacity: Forbidden: may not be specified in the context of inline volumes",
        "spec.source.inlineVolumeSpec.csi: Required value: has to be specified in the context of inline volumes",
        "spec.source.inlineVolumeSpec.accessModes: Required value",
        "spec.source.inlineVolumeSpec.persistentVolumeReclaimPolicy: Forbidden: may only be Retain in the context "
        "of inline volumes"]
    assert columns("volumeattachments.storage.k8s.io") == [
        ("Name", "string", "name"), ("Attacher", "string", "name"), ("PV", "string", ""), ("Node", "string", ""),
        ("Attached", "boolean", ""), ("Age", "string", "")]
    assert cells("volumeattachments.storage.k8s.io", attachment) == [
        "csi-123", "ebs.csi.aws.com", "pv-1", "node-1", True, "2s"]


def test_csi_storage_capacity_validation_and_columns():
    capacity = obj("CSIStorageCapacity", "cap-1", storageClassName="fast", capacity="1024Mi",
                   nodeTopology={"matchLabels": {"topology.kubernetes.io/zone": "a"}})
    assert validate_object(capacity) == []
    assert validate_object(obj("CSIStorageCapacity", "c", storageClassName="Fast!", capacity="-1Gi",
                               nodeTopology={"matchExpressions": [{"key": "zone", "operator": "In"}]})) == [
        "nodeTopology.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or "
        "'NotIn'",
        "storageClassName: Invalid value: \"Fast!\": a lowercase RFC 1123 subdomain must consist of lower case "
        "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
        "'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        'capacity: Invalid value: "-1Gi": must be greater than or equal to 0']
    assert [c[0] for c in columns("csistoragecapacities.storage.k8s.io")] == ["Name", "StorageClassName", "Capacity"]
    assert cells("csistoragecapacities.storage.k8s.io", capacity) == ["cap-1", "fast", "1Gi"]  # Quantity.String()
    assert cells("csistoragecapacities.storage.k8s.io", obj("CSIStorageCapacity", "c"))[2] == "<unset>"


def test_quantities_print_canonically():
    assert [canonical(q) for q in ("1024Mi", "0.5Gi", "1500m", "0.5", "2000", "1e3", "1Ki", "0.5Ki", "1.5Gi")] == [
        "1Gi", "512Mi", "1500m", "500m", "2k", "1e3", "1Ki", "512", "1536Mi"]


def test_volume_attributes_class_validation_and_columns():
    vac = obj("VolumeAttributesClass", "gold", driverName="ebs.csi.aws.com", parameters={"iops": "4000"})
    assert validate_object(vac) == []
    assert validate_object(obj("VolumeAttributesClass", "v", driverName="Not Valid")) == [
        "driverName: Invalid value: \"not valid\": name part must consist of alphanumeric characters, '-', '_' or "
        "'.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
        "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        "parameters: Required value: must contain at least one key/value pair"]
    assert validate_object(obj("VolumeAttributesClass", "v", parameters={"a": "b"})) == [
        "driverName: Required value"]
    assert cells("volumeattributesclasses.storage.k8s.io", vac) == ["gold", "ebs.csi.aws.com", "2s"]


def test_served_with_their_update_rules_and_warnings(tmp_path):
    async def body(api):
        resources = {r["name"]: r for r in (await api.ok("GET", STORAGE))["resources"]}
        assert resources["volumeattributesclasses"]["shortNames"] == ["vac"]
        assert resources["volumeattachments/status"]["verbs"] == ["get", "patch", "update"]
        assert resources["csistoragecapacities"]["namespaced"] is True
        assert all(not resources[n]["namespaced"] for n in ("csidrivers", "csinodes", "volumeattachments"))

        status, made, resp = await api.req("POST", f"{STORAGE}/csidrivers", obj("CSIDriver", "d", spec={
            "tokenRequests": [{"audience": "vault"}]}))
        assert status == 201 and made["spec"]["attachRequired"] is True
        assert "spec.serviceAccountTokenInSecrets is unset; if supported by this CSI driver, set to true to " \
               "prevent possible logging of tokens in volume attributes" in resp.headers.get("Warning", "")
        made["spec"]["attachRequired"] = False
        status, answer, _ = await api.req("PUT", f"{STORAGE}/csidrivers/d", made)
        assert status == 422 and answer["message"] == \
            'CSIDriver.storage.k8s.io "d" is invalid: spec.attachedRequired: Invalid value: false: field is immutable'

        attachment = obj("VolumeAttachment", "va", spec={"attacher": "d", "nodeName": "node-1",
                                                          "source": {"persistentVolumeName": "pv-1"}},
                         status={"attached": True})
        stored = await api.ok("POST", f"{STORAGE}/volumeattachments", attachment)
        assert stored["status"] == {}  # create cannot set it (PrepareForCreate)
        stored["spec"]["nodeName"] = "node-2"
        status, answer, _ = await api.req("PUT", f"{STORAGE}/volumeattachments/va", stored)
        assert status == 422 and answer["message"] == (
            'VolumeAttachment.storage.k8s.io "va" is invalid: spec: Invalid value: {"Attacher":"d","Source":'
            '{"PersistentVolumeName":"pv-1","InlineVolumeSpec":null},"NodeName":"node-2"}: field is immutable')

        capacity = obj("CSIStorageCapacity", "cap", storageClassName="fast", capacity="10Gi",
                       nodeTopology={"matchLabels": {"failure-domain.beta.kubernetes.io/zone": "a"}})
        status, stored, resp = await api.req("POST", "/apis/storage.k8s.io/v1/namespaces/default/csistoragecapacities",
                                             capacity)
        assert status == 201 and "nodeTopology.matchLabels.failure-domain.beta.kubernetes.io/zone: deprecated " \
            "since v1.17; use \\\"topology.kubernetes.io/zone\\\" instead" in resp.headers.get("Warning", "")
        stored["storageClassName"] = "slow"
        stored["nodeTopology"] = {"matchLabels": {"zone": "b"}}
        status, answer, _ = await api.req(
            "PUT", "/apis/storage.k8s.io/v1/namespaces/default/csistoragecapacities/cap", stored)
        assert status == 422 and answer["message"] == (
            'CSIStorageCapacity.storage.k8s.io "cap" is invalid: [nodeTopology: Invalid value: '
            '{"matchLabels":{"zone":"b"}}: field is immutable, storageClassName: Invalid value: "slow": field is '
            "immutable]")

        vac = await api.ok("POST", f"{STORAGE}/volumeattributesclasses", obj(
            "VolumeAttributesClass", "gold", driverName="d", parameters={"iops": "1"}))
        vac["driverName"], vac["parameters"] = "e", {"iops": "2"}
        status, answer, _ = await api.req("PUT", f"{STORAGE}/volumeattributesclasses/gold", vac)
        assert status == 422 and answer["message"] == (
            'VolumeAttributesClass.storage.k8s.io "gold" is invalid: [driverName: Forbidden: updates to driverName '
            "are forbidden., parameters: Forbidden: updates to parameters are forbidden.]")

        node = await api.ok("POST", f"{STORAGE}/csinodes", obj("CSINode", "node-1", spec={"drivers": [
            {"name": "d", "nodeID": "i-1", "allocatable": {"count": 5}}]}))
        node["spec"]["drivers"][0]["allocatable"]["count"] = 7  # mutable in 1.35
        node = await api.ok("PUT", f"{STORAGE}/csinodes/node-1", node)
        node["spec"]["drivers"][0]["nodeID"] = "i-2"
        status, answer, _ = await api.req("PUT", f"{STORAGE}/csinodes/node-1", node)
        assert status == 422 and answer["message"] == (
            'CSINode.storage.k8s.io "node-1" is invalid: spec.drivers: Invalid value: {"Name":"d","NodeID":"i-2",'
            '"TopologyKeys":null,"Allocatable":null}: field is immutable')
    run(tmp_path, body)
