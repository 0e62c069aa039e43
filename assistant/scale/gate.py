"""The order decodes take one model on a replica: one at a time, and a final that
is waiting goes before any batch of partials (``scale.replica``). Pure asyncio: no
Ray here, so the rule is tested without a cluster."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class FinalsFirst:
    """One decode at a time on the model; a waiting final goes before partials."""

    def __init__(self) -> None:
        self._cond = asyncio.Condition()
        self._busy = False
        self._finals_waiting = 0

    @contextlib.asynccontextmanager
    async def hold(self, final: bool) -> AsyncIterator[None]:
        async with self._cond:
            self._finals_waiting += final
            try:
                await self._cond.wait_for(
                    lambda: not self._busy and (final or self._finals_waiting == 0)
                )
            finally:
                self._finals_waiting -= final
            self._busy = True
        try:
            yield
        finally:
            async with self._cond:
                self._busy = False
                self._cond.notify_all()
