"""State, validation and async processing of the Wildberries sandbox (the routes live in ``routes_*``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.history import HistoryRow, opening_history
from aimanager_sandbox.common.sandbox import Limit, Sandbox

LIMITS = {
    "content_write": Limit(10, 60, 5),
    "content_read": Limit(100, 60, 5),
    "prices": Limit(10, 6, 5),
    "marketplace": Limit(300, 60, 20),
    "finance": Limit(1, 60, 1),
    "tariffs": Limit(1, 60, 2),
}
# subjectID → (name, FBS commission % for Uzbekistan, generic %)
SUBJECTS = {
    105: ("Футболки", "23", "25"),
    192: ("Смартфоны", "3", "5"),
    2330: ("Кружки", "15", "17"),
    # The rest of the catalog's categories (aimanager.domain.categories), so its cards are accepted.
    115: ("Рюкзаки", "19", "21"),
    1297: ("Шампуни", "17", "19"),
    1439: ("Электрочайники", "12", "14"),
    1450: ("Сковороды", "15", "17"),
    3270: ("Конструкторы", "17", "19"),
}
WAREHOUSES: list[dict[str, Any]] = [
    {"id": 1001, "name": "Ташкент FBS"},
    {"id": 1002, "name": "Самарканд FBS"},
]


def subject_name(subject: int) -> str:
    return SUBJECTS[subject][0] if subject in SUBJECTS else ""


def group_of(method: str, path: str) -> str | None:
    if path.startswith(("/content/v2/cards/upload", "/content/v2/cards/update", "/content/v2/cards/error")):
        return "content_write"
    if path.startswith("/content/"):
        return "content_read"
    if path.startswith(("/api/v2/upload", "/api/v2/history", "/api/v2/buffer", "/api/v2/list")):
        return "prices"
    if path.startswith("/api/v3/"):
        return "marketplace"
    if path.startswith("/api/finance/"):
        return "finance"
    if path.startswith("/api/v1/tariffs"):
        return "tariffs"
    return None


def generic_error(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """WB's gateway error body (401, 429, 5xx on every host; ``title`` is not part of it)."""
    body = {
        "detail": detail,
        "code": f"{status}-{title.replace(' ', '-')}",
        "requestId": uuid.uuid4().hex,
        "origin": "s2s-api-auth-catalog" if status == 401 else "sandbox",
        "status": status,
        "statusText": title,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    return JSONResponse(status_code=status, content=body, headers=headers)


def report_error(status: int, title: str, detail: str) -> JSONResponse:
    """The finance API's 4xx body: ``{title, detail, requestId, origin, status}``."""
    body = {
        "title": title,
        "detail": detail,
        "requestId": uuid.uuid4().hex,
        "origin": "finance",
        "status": status,
    }
    return JSONResponse(status_code=status, content=body)


def marketplace_error(status: int, code: str, message: str) -> JSONResponse:
    """The Marketplace API's (stocks, warehouses) 4xx body: ``{code, message}``."""
    return JSONResponse(status_code=status, content={"code": code, "message": message})


def content_error(status: int, text: str) -> JSONResponse:
    """The Content API's ``{data, error, errorText, additionalErrors}`` error shape."""
    body = {"data": None, "error": True, "errorText": text, "additionalErrors": None}
    return JSONResponse(status_code=status, content=body)


def prices_error(status: int, text: str, data: Any = None) -> JSONResponse:
    """The Prices API's ``{data, error, errorText}`` error shape (no ``additionalErrors`` there)."""
    return JSONResponse(status_code=status, content={"data": data, "error": True, "errorText": text})


def ok_body(data: Any) -> dict[str, Any]:
    """A Content API answer."""
    return {"data": data, "error": False, "errorText": "", "additionalErrors": None}


def prices_body(data: Any) -> dict[str, Any]:
    """A Prices API answer."""
    return {"data": data, "error": False, "errorText": ""}


@dataclass
class WbAccount:
    """Everything one seller token owns."""

    cards: dict[str, dict[str, Any]] = field(default_factory=dict)  # vendorCode → card
    pending_cards: list[tuple[float, str, list[dict[str, Any]]]] = field(default_factory=list)
    card_errors: list[dict[str, Any]] = field(default_factory=list)
    prices: dict[int, tuple[int, int]] = field(default_factory=dict)  # nmID → (price, discount)
    price_changes: int = 0
    uploads: dict[int, dict[str, Any]] = field(default_factory=dict)
    upload_hashes: dict[str, int] = field(default_factory=dict)
    stocks: dict[tuple[int, int], int] = field(default_factory=dict)  # (warehouse, chrtID) → amount
    stock_writes: int = 0
    history: list[HistoryRow] = field(default_factory=list)
    next_id: int = 10_000
    # The seller's country decides the commission table's shape and the report currency ("uz": the
    # Uzbekistan fields and UZS; anything else the Russian ones and RUB).
    country: str = "uz"

    @property
    def currency(self) -> str:
        return "UZS" if self.country == "uz" else "RUB"

    def card_by_nm(self, nm_id: int) -> dict[str, Any] | None:
        return next((c for c in self.cards.values() if c["nmID"] == nm_id), None)

    def chrt_ids(self) -> set[int]:
        return {s["chrtID"] for c in self.cards.values() for s in c["sizes"]}

    def stock_of(self, vendor_code: str, warehouse: int = 1001) -> int:
        """Read-back helper for tests."""
        card = self.cards[vendor_code]
        return self.stocks.get((warehouse, card["sizes"][0]["chrtID"]), 0)

    def price_of(self, vendor_code: str) -> tuple[int, int] | None:
        return self.prices.get(self.cards[vendor_code]["nmID"])


def new_card(acc: WbAccount, subject: int, v: dict[str, Any]) -> dict[str, Any]:
    acc.next_id += 1
    now = datetime.now(UTC).isoformat()
    sizes = v.get("sizes") or [{}]
    return {
        "nmID": acc.next_id * 10,
        "imtID": acc.next_id * 10 + 1,
        "subjectID": subject,
        "subjectName": SUBJECTS[subject][0],
        "vendorCode": v["vendorCode"],
        "brand": v.get("brand", ""),
        "title": v.get("title", ""),
        "description": v.get("description", ""),
        "characteristics": v.get("characteristics", []),
        "dimensions": v.get("dimensions", {}),
        "sizes": [
            {
                "chrtID": acc.next_id * 10 + 2 + i,
                "techSize": s.get("techSize", "0"),
                "skus": s.get("skus", []),
            }
            for i, s in enumerate(sizes)
        ],
        "createdAt": now,
        "updatedAt": now,
    }


def new_account(sb: Sandbox, token: str) -> WbAccount:
    acc = WbAccount(country=str(sb.config.extra.get("country", "uz")))
    offers = []
    for i in range(1, sb.config.history_offers + 1):
        code = f"SEED-{i:03d}"
        card = new_card(acc, 105, {"vendorCode": code, "title": f"Футболка {i}", "sizes": [{}]})
        acc.cards[code] = card
        acc.prices[card["nmID"]] = (1000 + 50 * i, 10)
        acc.stocks[(1001, card["sizes"][0]["chrtID"])] = 10
        offers.append((code, Decimal(1000 + 50 * i)))
    acc.history = opening_history(
        sb.config,
        sb.history_rng(token),
        offers,
        commission_pct=Decimal(SUBJECTS[105][1]),
        logistics=Decimal("45"),
    )
    return acc


def request_account(request: Request) -> WbAccount:
    """The account of the request's token, its due async jobs finished (what every route starts with)."""
    sb: Sandbox = request.app.state.sandbox
    acc: WbAccount = sb.account(request.headers["authorization"])
    with sb.lock:
        tick(sb, acc)
    return acc


def card_problems(acc: WbAccount, subject: Any, v: dict[str, Any]) -> list[str]:
    problems = []
    if subject not in SUBJECTS:
        problems.append(f"Неизвестный предмет {subject}")
    if len(v.get("title") or "") > 60:
        problems.append("Наименование товара не должно превышать 60 символов")
    if len(v.get("vendorCode") or "") > 72:
        problems.append("Артикул продавца не должен превышать 72 символа")
    if v.get("vendorCode") in acc.cards:
        problems.append("Артикул продавца уже используется")
    if len(v.get("description") or "") > 5000:
        problems.append("Описание не должно превышать 5000 символов")
    return problems


def tick(sb: Sandbox, acc: WbAccount) -> None:
    """Finish every async job whose time has come."""
    now = sb.now()
    due = [p for p in acc.pending_cards if p[0] <= now]
    acc.pending_cards = [p for p in acc.pending_cards if p[0] > now]
    for _, batch_uuid, items in due:
        errors: dict[str, list[str]] = {}
        for item in items:
            subject: Any = item.get("subjectID")
            for v in item.get("variants") or []:
                if item.get("_update"):
                    card = acc.card_by_nm(v.get("nmID", -1))
                    if card is None:
                        errors[v.get("vendorCode", "?")] = ["Карточка не найдена"]
                    elif len(v.get("title") or "") > 60:
                        errors[v["vendorCode"]] = ["Наименование товара не должно превышать 60 символов"]
                    else:
                        card.update(
                            {k: v[k] for k in ("title", "description", "brand", "characteristics") if k in v}
                        )
                        card["updatedAt"] = datetime.now(UTC).isoformat()
                    continue
                problems = card_problems(acc, subject, v)
                if problems:
                    errors[v.get("vendorCode", "?")] = problems
                else:
                    acc.cards[v["vendorCode"]] = new_card(acc, subject, v)
        if errors:
            subjects: set[int] = {i["subjectID"] for i in items if isinstance(i.get("subjectID"), int)}
            brands = {str(v["brand"]) for i in items for v in i.get("variants") or [] if v.get("brand")}
            acc.card_errors.append(
                {
                    "batchUUID": batch_uuid,
                    # Objects keyed by id, as the published ``ModelsErrorTableListPublicRespV2Item``.
                    "subjects": {
                        str(sid): {"id": sid, "name": subject_name(sid)} for sid in sorted(subjects)
                    },
                    "brands": {str(n): {"id": n, "name": b} for n, b in enumerate(sorted(brands), 1)},
                    "vendorCodes": sorted(errors),
                    "errors": errors,
                    "updatedAt": datetime.now(UTC).isoformat(),
                }
            )
    for upload in acc.uploads.values():
        if upload["status"] == 1 and upload["ready_at"] <= now:
            apply_prices(acc, upload)


def apply_prices(acc: WbAccount, upload: dict[str, Any]) -> None:
    goods = []
    for item in upload["items"]:
        card = acc.card_by_nm(item["nmID"])
        error = ""
        if card is None:
            error = "nmID not found"
        else:
            new = (item["price"], item.get("discount", 0))
            old = acc.prices.get(item["nmID"])
            if old and new[0] * (100 - new[1]) * 3 <= old[0] * (100 - old[1]):
                error = "The new price is in quarantine: it is 3 or more times lower than the previous one"
            elif old != new:
                acc.prices[item["nmID"]] = new
                acc.price_changes += 1
        goods.append(
            {
                "nmID": item["nmID"],
                "vendorCode": card["vendorCode"] if card else "",
                "sizeID": 0,
                "techSizeName": "0",
                "price": item["price"],
                "currencyIsoCode4217": "UZS",
                "discount": item.get("discount", 0),
                "clubDiscount": 0,
                "status": 3 if error else 2,
                "errorText": error,
            }
        )
    bad = sum(1 for g in goods if g["errorText"])
    upload["goods"] = goods
    upload["status"] = 3 if not bad else 6 if bad == len(goods) else 5
