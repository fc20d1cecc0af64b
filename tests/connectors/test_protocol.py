"""Every connector class declares the ``Connector`` protocol's methods with the protocol's signatures.

``isinstance(conn, Connector)`` only checks that the names exist; a connector whose ``wait_task`` took
``timeout=`` where the protocol says ``max_wait=`` passed it for months. This compares each method's
full signature (parameter names, kinds, defaults, annotations and the return annotation).
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from aimanager.connectors.base import Connector, TaskRef, TaskStatus
from aimanager.connectors.ozon import OzonConnector
from aimanager.connectors.uzum import UzumConnector
from aimanager.connectors.wildberries import WildberriesConnector
from aimanager.connectors.yandex import YandexMarketConnector
from aimanager.domain.enums import Marketplace

CONNECTORS: dict[Marketplace, type[Any]] = {
    Marketplace.WILDBERRIES: WildberriesConnector,
    Marketplace.OZON: OzonConnector,
    Marketplace.YANDEX: YandexMarketConnector,
    Marketplace.UZUM: UzumConnector,
}


def protocol_methods() -> list[str]:
    return sorted(
        name
        for name, value in vars(Connector).items()
        if not name.startswith("_") and inspect.isfunction(value)
    )


def drift(cls: type[Any]) -> list[str]:
    """How ``cls`` departs from the protocol: one line per missing or differing member."""
    found = []
    for attribute in ("marketplace", "capabilities"):
        if not hasattr(cls, attribute):
            found.append(f"{cls.__name__} has no {attribute}")
    for name in protocol_methods():
        method = getattr(cls, name, None)
        if method is None:
            found.append(f"{cls.__name__}.{name} is missing")
            continue
        wanted = inspect.signature(getattr(Connector, name), eval_str=True)
        actual = inspect.signature(method, eval_str=True)
        if actual != wanted:
            found.append(f"{cls.__name__}.{name}{actual} != protocol {name}{wanted}")
        if inspect.iscoroutinefunction(getattr(Connector, name)) != inspect.iscoroutinefunction(method):
            found.append(f"{cls.__name__}.{name}: async-ness differs from the protocol")
    return found


def test_every_registered_marketplace_is_checked() -> None:
    assert set(CONNECTORS) == set(Marketplace)
    assert "wait_task" in protocol_methods() and "aclose" in protocol_methods()


@pytest.mark.parametrize("cls", CONNECTORS.values(), ids=lambda cls: cls.__name__)
def test_connector_methods_match_the_protocol(cls: type[Any]) -> None:
    assert drift(cls) == []


def test_a_drifted_keyword_is_caught() -> None:
    class Drifted(OzonConnector):
        async def wait_task(self, task: TaskRef, *, timeout: float | None = None) -> TaskStatus:
            raise NotImplementedError

    assert [line.split("(")[0] for line in drift(Drifted)] == ["Drifted.wait_task"]
