"""Per-partner settings: what the pipelines read for one partner, validated on every write.

The operator sets defaults for every partner (``AIMANAGER_PARTNER_DEFAULTS``, JSON); a partner's own
overrides (``partners.settings``) are merged on top, key by key (``autopilot`` field by field). Two
values live in their own columns, because other parts read them there: the monthly AI budget
(``partners.ai_budget_usd``, which the LLM gateway's budgets enforce) and the time zone
(``partners.timezone``). Unknown keys and bad values are refused with the key named.

Money bounds (``min_price``/``max_price``) are in the marketplaces' settlement currency (UZS for an
Uzbek seller, see ``domain.money``). Percentages are in percent (``15`` = 15 %).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Language = Literal["ru", "uz"]
# Every marketplace needs Russian text (domain.rules: "ru" is in every marketplace's languages), so a
# partner may drop Uzbek but never Russian.
REQUIRED_LANGUAGE = "ru"
# Keys stored in a column of ``partners`` rather than in its ``settings`` JSON.
COLUMN_KEYS = {"ai_budget_usd_month": "ai_budget_usd", "timezone": "timezone"}


class PartnerSettingsError(ValueError):
    """A key that does not exist or a value it cannot take; ``key`` names it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


class Autopilot(BaseModel):
    """Per capability: True = AI output goes live by itself; False = review mode (it waits for
    ``aimanager review approve``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cards: bool = True
    prices: bool = True


class PartnerSettings(BaseModel):
    """One partner's effective settings (operator defaults with its overrides merged)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Pricing: the margin asked over unit costs (a listing's own min_margin_pct wins), price bounds (a
    # listing's own max_price wins), the largest move per change and the changes allowed per 24 h.
    margin_target_pct: Decimal = Field(default=Decimal(10), ge=0, lt=95)
    min_price: Decimal | None = Field(default=None, gt=0)
    max_price: Decimal | None = Field(default=None, gt=0)
    max_step_pct: Decimal = Field(default=Decimal(10), gt=0, le=100)
    max_changes_per_day: int = Field(default=2, ge=0, le=100)
    # Stock: the allocator's safety factor k (expected sales inside the sync delay × k are held back).
    stock_buffer_factor: Decimal = Field(default=Decimal("1.5"), ge=0, le=10)
    # LLM spend cap per calendar month (USD); None = no cap. Stored in partners.ai_budget_usd.
    ai_budget_usd_month: Decimal | None = Field(default=None, ge=0)
    autopilot: Autopilot = Field(default_factory=Autopilot)
    # In review mode for prices, a move larger than this share of the live price waits for approval.
    large_price_move_pct: Decimal = Field(default=Decimal(15), gt=0, le=1000)
    languages: tuple[Language, ...] = ("ru", "uz")
    timezone: str = "Asia/Tashkent"

    @field_validator("languages", mode="before")
    @classmethod
    def _languages(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("languages")
    @classmethod
    def _languages_order(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if REQUIRED_LANGUAGE not in value:
            raise ValueError("must include ru (every marketplace needs Russian text)")
        # One canonical order, so equal sets hash equal in the card input hash.
        return tuple(lang for lang in ("ru", "uz") if lang in value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Asia/Tashkent)") from None
        return value

    @model_validator(mode="after")
    def _bounds(self) -> PartnerSettings:
        if self.min_price is not None and self.max_price is not None and self.min_price > self.max_price:
            raise ValueError(f"min_price {self.min_price} is above max_price {self.max_price}")
        return self

    def wants_review(self, capability: str) -> bool:
        """True when ``capability`` ("cards" or "prices") is in review mode."""
        return not bool(getattr(self.autopilot, capability))


def settable_keys() -> list[str]:
    """Every key ``settings set`` accepts (``autopilot.cards`` style for the nested switches)."""
    keys: list[str] = []
    for name in PartnerSettings.model_fields:
        if name == "autopilot":
            keys += [f"autopilot.{k}" for k in Autopilot.model_fields]
        else:
            keys.append(name)
    return keys


def _key_of(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc if not isinstance(p, int)]
    return ".".join(parts) or "settings"


def build(*layers: Mapping[str, Any]) -> PartnerSettings:
    """The settings from ``layers`` merged left to right (later wins; ``autopilot`` per field);
    :class:`PartnerSettingsError` names the first bad key."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if key == "autopilot" and isinstance(value, Mapping):
                merged["autopilot"] = {**merged.get("autopilot", {}), **value}
            else:
                merged[key] = value
    try:
        return PartnerSettings.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _key_of(first["loc"])
        if first["type"] == "extra_forbidden":
            raise PartnerSettingsError(
                key, f"no such setting (known: {', '.join(settable_keys())})"
            ) from None
        message = str(first["msg"]).removeprefix("Value error, ")
        raise PartnerSettingsError(key, message) from None


def parse_assignments(pairs: Iterable[str]) -> dict[str, Any]:
    """``["margin_target_pct=12", "autopilot.cards=false"]`` → an overrides layer for :func:`build`.

    Values are typed by the key: numbers stay text for pydantic's exact Decimal parsing, switches
    take true/false/on/off/yes/no, ``languages`` a comma list, and ``none`` clears an optional bound."""
    layer: dict[str, Any] = {}
    known = set(settable_keys())
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not key:
            raise PartnerSettingsError(pair or "?", "expected key=value")
        if key not in known:
            raise PartnerSettingsError(key, f"no such setting (known: {', '.join(settable_keys())})")
        if key.startswith("autopilot."):
            layer.setdefault("autopilot", {})[key.split(".", 1)[1]] = _switch(key, raw)
        elif raw.lower() in ("none", "null", "") and key in ("min_price", "max_price", "ai_budget_usd_month"):
            layer[key] = None
        elif key in ("languages", "timezone"):
            layer[key] = raw
        else:
            layer[key] = _number(key, raw)
    return layer


def _switch(key: str, raw: str) -> bool:
    word = raw.lower()
    if word in ("true", "on", "yes", "1", "autopilot"):
        return True
    if word in ("false", "off", "no", "0", "review"):
        return False
    raise PartnerSettingsError(key, f"{raw!r} is not a switch (true/false)")


def _number(key: str, raw: str) -> Any:
    if key == "max_changes_per_day":
        try:
            return int(raw)
        except ValueError:
            raise PartnerSettingsError(key, f"{raw!r} is not a whole number") from None
    try:
        # "1 000" and "1_000" group digits; "12,5" is a decimal comma, as people in the region write it.
        value = Decimal("".join(raw.split()).replace("_", "").replace(",", "."))
    except InvalidOperation:
        raise PartnerSettingsError(key, f"{raw!r} is not a number") from None
    if not value.is_finite():
        raise PartnerSettingsError(key, f"{raw!r} is not a number")
    return value


def as_json(settings: PartnerSettings | Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-safe dict (Decimals as strings, so nothing is lost to floats)."""
    data = settings.model_dump() if isinstance(settings, PartnerSettings) else dict(settings)
    return {k: _jsonable(v) for k, v in data.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def is_large_move(old: Decimal | None, new: Decimal, threshold_pct: Decimal) -> bool:
    """Does ``old → new`` move by more than ``threshold_pct`` % of ``old``? A first price (no old
    price) counts as large: nothing bounds it."""
    if old is None or old <= 0:
        return True
    return abs(new - old) * 100 > threshold_pct * old


def move_pct(old: Decimal | None, new: Decimal) -> Decimal | None:
    """``new`` against ``old`` in percent (+12.5), or None with no old price."""
    if old is None or old <= 0:
        return None
    return ((new - old) * 100 / old).quantize(Decimal("0.1"))
