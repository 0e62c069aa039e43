"""A replica's model gate (``scale.gate.FinalsFirst``): one decode at a time, and a
waiting final goes before partials that were waiting longer."""

from __future__ import annotations

import asyncio

from assistant.scale.gate import FinalsFirst


async def _use(gate: FinalsFirst, label: str, final: bool, order: list[str], hold_s: float):
    async with gate.hold(final):
        order.append(f"{label}+")
        await asyncio.sleep(hold_s)
        order.append(f"{label}-")


def test_a_waiting_final_goes_before_earlier_partials_and_none_overlap() -> None:
    async def scene() -> list[str]:
        gate, order = FinalsFirst(), []
        busy = asyncio.create_task(_use(gate, "busy", False, order, 0.05))
        await asyncio.sleep(0.01)  # the model is busy with a batch of partials
        p1 = asyncio.create_task(_use(gate, "p1", False, order, 0.0))
        await asyncio.sleep(0.005)
        f1 = asyncio.create_task(_use(gate, "f1", True, order, 0.0))
        await asyncio.sleep(0.005)
        p2 = asyncio.create_task(_use(gate, "p2", False, order, 0.0))
        await asyncio.gather(busy, p1, f1, p2)
        return order

    order = asyncio.run(scene())
    assert order[:4] == ["busy+", "busy-", "f1+", "f1-"], order
    assert sorted(order[4:]) == ["p1+", "p1-", "p2+", "p2-"]
    # Never two on the model at once: every + is followed by its own -.
    assert all(order[i][:-1] == order[i + 1][:-1] for i in range(0, len(order), 2)), order


def test_partials_flow_when_no_final_waits() -> None:
    async def scene() -> list[str]:
        gate, order = FinalsFirst(), []
        await asyncio.gather(*(_use(gate, f"p{i}", False, order, 0.0) for i in range(3)))
        return order

    assert len(asyncio.run(scene())) == 6
