"""Console pages: login, overview (with the queue's pauses), partners, one partner (accounts with
connect and rotate, tasks, catalog upload), the review queue with its buttons, alerts, AI spend with
a chart, reports. Each page reads through the services with the
viewer's scope; lists are keyset pages like the API's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from aimanager.alerts.store import list_alerts
from aimanager.api import pagination as pg
from aimanager.api.auth import SESSION_COOKIE, SESSION_TTL_S, sign_session, verify_password
from aimanager.api.console import charts
from aimanager.api.console.render import page, to_login, viewer
from aimanager.api.errors import ApiError
from aimanager.api.routes_ops import review_filters
from aimanager.api.routes_partners import import_out, import_upload
from aimanager.api.state import AppState, get_state
from aimanager.api.tables import User
from aimanager.domain.enums import Marketplace
from aimanager.pipelines.services import directory, overview, review, spend
from aimanager.pipelines.services.directory import find_partner
from aimanager.pipelines.services.task_queries import TaskFilter, list_tasks

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = 50
REVIEW_PAGE = 200  # items shown; the sample and "all" buttons act on every matching item
MARKETPLACES = [m.value for m in Marketplace]


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    return page(request, "login.html", None, title="login", error=False)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    login: str = Form(..., max_length=64),
    password: str = Form(..., max_length=256),
    st: AppState = Depends(get_state),
) -> Response:
    async with st.sessions() as session, session.begin():
        user = (await session.execute(select(User).where(User.login == login))).scalar_one_or_none()
        ok = user is not None and user.active and verify_password(user.password_hash, password)
        if ok and user is not None:
            user.last_login_at = datetime.now(UTC)
            request.state.audit_detail = {"login": login}
    if not ok or user is None:
        request.state.audit_detail = {"login": login, "failed": True}
        return page(request, "login.html", None, status=401, title="login", error=True)
    target = "/console/" if user.role != "partner" else "/console/partners"
    response = RedirectResponse(target + f"?lang={user.language}", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        sign_session(st.session_key, user.id),
        max_age=SESSION_TTL_S,
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/logout")
async def logout() -> Response:
    response = to_login()
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
async def overview_page(request: Request, st: AppState = Depends(get_state)) -> Response:
    who, sc = await viewer(request, st)
    if sc.partner_ids is not None:
        return RedirectResponse("/console/partners", status_code=303)
    # Before the session: on SQLite the engine has one connection, and the session would hold it.
    paused = await st.backend.list_pauses()
    async with st.sessions() as session:
        ov = await overview.overview(session, st.backend)
        pauses = []
        for p in paused:
            row = await find_partner(session, p.partner_id) if p.partner_id is not None else None
            pauses.append(
                {
                    "scope": p.scope,
                    "value": p.value,
                    "label": row.slug if row is not None else p.value,
                    "since": datetime.fromtimestamp(p.paused_at, UTC).strftime("%Y-%m-%d %H:%M"),
                    "paused_by": p.paused_by,
                    "reason": p.reason,
                }
            )
    return page(request, "overview.html", who, title="overview", nav="overview", ov=ov, pauses=pauses)


@router.get("/partners", response_class=HTMLResponse)
async def partners_page(
    request: Request, cursor: str | None = Query(None, max_length=512), st: AppState = Depends(get_state)
) -> Response:
    who, sc = await viewer(request, st)
    after = pg.decode(cursor, (int,))
    async with st.sessions() as session:
        rows = await directory.list_partners(
            session, sc.partner_ids, after_id=after[0] if after else None, limit=PAGE + 1
        )
        shown = rows[:PAGE]
        accounts: dict[int, list[Any]] = {}
        if shown:
            ids = {r.partner.id for r in shown}
            for row, _ in await directory.list_accounts(session, ids, limit=len(ids) * 4):
                accounts.setdefault(row.partner_id, []).append(directory.account_view(row))
    next_cursor = pg.encode(shown[-1].partner.id) if len(rows) > PAGE else None
    return page(
        request,
        "partners.html",
        who,
        title="partners",
        nav="partners",
        rows=shown,
        accounts=accounts,
        next_cursor=next_cursor,
    )


async def _partner_context(
    st: AppState, sc: Any, ref: str, status: str | None, cursor: str | None
) -> dict[str, Any]:
    after = pg.decode(cursor, (datetime, int))
    async with st.sessions() as session:
        partner = await sc.partner(session, ref)
        accounts = [
            directory.account_view(r) for r, _ in await directory.list_accounts(session, {partner.id})
        ]
        po = await overview.partner_overview(session, partner.id)
        f = TaskFilter(frozenset({partner.id}), status=status or None)
        tasks = await list_tasks(session, f, after=(after[0], after[1]) if after else None, limit=PAGE + 1)
    next_cursor = (
        pg.encode(tasks[PAGE - 1][0].updated_at, tasks[PAGE - 1][0].id) if len(tasks) > PAGE else None
    )
    return {
        "partner": partner,
        "accounts": accounts,
        "po": po,
        "tasks": tasks[:PAGE],
        "task_status": status,
        "next_cursor": next_cursor,
        "marketplaces": MARKETPLACES,
    }


@router.get("/partners/{partner}", response_class=HTMLResponse)
async def partner_page(
    request: Request,
    partner: str,
    status: str | None = Query(None, max_length=16),
    cursor: str | None = Query(None, max_length=512),
    st: AppState = Depends(get_state),
) -> Response:
    who, sc = await viewer(request, st)
    ctx = await _partner_context(st, sc, partner, status, cursor)
    return page(
        request, "partner.html", who, title=ctx["partner"].slug, nav="partners", can_upload=True, **ctx
    )


@router.post("/partners/{partner}/catalog", response_class=HTMLResponse)
async def partner_upload(
    request: Request,
    partner: str,
    file: UploadFile = File(...),
    check: str = Form(""),
    st: AppState = Depends(get_state),
) -> Response:
    """The console's catalog upload: the import result (and each rejected row) as an HTML fragment
    for the page's fetch() form, or the whole page for a plain form post."""
    who, sc = await viewer(request, st)
    async with st.sessions() as session:
        row = await sc.partner(session, partner)
    request.state.partner_id = row.id
    report, problem = None, None
    try:
        report = import_out(await import_upload(st, row.slug, file, bool(check)))
    except ApiError as exc:
        problem = exc.detail
    if request.headers.get("hx-request"):
        return page(request, "_import.html", who, report=report, import_error=problem)
    ctx = await _partner_context(st, sc, partner, None, None)
    return page(
        request,
        "partner.html",
        who,
        title=row.slug,
        nav="partners",
        can_upload=True,
        report=report,
        import_error=problem,
        **ctx,
    )


