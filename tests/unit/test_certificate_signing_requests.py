"""CertificateSigningRequests (certificates.k8s.io/v1) as stored objects: kube-apiserver's
validation of a new request and of updates through /status and /approval (worded as
pkg/apis/certificates/validation words them), its strategies' preparation, and kubectl's columns."""

from __future__ import annotations

import base64
import calendar
import time

from test_apiserver_harness import run

from emukube.apiserver import discovery, tables
from emukube.k8s.resources import BY_KEY
from emukube.lifecycle.connection import comparable
from emukube.manifests import pem
from emukube.manifests.csr_strategy import prepare_for_update, requestor_fields
from emukube.manifests.load import Doc
from emukube.manifests.validate import split_supported, validate, validate_object
from emukube.manifests.validate_certificates import validate_csr_update

GROUP = "certificates.k8s.io"
KEY = f"certificatesigningrequests.{GROUP}"
# Validation does not parse the DER (no X.509 library in the API server): any bytes will do.
REQUEST = b"-----BEGIN CERTIFICATE REQUEST-----\nMIIBfake\n-----END CERTIFICATE REQUEST-----\n"
CERT = b"-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n"
NOW = "2025-06-01T12:00:00Z"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def csr(name: str = "alice", **spec) -> dict:
    """A valid request; `spec` replaces or adds to its fields (None drops one)."""
    fields = {"request": b64(REQUEST), "signerName": "kubernetes.io/kube-apiserver-client",
              "usages": ["client auth"], **spec}
    return {"apiVersion": f"{GROUP}/v1", "kind": "CertificateSigningRequest", "metadata": {"name": name},
            "spec": {k: v for k, v in fields.items() if v is not None}}


def approved(obj: dict, *conditions: dict, certificate: bytes = b"") -> dict:
    status: dict = {"conditions": list(conditions)} if conditions else {}
    if certificate:
        status["certificate"] = b64(certificate)
    return {**obj, "status": status}


APPROVED = {"type": "Approved", "status": "True", "reason": "AdminApproved"}
DENIED = {"type": "Denied", "status": "True"}
FAILED = {"type": "Failed", "status": "True"}


def test_a_request_with_every_field_is_valid_and_its_name_may_be_any_path_segment():
    assert validate_object(csr(expirationSeconds=600, usages=["digital signature", "key encipherment",
                                                               "client auth"])) == []
    assert validate_object(csr("system:node:worker-1", signerName="example.com/my.signer")) == []
    assert validate_object(csr("a/b")) == ["metadata.name: Invalid value: \"a/b\": may not contain '/'"]


def test_every_spec_problem_at_once_in_the_api_servers_order():
    errors = validate_object(csr(request=b64(CERT), usages=["client auth", "sign", "client auth"],
                                 signerName=None, expirationSeconds=599))
    assert errors == [
        f'spec.request: Invalid value: "{b64(CERT)}": PEM block type must be CERTIFICATE REQUEST',
        'spec.usages[1]: Unsupported value: "sign": supported values: "any", "cert sign", "client auth", '
        '"code signing", "content commitment", "crl sign", "data encipherment", "decipher only", "digital '
        'signature", "email protection", "encipher only", "ipsec end system", "ipsec tunnel", "ipsec user", "key '
        'agreement", "key encipherment", "microsoft sgc", "netscape sgc", "ocsp signing", "s/mime", "server auth", '
        '"signing", "timestamping"',
        'spec.usages[2]: Duplicate value: "client auth"',
        "spec.signerName: Required value",
        "spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)",
    ]


