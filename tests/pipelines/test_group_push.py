"""Group commit of price pushes: concurrent pushes to one account share a bulk call."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from decimal import Decimal

import pytest

from aimanager.connectors.base import ItemError, PriceUpdate, PushReport
from aimanager.pipelines.services.group_push import GroupPush


class Account:
    """A send function that holds each call open until released and records what it carried."""

    def __init__(self, reject: frozenset[str] = frozenset()) -> None:
        self.calls: list[tuple[Hashable, list[tuple[str, Decimal]]]] = []
        self.release = asyncio.Event()
        self.reject = reject
        self.fail_next: Exception | None = None

    async def send(self, key: Hashable, items: list[PriceUpdate]) -> PushReport:
        self.calls.append((key, [(i.offer_id, i.price) for i in items]))
        await self.release.wait()
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        return PushReport(
            accepted=[i.offer_id for i in items if i.offer_id not in self.reject],
            failed=[ItemError(offer_id=o, code="bad", message="no") for o in self.reject],
            requests=1,
        )


def price(sku: str, value: int) -> PriceUpdate:
    return PriceUpdate(offer_id=sku, price=Decimal(value))


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_pushes_arriving_during_a_call_go_out_together_in_the_next() -> None:
    account = Account(reject=frozenset({"c"}))
    group = GroupPush(account.send, lambda u: u.offer_id)
    first = asyncio.create_task(group.push(("p1", "wb"), [price("a", 10)]))
    await settle()
    assert len(account.calls) == 1  # the first push went out at once
    later = [asyncio.create_task(group.push(("p1", "wb"), [price(s, 20)])) for s in ("b", "c", "d")]
    other = asyncio.create_task(group.push(("p2", "wb"), [price("a", 30)]))  # another account
    await settle()
    assert [k for k, _ in account.calls] == [("p1", "wb"), ("p2", "wb")]
    account.release.set()
    reports = await asyncio.gather(first, *later, other)
    assert account.calls[2] == (("p1", "wb"), [("b", Decimal(20)), ("c", Decimal(20)), ("d", Decimal(20))])
    assert len(account.calls) == 3
    assert [r.accepted for r in reports] == [["a"], ["b"], [], ["d"], ["a"]]
    assert [e.offer_id for e in reports[2].failed] == ["c"] and not reports[1].failed


async def test_a_repeated_offer_waits_for_the_call_after_so_the_newest_price_lands_last() -> None:
    account = Account()
    group = GroupPush(account.send, lambda u: u.offer_id)
    pushes = [asyncio.create_task(group.push("acct", [price("a", v)])) for v in (1, 2, 3)]
    account.release.set()
    await asyncio.gather(*pushes)
    assert [items for _, items in account.calls] == [[("a", 1)], [("a", 2)], [("a", 3)]]


async def test_a_failed_call_fails_its_callers_only() -> None:
    account = Account()
    group = GroupPush(account.send, lambda u: u.offer_id)
    account.fail_next = RuntimeError("429 from the marketplace")
    first = asyncio.create_task(group.push("acct", [price("a", 1)]))
    await settle()
    second = asyncio.create_task(group.push("acct", [price("b", 1)]))
    account.release.set()
    with pytest.raises(RuntimeError, match="429"):
        await first
    assert (await second).accepted == ["b"]


async def test_a_cancelled_caller_does_not_cancel_the_call_the_others_share() -> None:
    account = Account()
    group = GroupPush(account.send, lambda u: u.offer_id)
    await group.push("acct", [])  # nothing to push: no call
    assert account.calls == []
    first = asyncio.create_task(group.push("acct", [price("a", 1)]))
    await settle()
    second = asyncio.create_task(group.push("acct", [price("b", 1)]))
    third = asyncio.create_task(group.push("acct", [price("c", 1)]))
    await settle()
    second.cancel()
    account.release.set()
    assert (await first).accepted == ["a"]
    assert (await third).accepted == ["c"]
    assert account.calls[1][1] == [("b", 1), ("c", 1)]
