"""Deterministic price decisions: unit-economics floor, ceiling, competitor signal, change budget.

No LLM and no I/O. One call decides one listing's next price and says why, in words an operator can
read in the price log (``price_changes.reason``).

Floor (seller-tools.md §3.3, "margin-target floor"). Per unit sold at price ``p`` the seller pays the
percent-of-price fees ``c`` (commission) and ``o`` (other percent terms: acquiring, tax on revenue,
target ads share) and the per-unit costs ``K = cost + logistics + fixed fees``. Asking for a margin of
``m`` of the price::

    p − c·p − o·p − K ≥ m·p   ⇔   p ≥ K / (1 − c − o − m)

so ``floor = (cost + logistics + fixed) / (1 − commission% − other% − min margin%)``. When the percent
terms reach 95 % the data is treated as broken and no floor (and no price) is set — the rule from
``DeviceIngineering/ozon-wildberries-repricer`` quoted in §3.3.

Decision (§3.2 rule-based repricing, §0 takeaway 4 "change budget, not just guards"): target from the
competitor (undercut or match) or the reference price, clamped to [floor, ceiling]; the step from the
current price is clipped to ``max_step_pct``; small moves below ``hysteresis_pct`` are skipped; at most
``max_changes_per_day`` changes in any rolling 24 h. Safety beats smoothness: a price below its floor is
raised to the floor at once, whatever the budget says, because every sale below it loses money.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from aimanager.domain.money import HUNDRED, ZERO, pct, round_down, round_money, round_up

# Percent terms at or above this share of the price mean the fee data is wrong (§3.3).
BROKEN_PERCENT_TERMS = Decimal("0.95")


class PricingDataError(ValueError):
    """The listing's numbers cannot give a floor (negative cost, percent terms ≥ 95 %, ...)."""


class Strategy(enum.StrEnum):
    """How the competitor signal becomes a target price."""

    UNDERCUT = "undercut"  # competitor − undercut_pct (and − undercut_abs)
    MATCH = "match"  # competitor price
    HOLD_REFERENCE = "hold_reference"  # ignore competitors, hold the reference (RRP) price


class DecisionCode(enum.StrEnum):
    """Machine-readable outcome; ``reason`` is the human-readable one."""

    INITIAL = "initial"
    RAISED = "raised"
    LOWERED = "lowered"
    FLOOR_REPAIR = "floor_repair"
    HOLD = "hold"
    BUDGET_EXHAUSTED = "budget_exhausted"
    BROKEN_FEES = "broken_fees"


@dataclass(frozen=True)
class Fees:
    """A marketplace's fees for one listing. Percentages are in percent (``15`` = 15 %)."""

    commission_pct: Decimal = ZERO
    logistics: Decimal = ZERO  # per unit, in the listing currency
    fixed_fees: Decimal = ZERO  # per unit: packaging, acceptance, storage share, ...
    other_pct: Decimal = ZERO  # acquiring + tax on revenue + target ads share


@dataclass(frozen=True)
class PricingInput:
    """Everything known about one listing's price. Money is Decimal in ``currency``."""

    cost: Decimal
    fees: Fees
    currency: str = "UZS"
    min_margin_pct: Decimal = Decimal(10)
    current_price: Decimal | None = None
    max_price: Decimal | None = None  # operator's ceiling; a default applies when absent
    # The partner's lowest price (its settings): the floor is raised to it, never lowered.
    min_price: Decimal | None = None
    competitor_price: Decimal | None = None
    reference_price: Decimal | None = None  # RRP / the price to hold when nobody undercuts us
    changes_last_24h: int = 0


@dataclass(frozen=True)
class PricePolicy:
    """The partner's repricing rules; the defaults are the conservative market practice of §3.2/§3.6."""

    strategy: Strategy = Strategy.UNDERCUT
    undercut_pct: Decimal = Decimal(1)
    undercut_abs: Decimal = ZERO
    max_step_pct: Decimal = Decimal(10)  # largest move per change, both directions
    max_changes_per_day: int = 2
    hysteresis_pct: Decimal = Decimal("0.5")  # smaller moves are noise, not worth a change
    # With no max_price the ceiling is floor × (1 + this %); 200 % keeps a wrong competitor figure
    # from tripling a price (WB quarantines ≥3× moves, §3.1).
    default_ceiling_markup_pct: Decimal = Decimal(200)
    # A new listing with no signal starts at floor × (1 + this %).
    initial_markup_pct: Decimal = Decimal(15)


