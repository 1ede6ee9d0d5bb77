"""Running a piece of work in several threads at once, for tests of concurrent writers."""

from __future__ import annotations

import threading
from typing import Callable


def at_once(work: Callable[[int], None], count: int) -> list[BaseException]:
    """work(0) .. work(count - 1), each in a thread of its own, all joined; what they raised.
    (An assert in a thread would be lost: the caller asserts on the list.)"""
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:  # noqa: BLE001 - collected for the caller's assertion
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors
