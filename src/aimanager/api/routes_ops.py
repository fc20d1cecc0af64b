"""Review (cards and price moves waiting for approval), rollbacks, and pausing the job queue.

Review goes through ``pipelines/services/review.py`` exactly as ``aimanager review`` does: the
pending items matching the filters, a choice among them (named refs, a random sample, or all), and one
transaction that changes their status and queues the pushes. A partner caller's filters are always
its own partner, so a ref of another partner's item is "not waiting" — a 404, nothing leaks. Pauses
are the engine's (``jobs.pauses``): operator roles only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.api.auth import Principal, Scope, operator, require, scope
from aimanager.api.deps import Limit, PartnerFilter
from aimanager.api.errors import PROBLEM_RESPONSES, Conflict, NotFound, Unprocessable
from aimanager.api.schemas import (
    PauseChangeOut,
    PauseIn,
    PauseOut,
    ReviewCapability,
    ReviewDecisionIn,
    ReviewDecisionOut,
    ReviewItemOut,
    ReviewListOut,
    ReviewRejectIn,
    RollbackCardIn,
    RollbackOut,
    RollbackPriceIn,
)
from aimanager.api.state import AppState, get_state
from aimanager.domain.enums import Capability, Marketplace
from aimanager.jobs.pauses import InvalidPause
from aimanager.pipelines.services import review, rollback
from aimanager.pipelines.services.directory import find_partner

router = APIRouter(prefix="/v1", tags=["review and queue"], responses=PROBLEM_RESPONSES)
reviewer = require("admin", "staff", "partner")
CAPABILITIES = {"cards": Capability.CARDS, "prices": Capability.PRICING}
AUDITED_REFS = 200  # an audit row names at most this many items (an --all may decide thousands)


async def review_filters(
    session: AsyncSession,
    sc: Scope,
    partner: str | None,
    capability: str | None,
    marketplace: Marketplace | None,
) -> review.Filters:
    """The service's filters within the caller's scope (a partner: always its own partner)."""
    ids = await sc.narrow(session, partner)
    return review.Filters(
        partner_id=None if ids is None else next(iter(ids)),
        capability=CAPABILITIES[capability] if capability else None,
        marketplace=marketplace,
    )


def _item_out(item: review.ReviewItem) -> ReviewItemOut:
    return ReviewItemOut(
        ref=item.ref,
        capability=item.capability.value,
        partner_id=item.partner_id,
        partner=item.partner,
        marketplace=item.marketplace,
        sku=item.sku,
        summary=item.summary,
        diff=item.diff[:400],
    )


@router.get("/review", response_model=ReviewListOut)
async def review_queue(
    sc: Scope = Depends(scope),
    st: AppState = Depends(get_state),
    partner: str | None = PartnerFilter,
    capability: ReviewCapability | None = None,
    marketplace: Marketplace | None = None,
    limit: int = Limit,
) -> ReviewListOut:
    """Cards and price moves waiting for approval, oldest first, each with its diff against what is
    live (a card) or its move and reason (a price)."""
    async with st.sessions() as session:
        f = await review_filters(session, sc, partner, capability, marketplace)
        # A page (each kind limited in SQL) and an indexed count: the queue may hold thousands.
        items = await review.pending(session, f, limit=limit)
        total = await review.count_pending(session, f)
    return ReviewListOut(items=[_item_out(i) for i in items[:limit]], total=total)


def _choice(body: ReviewDecisionIn) -> None:
    given = sum((bool(body.refs), body.sample is not None, body.all))
    if given != 1:
        raise Unprocessable("name the items (refs), or a sample of N, or all — exactly one of them")


async def decide(
    request: Request,
    st: AppState,
    sc: Scope,
    body: ReviewDecisionIn,
    act: Any,
) -> ReviewDecisionOut:
    """Choose the items ``body`` names within the caller's scope and ``act`` on them in one
    transaction: ``act(session, chosen)`` returns the jobs queued."""
    _choice(body)
    async with st.sessions() as session, session.begin():
        f = await review_filters(session, sc, body.partner, body.capability, body.marketplace)
        request.state.partner_id = f.partner_id
        # Named refs: only those rows are read; a sample or "all" needs every id, never a diff.
        items = await review.pending(session, f, refs=body.refs or None, diffs=False)
        try:
            chosen = review.choose(items, body.refs, body.sample, body.all)
        except review.ReviewError as exc:  # not pending, or not the caller's: the same answer
            raise NotFound(str(exc)) from None
        try:
            jobs = await act(session, chosen)
        except review.ReviewError as exc:  # decided meanwhile by someone else
            raise Conflict(str(exc)) from None
    refs = [i.ref for i in chosen]
    request.state.audit_detail = {"items": refs[:AUDITED_REFS], "count": len(refs)}
    return ReviewDecisionOut(decided=refs, jobs_queued=jobs)


@router.post("/review/approve", response_model=ReviewDecisionOut)
async def approve(
    body: ReviewDecisionIn,
    request: Request,
    sc: Scope = Depends(scope),
    who: Principal = Depends(reviewer),
    st: AppState = Depends(get_state),
) -> ReviewDecisionOut:
    """Approve items: cards become ``validated`` and prices ``approved``, their pushes queued (a
    worker sends them) in the same transaction."""

    async def act(session: AsyncSession, chosen: list[review.ReviewItem]) -> int:
        return await review.approve(session, st.backend, chosen, who.actor)

    return await decide(request, st, sc, body, act)


@router.post("/review/reject", response_model=ReviewDecisionOut)
async def reject(
    body: ReviewRejectIn,
    request: Request,
    sc: Scope = Depends(scope),
    who: Principal = Depends(reviewer),
    st: AppState = Depends(get_state),
) -> ReviewDecisionOut:
    """Reject items with a reason: nothing is pushed; their tasks fail with the reason."""

    async def act(session: AsyncSession, chosen: list[review.ReviewItem]) -> int:
        await review.reject(session, chosen, body.reason.strip() or "rejected", who.actor)
        return 0

    return await decide(request, st, sc, body, act)


@router.post("/partners/{partner}/cards/rollback", response_model=RollbackOut)
async def rollback_card(
    partner: str,
    body: RollbackCardIn,
    request: Request,
    sc: Scope = Depends(scope),
    _: Principal = Depends(reviewer),
    st: AppState = Depends(get_state),
) -> RollbackOut:
    """Put the card that was live before (or version ``to_version``) back, as a new version, pushed
    by the normal job."""
    async with st.sessions() as session, session.begin():
        row = await sc.partner(session, partner)
        request.state.partner_id = row.id
        cv = await rollback.rollback_card(
            session, st.backend, row.id, body.sku, body.marketplace, body.to_version
        )
        out = RollbackOut(ref=f"c{cv.id}", summary=f"version {cv.version}: {cv.content.get('reason', '')}")
    request.state.audit_detail = {"sku": body.sku, "ref": out.ref}
    return out


@router.post("/partners/{partner}/prices/rollback", response_model=RollbackOut)
async def rollback_price(
    partner: str,
    body: RollbackPriceIn,
    request: Request,
    sc: Scope = Depends(scope),
    _: Principal = Depends(reviewer),
    st: AppState = Depends(get_state),
) -> RollbackOut:
    """Put the price before the last confirmed change (or the one change ``to_change`` set) back, as a
    new approved change, pushed by the normal job."""
    async with st.sessions() as session, session.begin():
        row = await sc.partner(session, partner)
        request.state.partner_id = row.id
        ch = await rollback.rollback_price(
            session, st.backend, row.id, body.sku, body.marketplace, body.to_change
        )
        out = RollbackOut(ref=f"p{ch.id}", summary=ch.reason)
    request.state.audit_detail = {"sku": body.sku, "ref": out.ref}
    return out


# -- queue pauses --------------------------------------------------------------------------------------
@router.get("/jobs/pauses", response_model=list[PauseOut], dependencies=[Depends(operator)])
async def pauses(st: AppState = Depends(get_state)) -> list[PauseOut]:
    """The job kinds and partners paused now."""
    found = await st.backend.list_pauses()
    slugs: dict[int, str] = {}
    async with st.sessions() as session:
        for p in found:
            if p.partner_id is not None:
                row = await find_partner(session, p.partner_id)
                slugs[p.partner_id] = row.slug if row is not None else str(p.partner_id)
    return [
        PauseOut(
            scope=p.scope,
            value=p.value,
            partner=slugs.get(p.partner_id) if p.partner_id is not None else None,
            reason=p.reason,
            paused_by=p.paused_by,
            paused_at=datetime.fromtimestamp(p.paused_at, UTC),
        )
        for p in found
    ]


async def _pause_target(
    request: Request, st: AppState, sc: Scope, body: PauseIn
) -> tuple[str | None, int | None]:
    if (body.kind is None) == (body.partner is None):
        raise Unprocessable("pause a kind or a partner: name exactly one")
    if body.partner is None:
        return body.kind, None
    async with st.sessions() as session:
        row = await sc.partner(session, body.partner)
    request.state.partner_id = row.id
    return None, row.id


@router.post("/jobs/pause", response_model=PauseChangeOut)
async def pause(
    body: PauseIn,
    request: Request,
    sc: Scope = Depends(scope),
    who: Principal = Depends(operator),
    st: AppState = Depends(get_state),
) -> PauseChangeOut:
    """Pause a job kind or a partner: workers pass over its queued jobs (running ones finish) until
    it is resumed; every worker process sees it within a second."""
    kind, pid = await _pause_target(request, st, sc, body)
    try:
        changed = await st.backend.pause(kind=kind, partner_id=pid, reason=body.reason, by=who.actor)
    except InvalidPause as exc:
        raise Unprocessable(str(exc)) from None
    request.state.audit_detail = {"kind": kind, "partner_id": pid}
    return PauseChangeOut(changed=changed)


@router.post("/jobs/resume", response_model=PauseChangeOut)
async def resume(
    body: PauseIn,
    request: Request,
    sc: Scope = Depends(scope),
    _: Principal = Depends(operator),
    st: AppState = Depends(get_state),
) -> PauseChangeOut:
    """Resume a paused job kind or partner: its queued jobs are claimed again."""
    kind, pid = await _pause_target(request, st, sc, body)
    try:
        changed = await st.backend.resume(kind=kind, partner_id=pid)
    except InvalidPause as exc:
        raise Unprocessable(str(exc)) from None
    request.state.audit_detail = {"kind": kind, "partner_id": pid}
    return PauseChangeOut(changed=changed)


__all__ = ["router"]