@dataclass(frozen=True)
class PriceDecision:
    """The next price of a listing and why.

    ``new_price`` is ``None`` only when no price can be set (broken fees on a listing that has none);
    ``floor``/``ceiling`` are ``None`` only with ``code == BROKEN_FEES``.
    """

    new_price: Decimal | None
    floor: Decimal | None
    ceiling: Decimal | None
    reason: str
    changed: bool
    code: DecisionCode = DecisionCode.HOLD
    target: Decimal | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def floor_price(cost: Decimal, fees: Fees, min_margin_pct: Decimal, currency: str = "UZS") -> Decimal:
    """Break-even price plus the minimum margin, rounded up to the currency step.

    ``(cost + logistics + fixed) / (1 − commission% − other% − min margin%)``; raises
    :class:`PricingDataError` for negative inputs or percent terms of 95 % or more.
    """
    for name, value in (
        ("cost", cost),
        ("logistics", fees.logistics),
        ("fixed fees", fees.fixed_fees),
        ("commission %", fees.commission_pct),
        ("other %", fees.other_pct),
        ("min margin %", min_margin_pct),
    ):
        if value < 0:
            raise PricingDataError(f"{name} is negative ({value})")
    percent_terms = pct(fees.commission_pct) + pct(fees.other_pct) + pct(min_margin_pct)
    if percent_terms >= BROKEN_PERCENT_TERMS:
        raise PricingDataError(
            f"commission {fees.commission_pct}% + other {fees.other_pct}% + margin {min_margin_pct}% "
            f"= {percent_terms * HUNDRED}% of the price; fee data looks wrong, no floor set"
        )
    per_unit = cost + fees.logistics + fees.fixed_fees
    return round_up(per_unit / (1 - percent_terms), currency)


def ceiling_price(floor: Decimal, max_price: Decimal | None, policy: PricePolicy, currency: str) -> Decimal:
    """The highest price allowed: the operator's ``max_price`` or ``floor × (1 + default markup)``.

    Never below the floor: when an operator's max price is under the floor, the floor wins (selling at
    a loss is worse than an over-cautious cap) and the decision notes the conflict.
    """
    if max_price is not None:
        return max(round_down(max_price, currency), floor)
    return max(round_down(floor * (1 + pct(policy.default_ceiling_markup_pct)), currency), floor)


def competitor_target(competitor: Decimal, policy: PricePolicy, currency: str) -> tuple[Decimal, str]:
    """The price the competitor signal asks for, with a short description of the rule used."""
    if policy.strategy is Strategy.MATCH:
        return round_money(competitor, currency), f"match competitor {_fmt(competitor)}"
    target = competitor * (1 - pct(policy.undercut_pct)) - policy.undercut_abs
    how = f"undercut competitor {_fmt(competitor)} by {_fmt(policy.undercut_pct)}%"
    if policy.undercut_abs:
        how += f" and {_fmt(policy.undercut_abs)}"
    return round_down(target, currency), how