@router.get("/review", response_class=HTMLResponse)
async def review_page(
    request: Request,
    capability: str | None = Query(None, pattern="^(cards|prices)?$"),
    marketplace: str | None = Query(None, max_length=16),
    partner: str | None = Query(None, max_length=64),
    st: AppState = Depends(get_state),
) -> Response:
    """Cards and price moves waiting for approval with their diffs; the buttons post to the API's
    ``/v1/review/approve|reject`` (named items, a sample, or all matching these filters)."""
    who, sc = await viewer(request, st)
    market = Marketplace(marketplace) if marketplace in MARKETPLACES else None
    filters = {
        "capability": capability or None,
        "marketplace": market.value if market else None,
        "partner": (partner or None) if sc.partner_ids is None else None,
    }
    async with st.sessions() as session:
        f = await review_filters(session, sc, filters["partner"], filters["capability"], market)
        items = await review.pending(session, f, limit=REVIEW_PAGE)
        total = await review.count_pending(session, f)
    return page(
        request,
        "review.html",
        who,
        title="review",
        nav="review",
        items=items[:REVIEW_PAGE],
        total=total,
        filters=filters,
        marketplaces=MARKETPLACES,
    )


@router.get("/alerts", response_class=HTMLResponse)
async def alerts_page(request: Request, st: AppState = Depends(get_state)) -> Response:
    who, sc = await viewer(request, st)
    pid = next(iter(sc.partner_ids)) if sc.partner_ids else None
    async with st.sessions() as session:
        found = await list_alerts(session, partner_id=pid, status="active", limit=200)
    return page(request, "alerts.html", who, title="alerts", nav="alerts", alerts=found)


@router.get("/spend", response_class=HTMLResponse)
async def spend_page(request: Request, st: AppState = Depends(get_state)) -> Response:
    who, sc = await viewer(request, st)
    now = datetime.now(UTC)
    since = spend.day_start((now - timedelta(days=29)).date())
    async with st.sessions() as session:
        days = await spend.spend(session, sc.partner_ids, group="day", since=since, until=now)
        groups = [
            (title, (await spend.spend(session, sc.partner_ids, group=g, since=since, until=now))[:20])
            for title, g in (("by_partner", "partner"), ("by_model", "model"), ("by_task", "task_kind"))
        ]
        listed = await directory.list_partners(session, sc.partner_ids, limit=PAGE)
        budgets = await spend.budgets(session, [r.partner.id for r in listed], now)
    labels = {str(r.partner.id): r.partner.slug for r in listed}
    chart = charts.column_chart([(r.key, r.cost_usd) for r in days])
    return page(
        request,
        "spend.html",
        who,
        title="spend",
        nav="spend",
        chart=chart,
        groups=groups,
        budgets=budgets,
        labels=labels,
    )


@router.get("/reports", response_class=HTMLResponse)
async def reports_page(
    request: Request, cursor: str | None = Query(None, max_length=512), st: AppState = Depends(get_state)
) -> Response:
    who, sc = await viewer(request, st)
    after = pg.decode(cursor, (int,))
    async with st.sessions() as session:
        rows = await directory.list_reports(
            session, sc.partner_ids, after_id=after[0] if after else None, limit=PAGE + 1
        )
    next_cursor = pg.encode(rows[PAGE - 1].id) if len(rows) > PAGE else None
    return page(
        request,
        "reports.html",
        who,
        title="reports",
        nav="reports",
        reports=rows[:PAGE],
        next_cursor=next_cursor,
    )


__all__ = ["router"]
