"""The controller's engine slots: how many containers are made at once, proxies first."""

import contextlib
import threading
import time

from emukube.controllers.engine_slots import EngineSlots


def _taken_within(ctx, seconds: float = 0.3) -> tuple[bool, threading.Event]:
    """Enter ctx in a thread: whether it got in within `seconds`, and the event that lets it out."""
    entered, leave = threading.Event(), threading.Event()

    def hold():
        with ctx:
            entered.set()
            leave.wait(5)

    threading.Thread(target=hold, daemon=True).start()
    return entered.wait(seconds), leave


def test_pods_leave_the_last_slot_to_the_data_plane():
    slots = EngineSlots(4, kept_for_data_plane=1)
    with contextlib.ExitStack() as stack:
        for _ in range(3):
            stack.enter_context(slots.pod())
        got, leave_pod = _taken_within(slots.pod())
        assert not got  # the fourth pod waits
        got, leave_proxy = _taken_within(slots.data_plane(), 5)
        assert got  # a proxy takes the kept slot
        leave_pod.set()
        leave_proxy.set()


def test_a_waiting_proxy_goes_before_a_waiting_pod():
    slots = EngineSlots(2, kept_for_data_plane=0)
    order: list[str] = []
    _, leave_first = _taken_within(slots.pod(), 5)
    _, leave_second = _taken_within(slots.data_plane(), 5)

    def take(kind: str):
        with getattr(slots, kind)():
            order.append(kind)

    pod = threading.Thread(target=take, args=("pod",))
    pod.start()
    time.sleep(0.1)  # the pod waits first
    proxy = threading.Thread(target=take, args=("data_plane",))
    proxy.start()
    deadline = time.monotonic() + 5
    while not slots.waiting_data_plane and time.monotonic() < deadline:
        time.sleep(0.01)
    assert slots.waiting_data_plane
    leave_first.set()  # one slot frees: the proxy's, though the pod waited longer
    proxy.join(5)
    pod.join(5)
    assert order == ["data_plane", "pod"]
    leave_second.set()


def test_never_more_than_size_at_once():
    slots = EngineSlots(3, kept_for_data_plane=1)
    inside, most = [0], [0]
    lock = threading.Lock()

    def work(kind: str):
        with getattr(slots, kind)():
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.02)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=work, args=("pod" if i % 3 else "data_plane",)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert 1 < most[0] <= 3 and inside[0] == 0
