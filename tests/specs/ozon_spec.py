"""Ozon routes as the vendor publishes them, read from ``ozon-sdk``.

``ozon-sdk`` is generated from Ozon's Swagger file (docs.ozon.ru/api/seller): one ``msgspec`` Struct per
method (``__path__``, ``__http_method__``, ``__body_fields__``; its fields are the request body) and
one per answer (``__returns__``). Schemas come from those Structs with ``msgspec.json.schema``; nothing
is typed in by hand except the error body, ``rpcStatus`` (``{code, message, details}``), which the
Swagger file declares for every method's ``default`` answer and the package does not model.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from importlib.metadata import version
from typing import Any

import msgspec

from tests.specs.schema import RouteSpec, strict

SOURCE = "ozon-sdk (msgspec models generated from Ozon's Seller API swagger)"
MODULES = ("basic", "premium", "beta")

RPC_STATUS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string"},
        "details": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"typeUrl": {"type": "string"}, "value": {"type": "string"}},
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}


def _request_schema(method: type) -> dict[str, Any] | None:
    body_fields: dict[str, str] = getattr(method, "__body_fields__", {}) or {}
    if not body_fields:
        return None
    _, components = msgspec.json.schema_components([method], ref_template="#/$defs/{name}")
    own = components[method.__name__]
    wanted = set(body_fields.values())
    own["properties"] = {k: v for k, v in own.get("properties", {}).items() if k in wanted}
    own["required"] = [k for k in own.get("required", []) if k in wanted]
    return strict({**own, "$defs": components})


def _response_schema(model: type | None) -> dict[str, Any] | None:
    if model is None:
        return None
    return strict(msgspec.json.schema(model))


@functools.cache
def routes() -> dict[tuple[str, str], RouteSpec]:
    """``(METHOD, path)`` → the published request and response schemas of every Seller API method."""
    table: dict[tuple[str, str], RouteSpec] = {}
    for name in MODULES:
        module = importlib.import_module(f"ozon_sdk.seller_api.{name}.methods")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            path = cls.__dict__.get("__path__")
            method = cls.__dict__.get("__http_method__")
            if not isinstance(path, str) or not isinstance(method, str):
                continue
            returns = cls.__dict__.get("__returns__")
            table[(method, path)] = RouteSpec(
                source=f"{SOURCE} {version('ozon-sdk')}, {cls.__name__}",
                request=lambda cls=cls: _request_schema(cls),
                responses={
                    "200": lambda returns=returns: _response_schema(returns),
                    "default": lambda: dict(RPC_STATUS),
                },
                response_types={"200": getattr(returns, "__name__", None), "default": "rpcStatus"},
            )
    return table
