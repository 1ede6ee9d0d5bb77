"""pytest plugin (entry point `pytest11`, active wherever emukube is installed): real clusters
from your manifests for integration tests.

    import httpx, pytest

    pytestmark = pytest.mark.emukube("k8s/", images={"registry.example.com/web:1.4": "web:ci"})

    def test_home(emukube_cluster):
        assert httpx.get(emukube_cluster.url("svc/web") + "/healthz").status_code == 200

The marker (on a test, a class or a module: the closest one wins) takes manifest paths, relative
to the test file's directory, and any keyword of `emukube.Cluster.up` (images, timeout, address,
...) plus `scope`: "function", "class", "module" (the default) or "session". Tests asking for the
same paths, options and scope share one cluster. `emukube_kubeconfig` is the path of a kubeconfig
file for the cluster (for kubectl, helm or the kubernetes client). The fixture `emukube_images` (session scope,
{} by default) is merged under the marker's `images`: override it in a conftest.py to build
images first.

Every cluster gets a name no other process picks (prefix `pt`, or $EMUKUBE_TEST_PREFIX, then the
process id), so pytest-xdist workers never share one; their subnets and nodePorts are allocated
under a machine-wide lock. A cluster is removed when its scope ends, whether tests failed or
not, on Ctrl-C (and SIGTERM, which the plugin turns into Ctrl-C while it has clusters) and, as
a last resort, when pytest exits. `--emukube-keep` keeps them for a look afterwards. A failed
test's report shows its cluster as it was: pods, Warning events, and the last lines of every
container not ready or restarted.
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pytest

if TYPE_CHECKING:
    from types import FrameType

    from .cluster import Cluster

MARKER = "emukube"
SCOPES = ("function", "class", "module", "session")
PREFIX_ENV = "EMUKUBE_TEST_PREFIX"
# What the plugin decides itself; every other keyword of Cluster.up may be given to the marker.
_RESERVED = {"paths", "name", "keep", "wait"}


@dataclass(frozen=True)
class ClusterSpec:
    """One marker, resolved: what makes two tests share a cluster."""

    paths: tuple[str, ...]
    scope: str
    options: str  # the Cluster.up keywords as sorted JSON (hashable)

    def up_kwargs(self, images: dict[str, str]) -> dict:
        kwargs = json.loads(self.options)
        merged = {**images, **(kwargs.get("images") or {})}
        if merged:
            kwargs["images"] = merged
        return kwargs


def spec_of(args: tuple, kwargs: dict, base_dir: Path) -> ClusterSpec:
    """The marker's arguments checked (ValueError says what is wrong) and paths made absolute."""
    kwargs = dict(kwargs)
    scope = kwargs.pop("scope", "module")
    if scope not in SCOPES:
        raise ValueError(f"@pytest.mark.emukube: scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    from .cluster import Cluster

    allowed = set(inspect.signature(Cluster.up).parameters) - _RESERVED - {"cls"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise ValueError(f"@pytest.mark.emukube: unknown option(s) {', '.join(unknown)} "
                         f"(known: scope, {', '.join(sorted(allowed))})")
    if not args:
        raise ValueError("@pytest.mark.emukube needs at least one manifest file or directory")
    paths = []
    for arg in args:
        path = Path(arg) if Path(arg).is_absolute() else base_dir / arg
        if not path.exists():
            raise ValueError(f"@pytest.mark.emukube: no such file or directory: {path}")
        paths.append(str(path))
    return ClusterSpec(tuple(paths), scope, json.dumps(kwargs, sort_keys=True))


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


class Clusters:
    """The clusters this pytest process made, each removed when its scope ends."""

    def __init__(self, keep: bool):
        self.keep = keep
        self.open: dict[tuple, Cluster] = {}
        self.failed: dict[tuple, str] = {}  # a cluster that did not start is not tried again per test
        self._sigterm: Callable[[int, FrameType | None], Any] | int | None = None

    def get(self, request, spec: ClusterSpec, images: dict[str, str]) -> Cluster:
        owner = _scope_node(request, spec.scope)
        key = (spec, owner.nodeid)
        if key in self.failed:
            pytest.fail(f"emukube: the cluster of this {spec.scope} did not start: {self.failed[key]}", pytrace=False)
        if key not in self.open:
            from .cluster import Cluster, unique_name

            self._catch_sigterm()
            prefix = os.environ.get(PREFIX_ENV, "pt")
            try:
                # Cluster.up removes what it made when it fails or is interrupted.
                self.open[key] = Cluster.up(*spec.paths, name=unique_name(prefix), keep=self.keep,
                                            **spec.up_kwargs(images))
            except Exception as exc:
                self.failed[key] = str(exc)
                owner.addfinalizer(lambda: self.failed.pop(key, None))
                raise
            owner.addfinalizer(lambda: self.close(key))
        return self.open[key]

    def close(self, key: tuple) -> None:
        cluster = self.open.pop(key, None)
        if cluster is None:
            return
        if self.keep:
            print(f"\nemukube: kept cluster {cluster.name} (emukube down --cluster {cluster.name})")
        else:
            cluster.down()

    def close_all(self) -> None:
        for key in list(self.open):
            self.close(key)
        if self._sigterm is not None:
            signal.signal(signal.SIGTERM, self._sigterm)
            self._sigterm = None

    def _catch_sigterm(self) -> None:
        """A CI job's timeout (or xdist stopping a worker) sends SIGTERM, which would end the
        process without teardown; as a KeyboardInterrupt, pytest tears every fixture down."""
        if self._sigterm is not None or threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            self._sigterm = signal.signal(signal.SIGTERM, _raise_interrupt)


def _scope_node(request, scope: str):
    if scope == "session":
        return request.session
    if scope == "class":
        found = request.node.getparent(pytest.Class)
        if found is not None:
            return found
        scope = "module"
    if scope == "module":
        return request.node.getparent(pytest.Module) or request.node
    return request.node


_CLUSTERS = pytest.StashKey[Clusters]()


def pytest_addoption(parser) -> None:
    group = parser.getgroup("emukube")
    group.addoption("--emukube-keep", action="store_true", default=False,
                    help="keep the clusters of @pytest.mark.emukube after the tests (remove them with "
                         "`emukube down --cluster NAME`)")


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "emukube(*paths, scope='module', images=None, timeout=180, ...): run against an "
                   "emukube cluster made from these manifests (fixture emukube_cluster)")
    config.stash[_CLUSTERS] = Clusters(keep=config.getoption("emukube_keep", False))


def pytest_unconfigure(config) -> None:
    # Normally every cluster went with its scope; this catches what an interrupted teardown left.
    clusters = config.stash.get(_CLUSTERS, None)
    if clusters is not None:
        clusters.close_all()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that used a cluster gets that cluster's state in its report (its pods,
    Warning events, and the output of containers not ready or restarted: failure_report.py)."""
    outcome = yield
    report = outcome.get_result()
    cluster = (getattr(item, "funcargs", None) or {}).get("emukube_cluster")
    if report.when != "call" or not report.failed or cluster is None:
        return
    from .failure_report import report as cluster_report

    try:
        text = cluster_report(cluster.api())
    except Exception as exc:  # noqa: BLE001 - the report must not hide the failure it explains
        text = f"(the cluster could not be read: {exc})"
    report.sections.append((f"emukube cluster {cluster.name}", text))


@pytest.fixture(scope="session")
def emukube_images() -> dict[str, str]:
    """Image map applied to every cluster (the marker's `images` win). Override it in a
    conftest.py, e.g. to build the images the tests run."""
    return {}


@pytest.fixture
def emukube_kubeconfig(emukube_cluster, tmp_path) -> Path:
    """A kubeconfig file for the cluster alone (its context current): for `kubectl
    --kubeconfig PATH` and `helm --kubeconfig PATH`, or the kubernetes client's
    `config.load_kube_config(str(PATH))`. Yours ($KUBECONFIG, ~/.kube/config) is left alone."""
    import yaml

    path = tmp_path / "kubeconfig"
    path.touch(mode=0o600)  # it holds the cluster's token
    path.write_text(yaml.safe_dump(emukube_cluster.kubeconfig(), sort_keys=False))
    return path


@pytest.fixture
def emukube_cluster(request, emukube_images) -> Cluster:
    """The emukube.Cluster of the closest @pytest.mark.emukube(...), up and answering."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        pytest.fail("emukube_cluster needs @pytest.mark.emukube(\"PATH\", ...) on the test, its class or its "
                    "module", pytrace=False)
    try:
        spec = spec_of(marker.args, marker.kwargs, Path(str(request.node.path)).parent)
    except ValueError as exc:
        pytest.fail(str(exc), pytrace=False)
    return request.config.stash[_CLUSTERS].get(request, spec, emukube_images)
