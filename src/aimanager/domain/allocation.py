"""Stock allocation: one pool per partner SKU, split across its marketplaces without overselling.

Sources: seller-tools.md §4.1 (single master pool, reserve on order, safety buffer / zero-at-threshold,
caps, allocations) and §4.4 (published quantity). The split here is *exclusive*: the quantities
published on all marketplaces add up to at most the pool, so a sale on one marketplace can never take
a unit another one still shows.

Per marketplace ``ch`` with sales velocity ``v_ch`` (units/day) and sync delay ``d_ch`` (minutes from
a change in the pool until the marketplace shows it)::

    available   = on_hand − reserved − non_sellable
    expected_ch = v_ch / 1440 × d_ch × k                       # units likely sold before a push lands
    buffer_ch   = ceil(expected_ch) + safety_units  if expected_ch ≥ min_expected  else safety_units
    net         = available − Σ buffer_ch                      # buffers are held back, never published
    published   = 0 everywhere                                 if available ≤ zero_at
                = water-fill(net, weights, caps)               otherwise

Weights are the operator's shares when given, else the velocities (fast channels get more), with a
small floor so a new channel with no sales still gets stock. Caps (``max_quantity``) are applied by
water-filling: what a capped channel cannot take goes to the others, by weight; integers are split by
the largest-remainder method so nothing is lost to rounding and the total never exceeds ``net``.

``min_expected`` (0.1 unit): below that, the chance of even one sale inside the delay is under ~10 %
(Poisson), and holding a whole unit back per channel would hide slow movers everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from aimanager.domain.enums import Marketplace

MINUTES_PER_DAY = Decimal(1440)


@dataclass(frozen=True)
class StockPool:
    """The partner's own stock of one SKU (FBS/DBS; FBO stock lives in the marketplace's warehouse)."""

    sku: str
    on_hand: int
    reserved: int = 0  # open orders not yet shipped
    non_sellable: int = 0  # damaged, returns awaiting inspection

    @property
    def available(self) -> int:
        """Units that may be offered at all (never negative)."""
        return max(0, self.on_hand - self.reserved - self.non_sellable)


@dataclass(frozen=True)
class Channel:
    """One marketplace listing of the SKU, as the allocator sees it."""

    marketplace: Marketplace
    velocity_per_day: Decimal = Decimal(0)
    sync_delay_minutes: Decimal = Decimal(15)
    max_quantity: int | None = None  # cap: never show more than this
    share: Decimal | None = None  # operator's weight; velocity when absent
    enabled: bool = True


@dataclass(frozen=True)
class AllocationPolicy:
    """Buffer and threshold settings (defaults from §4.1-§4.4: k ≈ 1-2, buffers of a few units)."""

    safety_factor: Decimal = Decimal("1.5")  # k
    safety_units: int = 0  # extra units held per channel on top of the velocity buffer
    min_expected: Decimal = Decimal("0.1")
    zero_at: int = 0  # publish 0 everywhere when available ≤ this (zero-at-threshold)
    min_weight: Decimal = Decimal("0.05")  # weight floor for channels with no sales yet


@dataclass(frozen=True)
class OversellRisk:
    """A listing whose published stock may run out before the next sync can correct it."""

    marketplace: Marketplace
    published: int
    velocity_per_day: Decimal
    cover_minutes: Decimal | None  # None: no sales, infinite cover
    sync_delay_minutes: Decimal
    reason: str


@dataclass(frozen=True)
class Allocation:
    """The split of one pool: what to publish where, what is held back and why."""

    sku: str
    pool: int
    available: int
    published: dict[Marketplace, int]
    buffers: dict[Marketplace, int]
    held_back: int
    reasons: dict[Marketplace, str] = field(default_factory=dict)
    risks: tuple[OversellRisk, ...] = ()

    @property
    def total_published(self) -> int:
        """Sum over marketplaces; never more than :attr:`available` (and so never more than the pool)."""
        return sum(self.published.values())


def buffer_for(channel: Channel, policy: AllocationPolicy) -> int:
    """Units held back for ``channel``: expected sales within its sync delay × k, plus safety units."""
    expected = channel.velocity_per_day / MINUTES_PER_DAY * channel.sync_delay_minutes * policy.safety_factor
    if expected < policy.min_expected:
        return policy.safety_units
    return int(expected.to_integral_value(rounding=ROUND_CEILING)) + policy.safety_units


def allocate(
    pool: StockPool, channels: Sequence[Channel], policy: AllocationPolicy | None = None
) -> Allocation:
    """Split ``pool`` across ``channels``; pure and deterministic.

    Guarantees (property-tested): every published quantity is ≥ 0 and ≤ its cap; the total is ≤ the
    available stock; disabled channels get 0.
    """
    policy = policy or AllocationPolicy()
    seen: set[Marketplace] = set()
    for ch in channels:
        if ch.marketplace in seen:
            raise ValueError(f"marketplace {ch.marketplace} given twice for SKU {pool.sku}")
        seen.add(ch.marketplace)
        if ch.velocity_per_day < 0 or ch.sync_delay_minutes < 0:
            raise ValueError(f"negative velocity or delay for {ch.marketplace}")
    available = pool.available
    active = [ch for ch in channels if ch.enabled]
    published = {ch.marketplace: 0 for ch in channels}
    buffers = {ch.marketplace: buffer_for(ch, policy) if ch.enabled else 0 for ch in channels}
    reasons: dict[Marketplace, str] = {
        ch.marketplace: "listing disabled" for ch in channels if not ch.enabled
    }

    if available <= policy.zero_at or not active:
        why = f"available {available} ≤ threshold {policy.zero_at}" if active else "no active listing"
        for ch in active:
            reasons[ch.marketplace] = f"0 published: {why}"
        alloc = Allocation(pool.sku, pool.on_hand, available, published, buffers, available, reasons)
        return _with_risks(alloc, active)

    net = max(0, available - sum(buffers[ch.marketplace] for ch in active))
    weights = {ch.marketplace: _weight(ch, policy) for ch in active}
    caps = {ch.marketplace: ch.max_quantity for ch in active}
    split = water_fill(net, weights, caps)
    published.update(split)
    for ch in active:
        mp = ch.marketplace
        parts = [f"{split[mp]} of {available} available", f"buffer {buffers[mp]}"]
        if ch.max_quantity is not None and split[mp] >= ch.max_quantity:
            parts.append(f"capped at {ch.max_quantity}")
        if net == 0:
            parts.append("buffers take all available stock")
        reasons[mp] = ", ".join(parts)
    held = available - sum(published.values())
    alloc = Allocation(pool.sku, pool.on_hand, available, published, buffers, held, reasons)
    return _with_risks(alloc, active)


def water_fill(
    total: int, weights: dict[Marketplace, Decimal], caps: dict[Marketplace, int | None]
) -> dict[Marketplace, int]:
    """Split ``total`` integer units by ``weights`` with per-key caps; the sum never exceeds ``total``.

    Capped keys take their cap and leave the rest to the others (repeated until nothing is capped);
    the last round splits by largest remainder, ties broken by key order for determinism.
    """
    result = {k: 0 for k in weights}
    open_keys = [k for k in weights if caps.get(k) is None or (caps[k] or 0) > 0]
    left = total
    while left > 0 and open_keys:
        wsum = sum(weights[k] for k in open_keys)
        ideal = {k: Decimal(left) * weights[k] / wsum for k in open_keys}
        newly_capped = [k for k in open_keys if _cap_left(k, caps, result) <= ideal[k]]
        if newly_capped:
            for k in newly_capped:
                take = _cap_left(k, caps, result)
                result[k] += take
                left -= take
            open_keys = [k for k in open_keys if k not in newly_capped]
            continue
        base = {k: math.floor(ideal[k]) for k in open_keys}
        rest = left - sum(base.values())
        order = sorted(open_keys, key=lambda k: (-(ideal[k] - base[k]), str(k)))
        for k in order[:rest]:
            base[k] += 1
        for k in open_keys:
            result[k] += base[k]
        left = 0
    return result


def oversell_report(allocations: Sequence[Allocation]) -> list[OversellRisk]:
    """All risks of many SKUs, worst (shortest cover relative to delay) first."""
    risks = [r for a in allocations for r in a.risks]

    def severity(r: OversellRisk) -> Decimal:
        if r.cover_minutes is None or r.sync_delay_minutes == 0:
            return Decimal(0)
        return r.cover_minutes / r.sync_delay_minutes

    return sorted(risks, key=severity)


def _weight(ch: Channel, policy: AllocationPolicy) -> Decimal:
    if ch.share is not None:
        return max(ch.share, Decimal(0)) or policy.min_weight
    return max(ch.velocity_per_day, policy.min_weight)


def _cap_left(key: Marketplace, caps: dict[Marketplace, int | None], result: dict[Marketplace, int]) -> int:
    cap = caps.get(key)
    if cap is None:
        return 1 << 62
    return max(0, cap - result[key])


def _with_risks(alloc: Allocation, active: Sequence[Channel]) -> Allocation:
    """Attach the oversell risks: cover (published ÷ velocity) shorter than the sync delay."""
    risks: list[OversellRisk] = []
    for ch in active:
        if ch.velocity_per_day <= 0:
            continue
        qty = alloc.published[ch.marketplace]
        cover = Decimal(qty) / ch.velocity_per_day * MINUTES_PER_DAY
        if cover < ch.sync_delay_minutes:
            if qty == 0:
                why = f"selling {ch.velocity_per_day}/day but nothing can be published"
            else:
                why = (
                    f"{qty} units cover {cover:.0f} min of sales, less than the {ch.sync_delay_minutes} min "
                    "sync delay: may sell out (or oversell on a stale pool) before the next push lands"
                )
            risks.append(
                OversellRisk(ch.marketplace, qty, ch.velocity_per_day, cover, ch.sync_delay_minutes, why)
            )
    return Allocation(
        alloc.sku,
        alloc.pool,
        alloc.available,
        alloc.published,
        alloc.buffers,
        alloc.held_back,
        alloc.reasons,
        tuple(risks),
    )
