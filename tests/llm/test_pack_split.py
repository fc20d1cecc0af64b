"""A pack is asked in smaller calls while the output-token limit has room for more calls than run.

A call's duration grows with what it writes, so the output a limit allows per minute is only used when
enough calls run at once (Little's law). Items that would make fewer calls than that, as full packs,
leave the limit idle and finish a full pack's call later than they could.
"""

from __future__ import annotations

from typing import Any

from aimanager.llm import CardRequest
from tests.llm.conftest import product


def _requests(prefix: str, n: int) -> list[CardRequest]:
    return [CardRequest(f"{prefix}{i}", 1, product(f"{prefix}{i}")) for i in range(n)]


async def test_a_pack_is_split_while_the_limit_has_room_and_kept_whole_without_limits(
    make_gateway: Any, sandbox: Any
) -> None:
    _, state = sandbox
    state.config.otpm = 800_000  # known from the first answer's headers; far from busy here
    gw = await make_gateway()
    [first] = await gw.generate_cards(_requests("A", 1))  # learns the limits and a call's speed
    assert first.draft is not None and state.count("messages") == 1
    results = await gw.generate_cards(_requests("B", 20))
    assert all(r.draft is not None for r in results), [r.error for r in results]
    # One caller's 20 items: one pack, asked as 20 single-card calls side by side.
    assert gw.stats().calls == 21 and state.count("messages") == 21
    await gw.close()

    # Limits unknown (a provider without rate-limit headers): one call for the pack, as before.
    state.config.otpm = None
    plain = await make_gateway()
    await plain.generate_cards(_requests("C", 1))
    await plain.generate_cards(_requests("D", 20))
    assert plain.stats().calls == 2
    await plain.close()