def test_the_request_must_be_a_pem_certificate_request_shown_as_its_base64():
    message = "PEM block type must be CERTIFICATE REQUEST"
    assert validate_object(csr(request=None, usages=[])) == [f"spec.request: Invalid value: null: {message}",
                                                            "spec.usages: Required value"]
    assert validate_object(csr(request="")) == [f'spec.request: Invalid value: "": {message}']
    assert validate_object(csr(request="not base64!")) == [
        'spec.request: Invalid value: "not base64!": illegal base64 data at input byte 3']
    long = b64(b"x" * 300)  # shown cut short, as every long value is
    assert validate_object(csr(request=long)) == [
        f'spec.request: Invalid value: "{long[:256]}...(truncated)": {message}']
    # Text before the block is allowed; a block without its END line is not one.
    assert validate_object(csr(request=b64(b"Subject: me\n" + REQUEST))) == []
    broken = b64(REQUEST.replace(b"-----END CERTIFICATE REQUEST-----", b"-----END CERTIFICATE-----"))
    assert validate_object(csr(request=broken)) == [f'spec.request: Invalid value: "{broken}": {message}']


def test_pem_decode_reads_blocks_as_go_does():
    block, rest = pem.decode(b"junk\n" + CERT + b"tail")
    assert block == pem.Block("CERTIFICATE", False, base64.b64decode("MIIBcert")) and rest == b"tail"
    headed, _ = pem.decode(b"-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\n\nQUJD\n-----END X-----")
    assert headed == pem.Block("X", True, b"ABC")
    assert pem.decode(b"-----BEGIN X-----\n-----END X-----\n")[0] == pem.Block("X", False, b"")
    # Bad base64 or a trailer after the END line: skipped, for the next block.
    skipped, _ = pem.decode(b"-----BEGIN X-----\n!!\n-----END X-----\n" + CERT)
    assert skipped is not None and skipped.type == "CERTIFICATE"
    assert pem.decode(b"-----BEGIN X-----\nQUJD\n-----END X----- more\n") == (
        None, b"-----BEGIN X-----\nQUJD\n-----END X----- more\n")


def test_the_signer_name_is_a_domain_and_a_path():
    form = "must be a fully qualified domain and path of the form 'example.com/signer-name'"
    assert validate_object(csr(signerName="kubernetes.io")) == [
        f'spec.signerName: Invalid value: "kubernetes.io": {form}']
    assert validate_object(csr(signerName="a/b/c")) == [f'spec.signerName: Invalid value: "a/b/c": {form}']
    assert validate_object(csr(signerName="kubernetes.io/legacy-unknown")) == [
        'spec.signerName: Invalid value: "kubernetes.io/legacy-unknown": the legacy signerName is not allowed via '
        "this API version"]
    assert validate_object(csr(signerName="Example.com/x")) == [
        'spec.signerName: Invalid value: "Example.com": validating label "Example": a lowercase RFC 1123 label must '
        "consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric "
        "character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"]
    assert validate_object(csr(signerName="localhost/x")) == [
        'spec.signerName: Invalid value: "localhost": should be a domain with at least two segments separated by '
        "dots"]
    errors = validate_object(csr(signerName="example.com/ns.Bad_"))
    assert len(errors) == 1 and errors[0].startswith(
        'spec.signerName: Invalid value: "ns.Bad_": validating label "Bad_": a lowercase RFC 1123 subdomain')
    long = "example.com/" + ".".join(["a" * 60] * 10)  # every label fine, the whole too long
    assert validate_object(csr(signerName=long)) == ["spec.signerName: Too long: may not be more than 571 bytes"]


def test_the_requester_is_the_api_servers_to_write():
    spec = csr(username="root", groups=["system:masters"], uid="0", extra={"x": ["y"]})["spec"]
    user = {"username": "alice", "uid": "", "groups": ["dev", "system:authenticated"], "extra": {}}
    recorded = requestor_fields(spec, user)
    assert recorded == {"request": spec["request"], "signerName": spec["signerName"], "usages": ["client auth"],
                        "username": "alice", "groups": ["dev", "system:authenticated"]}
    assert spec["username"] == "root"  # the argument is left as it was
    assert "username" not in requestor_fields(spec, {})


