"""Micro-batching joins concurrent requests and hands each its own rows back."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from profond.errors import ProfondError
from profond.inference.runtime import RuntimeOutput
from profond.serve.batching import MicroBatcher


class Recorder:
    """A fake model (doubles its input) that remembers batch sizes and its thread."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.threads: set[str] = set()

    def __call__(self, x: np.ndarray) -> RuntimeOutput:
        self.sizes.append(len(x))
        self.threads.add(threading.current_thread().name)
        threading.Event().wait(0.01)  # an inference that takes time, so requests pile up
        return RuntimeOutput(x * 2, x[:, :1])


async def _submit_many(batcher: MicroBatcher, count: int) -> list[RuntimeOutput]:
    await batcher.start()
    try:
        inputs = [np.full((1, 3), i, dtype=np.float32) for i in range(count)]
        return await asyncio.gather(*(batcher.submit(x) for x in inputs))
    finally:
        await batcher.stop()


def test_concurrent_requests_share_batches_and_get_their_rows() -> None:
    run = Recorder()
    results = asyncio.run(_submit_many(MicroBatcher(run, max_batch=16, max_wait_ms=5), 40))
    for i, result in enumerate(results):
        np.testing.assert_array_equal(result.output, np.full((1, 3), 2 * i))
        np.testing.assert_array_equal(result.features, np.full((1, 1), i))
    assert sum(run.sizes) == 40
    assert max(run.sizes) > 1 and max(run.sizes) <= 16
    assert len(run.sizes) < 40
    assert run.threads and all(name.startswith("profond-inference") for name in run.threads)


def test_disabled_batching_runs_each_request_alone() -> None:
    run = Recorder()
    results = asyncio.run(_submit_many(MicroBatcher(run, enabled=False), 10))
    assert run.sizes == [1] * 10
    assert [int(r.output[0, 0]) for r in results] == [2 * i for i in range(10)]


def test_a_request_larger_than_max_batch_runs_alone() -> None:
    run = Recorder()

    async def scenario() -> RuntimeOutput:
        batcher = MicroBatcher(run, max_batch=4)
        await batcher.start()
        try:
            return await batcher.submit(np.ones((10, 3), dtype=np.float32))
        finally:
            await batcher.stop()

    assert asyncio.run(scenario()).output.shape == (10, 3)
    assert run.sizes == [10]


def test_a_failing_model_fails_its_requests_not_the_batcher() -> None:
    calls = {"n": 0}

    def flaky(x: np.ndarray) -> RuntimeOutput:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return RuntimeOutput(x, None)

    async def scenario() -> None:
        batcher = MicroBatcher(flaky)
        await batcher.start()
        try:
            with pytest.raises(RuntimeError, match="boom"):
                await batcher.submit(np.ones((1, 2), dtype=np.float32))
            ok = await batcher.submit(np.ones((1, 2), dtype=np.float32))
            assert ok.output.shape == (1, 2)
        finally:
            await batcher.stop()

    asyncio.run(scenario())


def test_invalid_arguments_are_named() -> None:
    with pytest.raises(ProfondError, match="max_batch=0"):
        MicroBatcher(lambda x: RuntimeOutput(x, None), max_batch=0)
    with pytest.raises(ProfondError, match="max_wait_ms=-1"):
        MicroBatcher(lambda x: RuntimeOutput(x, None), max_wait_ms=-1)
