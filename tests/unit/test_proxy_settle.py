"""runtime/proxies._settle: a reload counts as done only once HAProxy's master logged a load."""

from emukube.runtime import proxies


class StubProxy:
    """What _settle uses of a container: its log and kill."""

    def __init__(self, loads_after_kills: int | None):
        self.log = b"[NOTICE]   (1) : Loading success.\n"
        self.kills = 0
        self.loads_after_kills = loads_after_kills  # None: every signal is lost

    def logs(self) -> bytes:
        return self.log

    def kill(self, signal: str) -> None:
        self.kills += 1
        if self.loads_after_kills is not None and self.kills >= self.loads_after_kills:
            self.log += b"[NOTICE]   (1) : Loading success.\n"


def test_a_reload_that_loads_settles(monkeypatch):
    monkeypatch.setattr(proxies, "SETTLE_LIMIT", 10.0)  # returns as soon as the load shows
    proxy = StubProxy(loads_after_kills=2)  # the first signal was lost, the one sent again loads
    assert proxies._settle(proxy, "SIGUSR2", loads=1, resignal=0.1) is True
    assert proxy.kills == 2


def test_a_reload_that_never_loads_is_not_taken_as_applied(monkeypatch):
    monkeypatch.setattr(proxies, "SETTLE_LIMIT", 0.4)
    proxy = StubProxy(loads_after_kills=None)
    assert proxies._settle(proxy, "SIGUSR2", loads=1, resignal=0.1) is False
    assert proxy.kills >= 2  # signalled again meanwhile
