"""The API server gives freed memory back after requests, and only then."""

import asyncio

from emukube.apiserver.memory_trim import MemoryTrim


def test_it_trims_after_requests_and_not_while_none_come():
    trim = MemoryTrim(every=0.02)

    async def handler(request):
        return "answer"

    async def scenario():
        runner = asyncio.ensure_future(trim.run())
        await asyncio.sleep(0.1)
        idle = trim.trims  # no request yet: nothing freed to give back
        assert await trim.middleware(object(), handler) == "answer"
        assert trim.pending
        for _ in range(200):  # bounded: 2 s at most on a loaded machine
            await asyncio.sleep(0.01)
            if trim.trims:
                break
        await asyncio.sleep(0.1)  # and once only: no request came after it
        runner.cancel()
        return idle

    assert asyncio.run(scenario()) == 0
    assert trim.trims == 1 and not trim.pending
