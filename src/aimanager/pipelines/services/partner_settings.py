"""Loading, merging and saving per-partner settings (``domain.partner_settings``).

Layers, later wins: the model's defaults → the operator's (``AIMANAGER_PARTNER_DEFAULTS``) → the
partner's own (``partners.settings`` JSON, plus the two column-backed keys: ``ai_budget_usd_month``
is ``partners.ai_budget_usd`` — the column the LLM gateway's budgets read — and ``timezone`` is
``partners.timezone``). Handlers call :func:`settings_for` once per job; ``aimanager settings``
writes through :func:`set_values` / :func:`unset_values`, which validate the merged result before
anything is stored.

Who reads what: pricing (margin, bounds, step, changes per day, review of large moves), cards
(languages, review), the LLM gateway (the budget column), and stock — :func:`stock_buffer_factor`
gives the allocator's safety factor ``k`` for a partner.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.db.models import Partner
from aimanager.domain.partner_settings import (
    COLUMN_KEYS,
    PartnerSettings,
    PartnerSettingsError,
    as_json,
    build,
    parse_assignments,
    settable_keys,
)
from aimanager.errors import PipelineError
from aimanager.logs import get_logger
from aimanager.settings import Settings

log = get_logger("aimanager.pipelines.services.partner_settings")
DEFAULT_TIMEZONE = "Asia/Tashkent"  # partners.timezone's server default


class SettingsInvalid(PipelineError):
    """A setting that does not exist or a value it cannot take (the key is named)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"setting {key}: {message}")
        self.key = key


class PartnerNotFound(PipelineError):
    """No partner with that slug or id."""


def operator_defaults(settings: Settings | None) -> dict[str, Any]:
    """The operator's defaults layer, checked (a bad ``AIMANAGER_PARTNER_DEFAULTS`` names its key)."""
    layer = dict(settings.partner_defaults) if settings is not None else {}
    try:
        build(layer)
    except PartnerSettingsError as exc:
        raise SettingsInvalid(f"AIMANAGER_PARTNER_DEFAULTS.{exc.key}", exc.message) from None
    return layer


def _partner_layer(partner: Partner) -> dict[str, Any]:
    """The partner's own overrides: its JSON plus the column-backed keys that are set."""
    layer = {k: v for k, v in (partner.settings or {}).items() if k not in COLUMN_KEYS}
    if partner.ai_budget_usd is not None:
        layer["ai_budget_usd_month"] = partner.ai_budget_usd
    if partner.timezone and partner.timezone != DEFAULT_TIMEZONE:
        layer["timezone"] = partner.timezone
    return layer


def effective(partner: Partner, settings: Settings | None) -> PartnerSettings:
    """``partner``'s effective settings. A stored value that no longer validates (written by hand, or
    before a rule tightened) names the partner and key instead of failing the pipelines silently."""
    try:
        return build(operator_defaults(settings), _partner_layer(partner))
    except PartnerSettingsError as exc:
        raise SettingsInvalid(f"{exc.key} of partner {partner.slug}", exc.message) from None


async def settings_for(
    session: AsyncSession, partner_ids: Iterable[int], settings: Settings | None
) -> dict[int, PartnerSettings]:
    """Effective settings of each partner (one query); an unknown id gets the defaults."""
    ids = sorted(set(partner_ids))
    rows = (await session.execute(select(Partner).where(Partner.id.in_(ids)))).scalars().all() if ids else []
    found = {p.id: effective(p, settings) for p in rows}
    if len(found) < len(ids):
        base = build(operator_defaults(settings))
        for pid in ids:
            found.setdefault(pid, base)
    return found


async def stock_buffer_factor(session: AsyncSession, partner_id: int, settings: Settings | None) -> Decimal:
    """The allocator's safety factor ``k`` for ``partner_id`` (``AllocationPolicy.safety_factor``)."""
    return (await settings_for(session, [partner_id], settings))[partner_id].stock_buffer_factor


async def find_partner(session: AsyncSession, ref: str | int) -> Partner:
    """A partner by slug or numeric id; :class:`PartnerNotFound` otherwise."""
    text = str(ref).strip()
    query = select(Partner).where(Partner.slug == text)
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None and text.isdigit():
        row = await session.get(Partner, int(text))
    if row is None:
        raise PartnerNotFound(f"no partner {text!r} (see `aimanager partners list`)")
    return row


@dataclass(frozen=True)
class ShownSetting:
    """One line of ``settings show``: the effective value and where it comes from."""

    key: str
    value: Any
    source: str  # default | operator | partner


def describe(partner: Partner | None, settings: Settings | None) -> list[ShownSetting]:
    """Every settable key with its effective value and source (the operator view with no partner)."""
    operator = operator_defaults(settings)
    own = _partner_layer(partner) if partner is not None else {}
    values = as_json(effective(partner, settings) if partner is not None else build(operator))
    shown: list[ShownSetting] = []
    for key in settable_keys():
        head, _, sub = key.partition(".")
        value = values[head][sub] if sub else values[head]

        def has(layer: Mapping[str, Any], head: str = head, sub: str = sub) -> bool:
            if sub:
                return isinstance(layer.get(head), Mapping) and sub in layer[head]
            return head in layer

        source = "partner" if has(own) else "operator" if has(operator) else "default"
        shown.append(ShownSetting(key, value, source))
    return shown


async def set_values(
    session: AsyncSession, partner: Partner, assignments: Sequence[str], settings: Settings | None
) -> PartnerSettings:
    """Apply ``key=value`` assignments to ``partner`` (validated as a whole; nothing is stored when
    one is wrong). The caller commits."""
    try:
        layer = parse_assignments(assignments)
        result = build(operator_defaults(settings), _partner_layer(partner), layer)
    except PartnerSettingsError as exc:
        raise SettingsInvalid(exc.key, exc.message) from None
    stored = dict(partner.settings or {})
    for key, value in layer.items():
        if key == "ai_budget_usd_month":
            partner.ai_budget_usd = result.ai_budget_usd_month
        elif key == "timezone":
            partner.timezone = result.timezone
        elif key == "autopilot":
            stored["autopilot"] = {**stored.get("autopilot", {}), **value}
        else:
            stored[key] = as_json({key: getattr(result, key)})[key]
    partner.settings = stored  # a new dict: the JSON column sees the change
    log.info("partner.settings.set", partner_id=partner.id, keys=sorted(_flat_keys(layer)))
    return result


async def unset_values(
    session: AsyncSession, partner: Partner, keys: Sequence[str], settings: Settings | None
) -> PartnerSettings:
    """Drop ``partner``'s own values of ``keys`` (the operator default applies again)."""
    known = set(settable_keys())
    stored = dict(partner.settings or {})
    for key in keys:
        if key not in known:
            raise SettingsInvalid(key, f"no such setting (known: {', '.join(settable_keys())})")
        head, _, sub = key.partition(".")
        if key == "ai_budget_usd_month":
            partner.ai_budget_usd = None
        elif key == "timezone":
            partner.timezone = DEFAULT_TIMEZONE
        elif sub:
            nested = {k: v for k, v in stored.get(head, {}).items() if k != sub}
            if nested:
                stored[head] = nested
            else:
                stored.pop(head, None)
        else:
            stored.pop(key, None)
    partner.settings = stored
    log.info("partner.settings.unset", partner_id=partner.id, keys=sorted(keys))
    return effective(partner, settings)


def _flat_keys(layer: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for key, value in layer.items():
        if key == "autopilot" and isinstance(value, Mapping):
            out += [f"autopilot.{k}" for k in value]
        else:
            out.append(key)
    return out