def test_an_update_keeps_the_spec_and_each_endpoint_its_part_of_the_status():
    old = approved(csr(username="alice"), {**APPROVED, "lastTransitionTime": "2025-01-01T00:00:00Z"})
    asked = approved(csr(usages=["server auth"]), DENIED, certificate=CERT)
    plain = prepare_for_update(asked, old, "", NOW)
    assert plain["spec"] == old["spec"] and plain["status"] == old["status"]
    status = prepare_for_update(approved(asked, {**APPROVED, "reason": "Changed"}, certificate=CERT), old,
                                "status", NOW)
    assert status["spec"] == old["spec"] and status["status"]["certificate"] == b64(CERT)
    assert status["status"]["conditions"] == [{**APPROVED, "lastTransitionTime": "2025-01-01T00:00:00Z",
                                               "lastUpdateTime": NOW}]
    approval = prepare_for_update(approved(csr(), APPROVED, certificate=CERT), approved(csr()), "approval", NOW)
    assert approval["status"] == {"conditions": [{**APPROVED, "lastUpdateTime": NOW, "lastTransitionTime": NOW}]}


def test_approval_and_status_updates_are_validated_as_the_api_server_does():
    pending = approved(csr())
    assert validate_csr_update(approved(csr(), APPROVED), pending, "approval") == []
    assert validate_csr_update(approved(csr(), APPROVED), pending, "status") == [
        'status.conditions: Forbidden: updates may not add a condition of type "Approved"']
    assert validate_csr_update(approved(csr(), APPROVED, DENIED, {"type": "Approved", "status": "False"},
                                        {"type": "Ready"}), pending, "approval") == [
        'status.conditions[1].type: Invalid value: "Denied": Approved and Denied conditions are mutually exclusive',
        'status.conditions[2].status: Unsupported value: "False": supported values: "True"',
        'status.conditions[2].type: Invalid value: "Approved": Approved and Denied conditions are mutually '
        "exclusive",
        'status.conditions[2].type: Duplicate value: "Approved"',
        "status.conditions[3].status: Required value",
    ]
    was_approved = approved(csr(), APPROVED)
    assert validate_csr_update(approved(csr(), FAILED), was_approved, "approval") == [
        'status.conditions: Forbidden: updates may not remove a condition of type "Approved"']
    assert validate_csr_update(approved(csr(), APPROVED, certificate=CERT), was_approved, "status") == []
    assert validate_csr_update(approved(csr(), APPROVED, certificate=CERT), was_approved, "approval") == [
        "status.certificate: Forbidden: updates may not set certificate content"]
    issued = approved(csr(), APPROVED, certificate=CERT)
    other = CERT.replace(b"MIIBcert", b"MIIBcer2")
    assert validate_csr_update(approved(csr(), APPROVED, certificate=other), issued, "status") == [
        "status.certificate: Forbidden: updates may not modify existing certificate content"]


def test_the_certificate_is_pem_certificates_and_never_shown():
    was_approved = approved(csr(), APPROVED)
    shown = 'status.certificate: Invalid value: "<certificate data>"'
    cases = {REQUEST: f'{shown}: only CERTIFICATE PEM blocks are allowed, found "CERTIFICATE REQUEST"',
             b"just text": f"{shown}: must contain at least one CERTIFICATE PEM block",
             b"-----BEGIN CERTIFICATE-----\nA: b\n\nQUJD\n-----END CERTIFICATE-----\n":
                 f"{shown}: no PEM block headers are permitted"}
    for content, message in cases.items():
        assert validate_csr_update(approved(csr(), APPROVED, certificate=content), was_approved, "status") == [
            message]
    chain = b"issued:\n" + CERT + CERT.replace(b"MIIBcert", b"MIIBcaca")
    assert validate_csr_update(approved(csr(), APPROVED, certificate=chain), was_approved, "status") == []


