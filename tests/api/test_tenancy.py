"""Tenant isolation over every route, generated from the app's OpenAPI schema (not a hand list).

For each operation: partner alpha's key aims it at partner beta — beta's slug or id in every partner
parameter (path, query or body), beta's object ids in every id parameter — and must get 403 or 404
and change nothing of beta's. Every list a partner may read is read unfiltered and must hold nothing
of beta's. Staff and admin answers never hold a secret (tokens, credentials, password hashes).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from aimanager.db.models import MarketplaceIntegration, Product, TaskRecord
from aimanager.jobs.backends.sql.tables import jobs_t
from tests.api.conftest import Api

WRITES = ("post", "put", "patch", "delete")


def operations(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    schema = api.app.openapi()
    out = []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method in ("get", *WRITES):
                out.append((path, method, op))
    assert len(out) > 25, "the schema lost its routes"
    return out


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in node:
        node = next(n for n in node["anyOf"] if n.get("type") != "null")
        return _resolve(schema, node)
    return node


def minimal(schema: dict[str, Any], node: dict[str, Any], name: str, api: Api) -> Any:
    """A smallest valid value for ``node``, aimed at partner beta where the field names a partner."""
    node = _resolve(schema, node)
    if name in ("partner",):
        return api.world.b.slug
    if name == "partners":
        return [api.world.b.slug]
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "object":
        props = node.get("properties", {})
        return {k: minimal(schema, props[k], k, api) for k in node.get("required", [])}
    if kind == "array":
        return [minimal(schema, node["items"], name, api)] if node.get("minItems") else []
    if kind in ("integer", "number"):
        return max(1, node.get("minimum", 1))
    if kind == "boolean":
        return False
    if name == "every":
        return "10m"
    return "x" * max(1, node.get("minLength", 1)) if node.get("format") != "binary" else "x"


def aim_at_beta(api: Api, path: str, op: dict[str, Any]) -> tuple[str, dict[str, Any], Any, bool]:
    """The path, query and body of ``op`` pointed at beta; whether anything in it names beta."""
    schema = api.app.openapi()
    b = api.world.b
    ids = {
        "partner": b.slug,
        "version_id": b.card_ids[0],
        "report_id": b.report_id,
        "a": b.card_ids[0],
        "b": b.card_ids[1],
        "marketplace": "uzum",
        "job_id": 1,
        "key_id": 1,
        "name": "p2:stock",
    }
    aimed = False
    query: dict[str, Any] = {}
    for param in op.get("parameters", []):
        value = ids.get(param["name"])
        if param["in"] == "path":
            path = path.replace("{" + param["name"] + "}", str(value if value is not None else 1))
            aimed |= param["name"] in ("partner", "version_id", "report_id")
        elif param["in"] == "query" and (param["name"] in ("partner", "a", "b") or param.get("required")):
            query[param["name"]] = (
                value if value is not None else minimal(schema, param["schema"], param["name"], api)
            )
            aimed |= param["name"] in ("partner", "a", "b")
    body = None
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = minimal(schema, content["application/json"]["schema"], "", api)
        aimed |= "beta" in json.dumps(body)
    return path, query, body, aimed


async def beta_state(api: Api) -> tuple[int, ...]:
    b = api.world.b.id
    async with api.app.state.aim.sessions() as s:
        counts = []
        for model in (TaskRecord, Product, MarketplaceIntegration):
            counts.append(
                (
                    await s.execute(select(func.count()).select_from(model).where(model.partner_id == b))
                ).scalar()
            )
        counts.append(
            (
                await s.execute(select(func.count()).select_from(jobs_t).where(jobs_t.c.partner_id == b))
            ).scalar()
        )
        active = (
            await s.execute(
                select(func.count())
                .select_from(MarketplaceIntegration)
                .where(MarketplaceIntegration.partner_id == b, MarketplaceIntegration.active.is_(True))
            )
        ).scalar()
    return (*counts, active)


def holds_beta(api: Api, data: Any) -> bool:
    b = api.world.b
    if isinstance(data, dict):
        if data.get("partner_id") == b.id or data.get("partner") == b.slug or data.get("slug") == b.slug:
            return True
        return any(holds_beta(api, v) for v in data.values())
    if isinstance(data, list):
        return any(holds_beta(api, v) for v in data)
    return False


async def test_a_partner_key_never_reaches_another_partner(api: Api) -> None:
    before = await beta_state(api)
    checked = 0
    for path, method, op in operations(api):
        url, query, body, aimed = aim_at_beta(api, path, op)
        if not aimed:
            continue
        kwargs: dict[str, Any] = {"params": query, "headers": api.auth("alpha")}
        if body is not None:
            kwargs["json"] = body
        if "multipart/form-data" in op.get("requestBody", {}).get("content", {}):
            kwargs["files"] = {"file": ("c.csv", b"partner,sku,name\nbeta,X-1,kettle\n", "text/csv")}
        r = await api.client.request(method.upper(), url, **kwargs)
        assert r.status_code in (403, 404), (
            f"{method.upper()} {url} {query} as alpha → {r.status_code}: {r.text[:300]}"
        )
        checked += 1
    assert checked >= 15, f"only {checked} operations name a partner or its objects"
    assert await beta_state(api) == before


async def test_a_partner_reads_only_its_own_in_every_list(api: Api) -> None:
    checked = 0
    for path, method, op in operations(api):
        if method != "get" or "{" in path or any(p.get("required") for p in op.get("parameters", [])):
            continue
        r = await api.client.get(path, headers=api.auth("alpha"))
        if r.status_code == 403:  # an operator-only route
            continue
        assert r.status_code == 200, f"GET {path} as alpha → {r.status_code}: {r.text[:300]}"
        assert not holds_beta(api, r.json()), f"GET {path} as alpha shows beta's data: {r.text[:300]}"
        assert "BETA-SKU" not in r.text
        checked += 1
    assert checked >= 6
    # and the same lists do show alpha's own data (the check above could not pass by showing nothing)
    r = await api.client.get("/v1/tasks", headers=api.auth("alpha"))
    assert {t["partner"] for t in r.json()["items"]} == {"alpha"}


async def test_a_partner_cannot_upload_rows_of_another_partner(api: Api) -> None:
    csv = b"partner,sku,name\nalpha,A-9,kettle\nbeta,B-9,kettle\n"
    r = await api.client.post(
        "/v1/partners/alpha/catalog", headers=api.auth("alpha"), files={"file": ("c.csv", csv, "text/csv")}
    )
    assert r.status_code == 403 and r.json()["rows"] == [3]
    async with api.app.state.aim.sessions() as s:
        skus = set((await s.execute(select(Product.sku))).scalars())
    assert not {"A-9", "B-9"} & skus


async def test_nobody_sees_secrets_and_staff_manage_no_keys(api: Api) -> None:
    a = api.world.a
    fill = {
        "partner": a.slug,
        "version_id": a.card_ids[0],
        "report_id": a.report_id,
        "a": a.card_ids[0],
        "b": a.card_ids[1],
        "job_id": 1,
    }
    seen = 0
    for who in ("staff", "admin", "alpha"):
        for path, method, op in operations(api):
            if method != "get":
                continue
            url = path
            params: dict[str, Any] = {}
            for p in op.get("parameters", []):
                if p["in"] == "path":
                    url = url.replace("{" + p["name"] + "}", str(fill.get(p["name"], 1)))
                elif p.get("required"):
                    params[p["name"]] = fill.get(p["name"], 1)
            r = await api.client.get(url, params=params, headers=api.auth(who))
            for secret in api.world.secrets:
                assert secret not in r.text, f"GET {url} as {who} shows a secret"
            seen += r.status_code == 200
    assert seen > 30
    for path in ("/v1/keys", "/v1/users", "/v1/audit"):
        assert (await api.client.get(path, headers=api.auth("staff"))).status_code == 403
    r = await api.client.post("/v1/keys", json={"name": "x", "role": "admin"}, headers=api.auth("staff"))
    assert r.status_code == 403
    r = await api.client.post(
        "/v1/partners/alpha/accounts",
        headers=api.auth("staff"),
        json={"marketplace": "uzum", "credentials": {"token": "t"}, "settings": {"shop_id": 1}},
    )
    assert r.status_code == 403


async def test_every_write_is_audited_with_who_and_where(api: Api) -> None:
    await api.client.post("/v1/partners", json={"slug": "gamma", "name": "Gamma"}, headers=api.auth("staff"))
    await api.client.post("/v1/partners", json={"slug": "delta", "name": "Delta"}, headers=api.auth("alpha"))
    r = await api.client.get("/v1/audit", headers=api.auth("admin"))
    rows = r.json()["items"]
    assert [(e["action"], e["role"], e["status"]) for e in rows[:2]] == [
        ("POST /v1/partners", "partner", 403),
        ("POST /v1/partners", "staff", 200),
    ]
    assert rows[1]["actor"].startswith("key:") and rows[1]["client"]