def count_changes_last_24h(changed_at: Iterable[datetime], now: datetime) -> int:
    """How many of the timestamps fall in the rolling 24 h before ``now`` (tz-aware UTC)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    since = now - timedelta(hours=24)
    return sum(1 for t in changed_at if since < t <= now)


def decide_price(item: PricingInput, policy: PricePolicy | None = None) -> PriceDecision:
    """Decide the next price of one listing; pure and deterministic.

    Guarantees (property-tested): the new price is never below the floor; when the current price is
    within [floor, ceiling], a change moves it by at most ``max_step_pct`` and only if fewer than
    ``max_changes_per_day`` changes happened in the last 24 h.
    """
    policy = policy or PricePolicy()
    cur = item.currency
    current = item.current_price
    try:
        floor = floor_price(item.cost, item.fees, item.min_margin_pct, cur)
    except PricingDataError as exc:
        return PriceDecision(
            new_price=current,
            floor=None,
            ceiling=None,
            reason=f"price kept: {exc}",
            changed=False,
            code=DecisionCode.BROKEN_FEES,
        )
    notes: list[str] = []
    if item.min_price is not None and item.min_price > floor:
        notes.append(f"floor {_fmt(floor)} raised to the minimum price {_fmt(item.min_price)}")
        floor = round_up(item.min_price, cur)
    ceiling = ceiling_price(floor, item.max_price, policy, cur)
    if item.max_price is not None and item.max_price < floor:
        notes.append(f"max price {_fmt(item.max_price)} is below the floor {_fmt(floor)}; floor wins")

    target, why = _target(item, policy, floor)
    bounded = min(max(target, floor), ceiling)
    if bounded != target:
        side = "floor" if bounded == floor else "ceiling"
        why += f", held at the {side} {_fmt(bounded)}"
    economics = f"floor {_fmt(floor)} = (cost + logistics + fees) / (1 − commission − margin)"
    if item.min_price is not None and floor == round_up(item.min_price, cur):
        economics = f"floor {_fmt(floor)} = the partner's minimum price"

    def decision(new: Decimal | None, code: DecisionCode, reason: str) -> PriceDecision:
        changed = new is not None and new != current
        return PriceDecision(new, floor, ceiling, reason, changed, code, bounded, tuple(notes))

    if current is None or current <= 0:
        return decision(bounded, DecisionCode.INITIAL, f"first price {_fmt(bounded)}: {why}; {economics}")

    if current < floor:
        # Safety over smoothness: each sale below the floor loses money, so no budget applies.
        return decision(
            floor,
            DecisionCode.FLOOR_REPAIR,
            f"raised {_fmt(current)} → {_fmt(floor)}: current price is below the floor; {economics}",
        )

    delta = bounded - current
    if delta == 0 or abs(delta) * HUNDRED < policy.hysteresis_pct * current:
        return decision(current, DecisionCode.HOLD, f"kept {_fmt(current)}: {why}; move below threshold")
    if item.changes_last_24h >= policy.max_changes_per_day:
        return decision(
            current,
            DecisionCode.BUDGET_EXHAUSTED,
            f"kept {_fmt(current)}: wanted {_fmt(bounded)} ({why}) but {item.changes_last_24h} changes "
            f"in 24 h reached the budget of {policy.max_changes_per_day}",
        )

    max_move = current * pct(policy.max_step_pct)
    if delta > 0:
        # Round towards the current price so rounding never breaks the step budget.
        new = min(bounded, round_down(current + max_move, cur))
        new = max(new, floor)
        code = DecisionCode.RAISED
    else:
        new = max(bounded, round_up(current - max_move, cur), floor)
        code = DecisionCode.LOWERED
    if (new <= current) if code is DecisionCode.RAISED else (new >= current):
        # The allowed step is smaller than the currency step: moving would break the budget.
        return decision(current, DecisionCode.HOLD, f"kept {_fmt(current)}: {why}; step rounds to zero")
    verb = "raised" if code is DecisionCode.RAISED else "lowered"
    reason = f"{verb} {_fmt(current)} → {_fmt(new)}: {why}"
    if new != bounded:
        reason += f"; step limited to {_fmt(policy.max_step_pct)}% (target {_fmt(bounded)})"
    return decision(new, code, reason)


def _target(item: PricingInput, policy: PricePolicy, floor: Decimal) -> tuple[Decimal, str]:
    cur = item.currency
    if (
        policy.strategy is not Strategy.HOLD_REFERENCE
        and item.competitor_price is not None
        and item.competitor_price > 0
    ):
        return competitor_target(item.competitor_price, policy, cur)
    if item.reference_price is not None and item.reference_price > 0:
        return round_money(item.reference_price, cur), f"hold reference price {_fmt(item.reference_price)}"
    if item.current_price is not None and item.current_price > 0:
        return item.current_price, "no competitor or reference signal"
    start = round_up(floor * (1 + pct(policy.initial_markup_pct)), cur)
    return start, f"no signal; floor + {_fmt(policy.initial_markup_pct)}%"


def _fmt(value: Decimal) -> str:
    """Plain number for reasons: no exponent, no trailing zeros."""
    return format(value.normalize(), "f")
