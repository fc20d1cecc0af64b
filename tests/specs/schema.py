"""Holding recorded HTTP exchanges to a vendor's published schemas.

A ``RouteSpec`` is one operation of a vendor spec: a request-body schema and a schema per response
status, built lazily from models generated from the vendor's OpenAPI/Swagger file (see ``wb_spec``,
``ozon_spec``, ``ym_spec``). ``strict`` turns such a schema into one that refuses every field the
spec does not name (``additionalProperties: false`` on each object), so a misnamed field — the sandbox
and the connector agreeing on ``supplierArticle`` where the spec says ``vendorCode`` — fails instead of
passing as "an extra field". ``Recorder`` is an httpx transport that keeps every request and answer a
connector exchanged with a sandbox; ``check`` validates each against its route.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from jsonschema import Draft202012Validator

SchemaFn = Callable[[], dict[str, Any] | None]


@dataclass
class RouteSpec:
    """One published operation: where it comes from, its request schema and its answers by status."""

    source: str
    request: SchemaFn
    responses: dict[str, SchemaFn]
    response_types: dict[str, str | None] = field(default_factory=dict)

    def response(self, status: int) -> SchemaFn | None:
        return self.responses.get(str(status)) or self.responses.get("default")


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with ``additionalProperties: false`` on every object that lists its properties and
    does not say otherwise (generated models that allow extras carry an ``additional_properties``
    field or a ``True``)."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict) and ("one_of_schemas" in props or "any_of_schemas" in props):
                # openapi-generator's oneOf/anyOf wrapper: the document is one of ``actual_instance``'s
                # alternatives, not an object with these bookkeeping fields.
                choices = [c for c in props["actual_instance"].get("anyOf", []) if c != {"type": "null"}]
                defs = node.get("$defs")
                node.clear()
                node["anyOf"] = choices
                if defs is not None:
                    node["$defs"] = defs
                props = None
            if isinstance(props, dict) and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def problems(schema: dict[str, Any], instance: Any) -> list[str]:
    """Every way ``instance`` breaks ``schema``, one line each (``path: message``)."""
    validator = Draft202012Validator(schema)
    out: list[str] = []
    seen: set[tuple[str, str]] = set()
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
        # List positions become ``*`` and each (place, rule) is told once: one line per kind of
        # problem, not one per row of a report.
        where = "/".join("*" if isinstance(p, int) else str(p) for p in error.absolute_path) or "(root)"
        if (where, str(error.validator)) in seen and error.validator != "additionalProperties":
            continue
        seen.add((where, str(error.validator)))
        line = f"{where}: {error.message[:300]}"
        if line not in out:
            out.append(line)
    return out


def template_regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


@dataclass
class Exchange:
    """One request a connector sent and the answer it got."""

    method: str
    path: str
    query: dict[str, str]
    request_body: Any
    status: int
    response_body: Any

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status}"


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


class Recorder(httpx.AsyncBaseTransport):
    """An httpx transport that sends through a real one and keeps every exchange."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        self.exchanges.append(
            Exchange(
                method=request.method,
                path=request.url.path,
                query=dict(request.url.params),
                request_body=_decode(body),
                status=response.status_code,
                response_body=_decode(content),
            )
        )
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Verdict:
    """What checking a set of exchanges found."""

    checked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    routes: set[tuple[str, str]] = field(default_factory=set)


def match(
    routes: dict[tuple[str, str], RouteSpec], method: str, path: str, prefix: str = ""
) -> tuple[tuple[str, str], RouteSpec] | None:
    """The route whose template matches ``path`` (exact templates beat ``{param}`` ones)."""
    candidates = []
    for (m, template), spec in routes.items():
        if m == method and template_regex(prefix + template).match(path):
            candidates.append((template.count("{"), (m, template), spec))
    if not candidates:
        return None
    _, key, spec = min(candidates, key=lambda c: c[0])
    return key, spec


def check(
    exchanges: Iterable[Exchange],
    routes: dict[tuple[str, str], RouteSpec],
    *,
    prefix: str = "",
    skip: Callable[[Exchange], bool] = lambda e: False,
    requests: bool = True,
) -> Verdict:
    """Validate each exchange's request body (unless ``requests`` is false: a test's deliberately
    malformed probes) and answer against its published route."""
    verdict = Verdict()
    for ex in exchanges:
        if skip(ex):
            continue
        found = match(routes, ex.method, ex.path, prefix)
        if found is None:
            verdict.failures.append(f"{ex}: no such route in the published spec")
            continue
        key, spec = found
        verdict.routes.add(key)
        if requests and ex.request_body is not None:
            schema = spec.request()
            if schema is None:
                verdict.failures.append(f"{ex}: the spec takes no request body")
            else:
                verdict.failures += [f"{ex} request {p}" for p in problems(schema, ex.request_body)]
        answer = spec.response(ex.status)
        if answer is None:
            verdict.failures.append(f"{ex}: status {ex.status} is not a documented answer")
        else:
            schema = answer()
            if schema is None:
                if ex.response_body not in (None, ""):
                    verdict.failures.append(f"{ex}: the spec documents no body for {ex.status}")
            else:
                verdict.failures += [f"{ex} answer {p}" for p in problems(schema, ex.response_body)]
        verdict.checked.append(str(ex))
    return verdict


def connector_paths(*modules: Any) -> set[str]:
    """Every API path literal in the source of ``modules`` (f-string fields become ``{…}``): the routes
    a connector can call, found the way a reader greps for them."""
    import ast
    import inspect

    found: set[str] = set()
    for module in modules:
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            text: str | None = None
            if isinstance(node, ast.JoinedStr):
                parts = [
                    v.value if isinstance(v, ast.Constant) else "{x}"
                    for v in node.values
                    if isinstance(v, ast.Constant | ast.FormattedValue)
                ]
                text = "".join(str(p) for p in parts)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            if (
                text
                and re.fullmatch(r"/(v\d|api|content)[A-Za-z0-9/_{}.-]*[^/]", text)
                and text.count("/") > 1
            ):
                found.add(text)
    return found


def uncovered(paths: set[str], exchanges: Iterable[Exchange]) -> set[str]:
    """The connector paths no recorded exchange went to."""
    seen = [e.path for e in exchanges]
    return {p for p in paths if not any(template_regex(p.replace("{x}", "{p}")).match(s) for s in seen)}
