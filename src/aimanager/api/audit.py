"""The audit log: one row for every write through the API or the console, whatever its outcome.

A plain ASGI middleware (not a dependency a route could forget): after a POST, PUT, PATCH or DELETE
has answered, it records who (the principal the auth dependency found, or ``anonymous``), what
(method and route template, the path parameters as the target, the answer's status), when, from
where (the client address) and whose data (the partner the request was scoped to, when known).
Request bodies are not recorded: they may hold credentials or passwords.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aimanager.api.tables import AuditEntry
from aimanager.logs import get_logger

log = get_logger("aimanager.api.audit")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AuditMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES:
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            await self._record(scope, status["code"])

    async def _record(self, scope: Scope, status: int) -> None:
        app = scope.get("app")
        st = getattr(getattr(app, "state", None), "aim", None)
        if st is None:
            return
        state: dict[str, Any] = scope.get("state") or {}
        who = state.get("principal")
        route = scope.get("route")
        template = getattr(route, "path", None) or scope.get("path", "")
        params = scope.get("path_params") or {}
        client = scope.get("client")
        entry = AuditEntry(
            actor=who.actor if who is not None else "anonymous",
            role=who.role if who is not None else "-",
            partner_id=state.get("partner_id"),
            action=f"{scope['method']} {template}"[:128],
            target=",".join(f"{k}={v}" for k, v in sorted(params.items()))[:255] or None,
            detail=state.get("audit_detail") or {},
            status=status,
            client=(client[0] if client else None),
        )
        try:
            async with st.sessions() as session, session.begin():
                session.add(entry)
        except Exception as exc:  # the answer is sent; a lost audit row must at least be loud
            log.error("api.audit_write_failed", action=entry.action, error=type(exc).__name__)
            return
        log.info("api.write", actor=entry.actor, action=entry.action, status=status, target=entry.target)
