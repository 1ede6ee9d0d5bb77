"""A tick that sees what the last one saw, with the API unchanged since, is not published again
(controllers/publisher.py): an idle cluster's controller spent most of its CPU recomputing
what it had written. Time alone still republishes, within REPUBLISH_SECONDS."""

from emukube.controllers import publisher as pub
from emukube.controllers.publisher import Observed, Publisher


class Informer:
    """The informer's surface publish reads: its objects (counted) and its version."""

    def __init__(self):
        self.version, self.reads = 7, 0

    def objects(self):
        self.reads += 1
        return [], self.version, {}

    def get(self, *_):
        return None

    def deleted_uid(self, *_):
        return None


def service(port: int) -> dict:
    return {"metadata": {"name": "web", "namespace": "default"}, "spec": {"ports": [{"port": port}]}}


def test_the_same_view_of_the_same_api_is_published_once(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(pub.time, "monotonic", lambda: clock[0])
    informer = Informer()
    p = Publisher(api=None, informer=informer, out=lambda line: None)

    def published(observed: Observed) -> bool:
        before = informer.reads
        assert p.publish(observed)
        return informer.reads > before

    assert published(Observed(pods=[], services=[service(80)], workloads=[]))
    assert not published(Observed(pods=[], services=[service(80)], workloads=[]))  # equal, not the same object
    assert published(Observed(pods=[], services=[service(81)], workloads=[]))  # the view changed
    assert not published(Observed(pods=[], services=[service(81)], workloads=[]))
    informer.version += 1  # a watch event: the API changed
    assert published(Observed(pods=[], services=[service(81)], workloads=[]))
    clock[0] += 0.5
    assert not published(Observed(pods=[], services=[service(81)], workloads=[]))
    clock[0] += pub.REPUBLISH_SECONDS  # time alone: availability, deadlines, Leases
    assert published(Observed(pods=[], services=[service(81)], workloads=[]))


def test_a_publishing_with_a_refused_write_is_made_again():
    informer = Informer()
    p = Publisher(api=None, informer=informer, out=lambda line: None)
    refused = [True]

    def quotas():  # as a write refused with a conflict leaves it
        p.behind = refused[0]
    p._quotas = quotas
    observed = Observed(pods=[], services=[service(80)], workloads=[])
    assert not p.publish(observed)  # the tick is told: not converged
    refused[0] = False
    reads = informer.reads
    assert p.publish(observed)
    assert informer.reads > reads  # made again, though nothing it sees changed
    reads = informer.reads
    assert p.publish(observed) and informer.reads == reads
