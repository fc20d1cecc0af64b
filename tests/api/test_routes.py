"""What the main routes do: per-row catalog errors as a problem, cursor pages, card diffs, retry by
filter through run planning, spend by day, problem details on errors."""

from __future__ import annotations

from tests.api.conftest import Api


async def test_catalog_upload_reports_each_bad_row_in_the_problem(api: Api) -> None:
    csv = b"partner,sku,name,cost_price\nalpha,N-1,Kettle,1000\nalpha,N-2,,1000\nalpha,N-3,Cup,abc\n"
    r = await api.client.post("/v1/partners/alpha/catalog", headers=api.auth("alpha"),
                              files={"file": ("c.csv", csv, "text/csv")})  # fmt: skip
    body = r.json()
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", body
    assert {(e["row"], e["field"]) for e in body.get("errors", [])} == {(3, "name"), (4, "cost_price")}
    assert body["report"]["imported_rows"] == 1  # the good row went in
    good = {"file": ("c.csv", b"partner,sku,name\nalpha,N-4,Pot\n", "text/csv")}
    ok = await api.client.post("/v1/partners/alpha/catalog", headers=api.auth("alpha"), files=good)
    assert ok.status_code == 200 and ok.json()["imported_rows"] == 1


async def test_tasks_page_by_cursor_without_gaps_or_repeats(api: Api) -> None:
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.client.get("/v1/tasks", params=params, headers=api.auth("admin"))).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6
    bad = await api.client.get("/v1/tasks", params={"cursor": "nonsense"}, headers=api.auth("admin"))
    assert bad.status_code == 400 and bad.json()["title"] == "Bad request"


async def test_card_diff_and_history(api: Api) -> None:
    a, b = api.world.a.card_ids
    diff = (await api.client.get("/v1/cards/diff", params={"a": a, "b": b}, headers=api.auth("alpha"))).json()
    assert [f["field"] for f in diff["fields"]] == ["title"]
    assert diff["fields"][0]["new"] == "alpha Kettle 2 l steel"
    hist = (await api.client.get(f"/v1/cards/{b}/history", headers=api.auth("alpha"))).json()
    assert [c["version"] for c in hist] == [2, 1]
    pending = (
        await api.client.get("/v1/cards", params={"status": "pending_approval"}, headers=api.auth("alpha"))
    ).json()
    assert [c["id"] for c in pending["items"]] == [b]


async def test_retry_by_filter_queues_through_run_planning(api: Api) -> None:
    r = await api.client.post(
        "/v1/tasks/retry", json={"partner": "alpha", "status": "failed"}, headers=api.auth("staff")
    )
    assert r.status_code == 200, r.text
    assert r.json()["matched"] == 1
    r = await api.client.post("/v1/tasks/retry", json={"status": "done"}, headers=api.auth("staff"))
    assert r.status_code == 422  # done tasks are never retried by filter


async def test_spend_and_unauthenticated_problem(api: Api) -> None:
    rows = (await api.client.get("/v1/spend", params={"group": "partner"}, headers=api.auth("admin"))).json()
    assert {r["key"]: r["cost_usd"] for r in rows} == {
        str(api.world.a.id): "0.0123",
        str(api.world.b.id): "0.0123",
    }
    r = await api.client.get("/v1/partners")
    assert r.status_code == 401 and r.json()["status"] == 401 and r.headers["www-authenticate"] == "Bearer"
