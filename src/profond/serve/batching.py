"""Adaptive micro-batching: concurrent requests share one inference call.

Every inference runs in one dedicated worker thread, so the event loop never waits on the model
and the model never runs twice at once. A request that finds the model idle runs at once, alone.
Requests that arrive while the model is busy go into a queue; when it frees up, a collector task
takes as many queued rows as fit in ``max_batch``, runs them as one batch, and hands each
request its slice of the result. While a batch runs, new requests pile up and form the next one,
so batches grow with the load by themselves.

The wait is adaptive: while batches stay under half of ``max_batch`` (light or moderate load),
the next batch starts at once with whatever is queued, so no request pays for waiting; once a
batch reaches half of ``max_batch`` (heavy load), the collector waits up to ``max_wait_ms`` for
more requests to fill the next one, trading a little latency for fewer, fuller calls.
With micro-batching disabled each request runs alone, in the same worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from profond.errors import ProfondError
from profond.inference.runtime import RuntimeOutput

logger = logging.getLogger(__name__)

# Called in the worker thread after each inference: (inputs, outputs, seconds).
BatchHook = Callable[[np.ndarray, RuntimeOutput, float], None]


@dataclass
class _Request:
    x: np.ndarray  # (n, *input_shape)
    future: asyncio.Future[RuntimeOutput]


class MicroBatcher:
    """Runs ``run`` on batches in a worker thread, joining concurrent requests when enabled.

    Args:
        run: the inference function, ``run(x) -> RuntimeOutput``.
        max_batch: most rows per inference call.
        max_wait_ms: longest the collector waits for more requests on a busy server.
        enabled: False runs each request alone.
        on_batch: called after each inference (metrics, drift).
        prepare_thread: called once in the worker thread before its first inference.
    """

    def __init__(
        self,
        run: Callable[[np.ndarray], RuntimeOutput],
        max_batch: int = 64,
        max_wait_ms: float = 2.0,
        enabled: bool = True,
        on_batch: BatchHook | None = None,
        prepare_thread: Callable[[], None] | None = None,
    ) -> None:
        if max_batch <= 0:
            raise ProfondError(f"max_batch must be positive, got max_batch={max_batch}")
        if max_wait_ms < 0:
            raise ProfondError(f"max_wait_ms must be >= 0, got max_wait_ms={max_wait_ms}")
        self.run = run
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000
        self.enabled = enabled
        self.on_batch = on_batch
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="profond-inference", initializer=prepare_thread
        )
        self._pending: deque[_Request] = deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._busy = False  # the previous batch was at least half full
        self._inflight = False  # an inference is running or a batch is being gathered
        self._closing = False

    async def start(self) -> None:
        """Start the collector task (call from the running event loop)."""
        self._wakeup = asyncio.Event()
        if self.enabled:
            self._task = asyncio.create_task(self._collect(), name="profond-batcher")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Answer the queued requests (up to ``grace_s`` seconds), then stop collecting."""
        self._closing = True
        if self._task is not None:
            assert self._wakeup is not None
            self._wakeup.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace_s)
            except TimeoutError:
                self._task.cancel()
                try:
                    await self._task
                except asyncio.CancelledError:
                    pass
            self._task = None
        while self._pending:
            request = self._pending.popleft()
            if not request.future.done():
                request.future.set_exception(RuntimeError("the server is shutting down"))
        self._executor.shutdown(wait=False)

    async def submit(self, x: np.ndarray) -> RuntimeOutput:
        """The model's result for ``x``. Shape: ``(n, *input_shape)`` → rows ``n``."""
        loop = asyncio.get_running_loop()
        if not self.enabled or self._task is None:
            return await loop.run_in_executor(self._executor, self._infer, x)
        assert self._wakeup is not None
        if not self._inflight and not self._pending:
            # An idle model: run at once, without the hop through the collector task, so a
            # lone request costs what it costs without batching.
            self._inflight = True
            try:
                return await loop.run_in_executor(self._executor, self._infer, x)
            finally:
                self._inflight = False
                if self._pending:
                    self._wakeup.set()
        request = _Request(x, loop.create_future())
        self._pending.append(request)
        self._wakeup.set()
        return await request.future

    def _infer(self, x: np.ndarray) -> RuntimeOutput:
        start = time.perf_counter()
        result = self.run(x)
        if self.on_batch is not None:
            try:
                self.on_batch(x, result, time.perf_counter() - start)
            except Exception:  # monitoring must never fail a prediction
                logger.exception("batch hook failed")
        return result

    async def _collect(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wakeup is not None
        while True:
            while not self._pending or self._inflight:
                if self._closing and not self._pending:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
            self._inflight = True  # from here the model is the collector's
            batch: list[_Request] = []
            try:
                await self._gather(loop, batch)
            except BaseException:  # cancelled while waiting: fail what was taken, not hang it
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(RuntimeError("the server is shutting down"))
                raise
            try:
                await self._run_batch(loop, batch)
            finally:
                self._inflight = False

    async def _run_batch(self, loop: asyncio.AbstractEventLoop, batch: list[_Request]) -> None:
        """Run one gathered batch and hand each request its rows."""
        self._busy = sum(len(r.x) for r in batch) * 2 >= self.max_batch
        try:
            x = batch[0].x if len(batch) == 1 else np.concatenate([r.x for r in batch])
            result = await loop.run_in_executor(self._executor, self._infer, x)
        except BaseException as exc:  # cancelled too: no request may wait forever
            for request in batch:
                if not request.future.done():
                    request.future.set_exception(
                        exc if isinstance(exc, Exception) else RuntimeError("server stopping")
                    )
            if not isinstance(exc, Exception):
                raise
            return
        start = 0
        for request in batch:
            stop = start + len(request.x)
            if not request.future.done():  # done: the client went away
                features = None if result.features is None else result.features[start:stop]
                request.future.set_result(RuntimeOutput(result.output[start:stop], features))
            start = stop

    async def _gather(self, loop: asyncio.AbstractEventLoop, batch: list[_Request]) -> None:
        """Move queued requests into ``batch``, up to ``max_batch`` rows (a larger one goes alone)."""
        assert self._wakeup is not None
        batch.append(self._pending.popleft())
        rows = len(batch[0].x)
        deadline = loop.time() + self.max_wait_s if self._busy else None
        while rows < self.max_batch:
            if self._pending:
                if rows + len(self._pending[0].x) > self.max_batch:
                    break
                request = self._pending.popleft()
                batch.append(request)
                rows += len(request.x)
                continue
            remaining = deadline - loop.time() if deadline is not None else 0.0
            if remaining <= 0:
                break
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                break
