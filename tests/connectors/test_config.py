"""Typed account models: validation names the marketplace and the fields, secrets stay hidden."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import structlog

from aimanager.connectors.config import MarketplaceAccount
from aimanager.connectors.errors import AccountConfigError
from aimanager.connectors.ozon import OzonCredentials, OzonSettings
from aimanager.connectors.registry import make_connector, parse_account, parse_credentials
from aimanager.connectors.uzum import UzumSettings
from aimanager.connectors.uzum.money import PriceRounding
from aimanager.connectors.wildberries import WildberriesCredentials, WildberriesSettings
from aimanager.connectors.yandex import YandexSettings
from aimanager.domain.enums import Marketplace
from aimanager.errors import ConfigError
from aimanager.logs import get_logger

SECRET = "s3cret-token-do-not-show-81f2"

VALID: dict[Marketplace, tuple[dict[str, Any], dict[str, Any]]] = {
    Marketplace.WILDBERRIES: ({"token": SECRET}, {}),
    Marketplace.OZON: ({"client_id": "123456", "api_key": SECRET}, {}),
    Marketplace.YANDEX: ({"api_key": SECRET}, {"business_id": 111, "campaign_id": 222}),
    Marketplace.UZUM: ({"token": SECRET}, {"shop_id": 4242}),
}


def problems(marketplace: Marketplace | str, credentials: Any, settings: Any = None) -> dict[str, str]:
    with pytest.raises(AccountConfigError) as info:
        parse_account(marketplace, credentials, settings)
    assert isinstance(info.value, ConfigError)
    assert info.value.marketplace == Marketplace(marketplace).value
    assert Marketplace(marketplace).value in str(info.value)
    for field in info.value.problems:
        assert field in str(info.value)
    return info.value.problems


@pytest.mark.parametrize("mp", list(Marketplace), ids=lambda mp: mp.value)
def test_every_marketplace_parses_its_account(mp: Marketplace) -> None:
    credentials, settings = VALID[mp]
    account = parse_account(mp, credentials, settings)
    assert isinstance(account, MarketplaceAccount) and account.marketplace is mp
    assert account.credentials.revealed() == credentials  # what is sealed at rest, unchanged
    for text in (repr(account), str(account), repr(account.credentials), str(account.credentials)):
        assert SECRET not in text
    assert SECRET not in account.credentials.model_dump_json()
    assert SECRET not in account.credentials.fingerprint()


@pytest.mark.parametrize("mp", list(Marketplace), ids=lambda mp: mp.value)
def test_missing_credentials_are_named(mp: Marketplace) -> None:
    _, settings = VALID[mp]
    found = problems(mp, {}, settings)
    assert set(found) == {f"credentials.{name}" for name in VALID[mp][0]}
    assert set(found.values()) == {"is required"}


@pytest.mark.parametrize("mp", list(Marketplace), ids=lambda mp: mp.value)
def test_blank_secrets_are_refused(mp: Marketplace) -> None:
    credentials, settings = VALID[mp]
    secret_field = "api_key" if mp in (Marketplace.OZON, Marketplace.YANDEX) else "token"
    found = problems(mp, {**credentials, secret_field: "   "}, settings)
    assert found == {f"credentials.{secret_field}": "must not be blank"}


def test_required_settings_are_named() -> None:
    assert problems("uzum", {"token": SECRET}) == {"settings.shop_id": "is required"}
    assert problems(Marketplace.YANDEX, {"api_key": SECRET}, {"campaign_id": 2}) == {
        "settings.business_id": "is required"
    }


def test_wrong_types_and_unknown_fields_are_named_without_values() -> None:
    found = problems(
        Marketplace.UZUM,
        {"token": SECRET, "tokn": SECRET},
        {"shop_id": "shop-seven", "price_rounding": "sometimes", "timeout": -1},
    )
    assert set(found) == {
        "credentials.tokn",
        "settings.shop_id",
        "settings.price_rounding",
        "settings.timeout",
    }
    assert found["credentials.tokn"] == "is not a known field"
    with pytest.raises(AccountConfigError) as info:
        parse_account(Marketplace.UZUM, {"token": SECRET, "tokn": SECRET}, {"shop_id": 1})
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    # No pydantic ValidationError chained on: its text would show the input values.
    error = info.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    with pytest.raises(AccountConfigError) as info:
        parse_credentials(Marketplace.UZUM, {"token": SECRET, "tokn": SECRET})
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_ozon_client_id_is_digits() -> None:
    assert set(problems("ozon", {"client_id": "abc", "api_key": SECRET})) == {"credentials.client_id"}
    assert parse_credentials("ozon", {"client_id": 987, "api_key": SECRET}).account_key() == "987"


def test_unknown_marketplace_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no connector"):
        parse_account("etsy", {"token": SECRET})


def test_settings_are_typed_with_each_marketplace_defaults(tmp_path: Path) -> None:
    uzum = parse_account("uzum", {"token": SECRET}, {"shop_id": "4242", "export_dir": str(tmp_path)})
    assert isinstance(uzum.settings, UzumSettings)
    assert uzum.settings.shop_id == 4242 and uzum.settings.export_dir == tmp_path
    assert uzum.settings.price_rounding is PriceRounding.REJECT
    assert uzum.stored_settings() == {"shop_id": 4242, "export_dir": str(tmp_path)}  # no defaults
    ozon = OzonSettings.model_validate({"warehouse_id": 22001, "vat": 0.2})
    assert ozon.warehouse_id == "22001" and ozon.vat == "0.2" and ozon.task_timeout == 3600.0
    assert YandexSettings(business_id=1, campaign_id=2).poll_interval == 10.0
    assert WildberriesSettings().country == "uz" and WildberriesSettings().warehouse_id is None


def test_one_rule_names_the_account_a_credential_opens() -> None:
    ozon_a = parse_credentials("ozon", {"client_id": "42", "api_key": "key-one"})
    ozon_b = parse_credentials("ozon", {"client_id": "42", "api_key": "key-two"})
    assert ozon_a.account_key() == ozon_b.account_key() == "42"
    # Ozon counts limits per Client-Id: two keys of one seller share one set of limiters.
    assert ozon_a.fingerprint() == ozon_b.fingerprint()
    other_seller = parse_credentials("ozon", {"client_id": "43", "api_key": "key-one"})
    assert ozon_a.fingerprint() != other_seller.fingerprint()
    wb = parse_credentials("wildberries", {"token": SECRET})
    assert wb.account_key() == SECRET
    # One secret on two marketplaces is two accounts.
    assert wb.fingerprint() != parse_credentials("uzum", {"token": SECRET}).fingerprint()


def test_account_refuses_settings_of_another_marketplace() -> None:
    with pytest.raises(ValueError, match="wildberries credentials with ozon settings"):
        MarketplaceAccount(WildberriesCredentials(token=SECRET), OzonSettings())  # type: ignore[arg-type]
    assert isinstance(OzonCredentials(client_id="1", api_key=SECRET), OzonCredentials)


async def test_connector_is_built_from_the_account_and_hides_it() -> None:
    account = parse_account("wildberries", {"token": SECRET}, {"base_url": "http://127.0.0.1:9"})
    conn = make_connector(account)
    try:
        assert conn.marketplace is Marketplace.WILDBERRIES
        assert "127.0.0.1:9" in repr(conn) and SECRET not in repr(conn)
    finally:
        await conn.aclose()


def test_secrets_do_not_reach_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    account = parse_account("ozon", {"client_id": "7", "api_key": SECRET})
    with structlog.testing.capture_logs() as events:
        get_logger(__name__).info("account.saved", credentials=account.credentials, account=account)
    texts = [str(e) for e in events] + [r.getMessage() for r in caplog.records]
    assert texts and all(SECRET not in text for text in texts)