def test_kubectls_columns_say_who_asked_for_how_long_and_what_became_of_it():
    now = calendar.timegm((2025, 6, 1, 12, 0, 0, 0, 0, 0))
    made = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 90))

    def row(obj: dict) -> dict:
        return {**obj, "metadata": {**obj["metadata"], "creationTimestamp": made}}

    objects = [row(csr(username="alice", expirationSeconds=86400)), row(approved(csr("b"), APPROVED)),
               row(approved(csr("c"), APPROVED, FAILED)), row(approved(csr("d"), DENIED, APPROVED)),
               row(approved(csr("e", signerName=None), APPROVED, certificate=CERT))]
    table = tables.table_for(BY_KEY[KEY], objects, now=now)
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name", "Age", "SignerName", "Requestor", "RequestedDuration", "Condition"]
    assert table["columnDefinitions"][5]["description"] == \
        'conditions applied to the request. Known conditions are "Approved", "Denied", and "Failed".'
    signer = "kubernetes.io/kube-apiserver-client"
    assert [r["cells"] for r in table["rows"]] == [
        ["alice", "90s", signer, "alice", "24h", "Pending"],
        ["b", "90s", signer, "", "<none>", "Approved"],
        ["c", "90s", signer, "", "<none>", "Approved,Failed"],
        ["d", "90s", signer, "", "<none>", "Denied"],
        ["e", "90s", "<none>", "", "<none>", "Approved,Issued"],
    ]


def test_manifests_requests_are_read_and_the_groups_other_kinds_skipped():
    docs = [Doc("m.yaml", i, obj) for i, obj in enumerate([
        csr(), {"apiVersion": f"{GROUP}/v1beta1", "kind": "ClusterTrustBundle", "metadata": {"name": "b"}},
        {"apiVersion": f"{GROUP}/v1", "kind": "CertificateSigningReq", "metadata": {"name": "typo"}},
        {**csr("old"), "apiVersion": f"{GROUP}/v1beta1"},
    ])]
    kept, warnings = split_supported(docs)
    assert [d.index for d in kept] == [0, 2, 3]
    assert warnings == ['m.yaml (document 2): skipping ClusterTrustBundle "b": emukube does not emulate this kind']
    assert [p.message for p in validate(kept)] == [
        'no matches for kind "CertificateSigningReq" in version "certificates.k8s.io/v1" (did you mean '
        "CertificateSigningRequest, certificates.k8s.io/v1?)",
        'no matches for kind "CertificateSigningRequest" in version "certificates.k8s.io/v1beta1" (emukube reads '
        "CertificateSigningRequest as certificates.k8s.io/v1)",
    ]


def test_up_finds_a_stored_request_unchanged_though_the_api_server_recorded_who_asked():
    stored = approved(csr(username="alice", groups=["system:masters"]), APPROVED)
    stored["metadata"] = {"name": "alice", "uid": "u1", "resourceVersion": "7", "creationTimestamp": NOW}
    assert comparable(stored) == comparable(csr())
    assert comparable(stored) != comparable(csr(usages=["server auth"]))


def test_discovery_lists_the_approval_and_status_subresources():
    names = {r["name"]: r for r in discovery.resource_list(GROUP, "v1")["resources"]}
    assert set(names) == {"certificatesigningrequests", "certificatesigningrequests/approval",
                          "certificatesigningrequests/status"}
    assert names["certificatesigningrequests"]["shortNames"] == ["csr"]
    assert not names["certificatesigningrequests"]["namespaced"]
    assert names["certificatesigningrequests/approval"]["kind"] == "CertificateSigningRequest"


def test_served_cluster_wide_refused_as_the_api_server_words_it_and_selected_by_signer(tmp_path):
    path = f"/apis/{GROUP}/v1/certificatesigningrequests"

    async def body(api):
        status, answer, _ = await api.req("POST", path, csr(usages=[], signerName="nodomain"))
        assert status == 422 and answer["message"] == (
            f'CertificateSigningRequest.{GROUP} "alice" is invalid: [spec.usages: Required value, spec.signerName: '
            "Invalid value: \"nodomain\": must be a fully qualified domain and path of the form "
            "'example.com/signer-name']")
        made = await api.ok("POST", path, approved(csr(), APPROVED))
        assert made["status"] == {} and "namespace" not in made["metadata"]  # no pre-approved requests
        await api.ok("POST", path, csr("other", signerName="example.com/other"))
        chosen = await api.ok("GET", path + "?fieldSelector=spec.signerName%3Dexample.com%2Fother")
        assert [o["metadata"]["name"] for o in chosen["items"]] == ["other"]
    run(tmp_path, body)
