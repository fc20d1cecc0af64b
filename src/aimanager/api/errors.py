"""The API's errors and their one shape on the wire: RFC 9457 problem details.

Every error answer is ``application/problem+json`` with ``type``, ``title``, ``status``, ``detail``
and ``instance``; a catalog upload's rejected rows ride along as the ``errors`` extension member. The
exceptions are a subtree of ``AIManagerError`` (``ApiError``); product errors raised by the services
(a bad account, an unknown partner) map to 4xx here, anything else is a 500 whose body says nothing
about the internals (the log has it, by its request id).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from aimanager.errors import AIManagerError, ConfigError
from aimanager.logs import get_logger

log = get_logger("aimanager.api")
PROBLEM = "application/problem+json"
TYPE_BASE = "https://aimanager.invalid/problems/"


class Problem(BaseModel):
    """RFC 9457 problem details (extension members such as ``errors`` ride along)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str


# Every route documents its error answers, so a client (and the schema fuzzer) knows them all.
_PROBLEM_CONTENT = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": text, "content": _PROBLEM_CONTENT}
    for status, text in (
        (400, "Bad request"),
        (401, "Authentication required"),
        (403, "Not allowed for this role"),
        (404, "Not found, or not the caller's"),
        (409, "Refused by the product"),
        (422, "Invalid input"),
        (501, "Not supported"),
    )
}


class ApiError(AIManagerError):
    """Branch for the HTTP face; each leaf has its status and a stable problem type."""

    status = 400
    kind = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class Unauthorized(ApiError):
    status, kind, title = 401, "unauthorized", "Authentication required"


class Forbidden(ApiError):
    status, kind, title = 403, "forbidden", "Not allowed for this role"


class NotFound(ApiError):
    status, kind, title = 404, "not-found", "Not found"


class Conflict(ApiError):
    status, kind, title = 409, "conflict", "Conflict"


class Unprocessable(ApiError):
    status, kind, title = 422, "unprocessable", "Request not processable"


class Unsupported(ApiError):
    status, kind, title = 501, "not-supported", "Not supported by this installation"


def problem(
    request: Request, status: int, kind: str, title: str, detail: str, **extensions: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update(extensions)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    """Register the problem-details handlers on ``app``."""

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return problem(request, exc.status, exc.kind, exc.title, exc.detail, **exc.extensions)

    @app.exception_handler(ConfigError)
    async def _config(request: Request, exc: ConfigError) -> JSONResponse:
        # A service refused the input (a bad account field, an unknown partner): the caller's to fix.
        return problem(request, 422, "invalid-input", "Invalid input", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in exc.errors()
        ]
        return problem(
            request,
            422,
            "validation",
            "Request not valid",
            "the request does not match the schema",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized"}.get(exc.status_code, "http")
        return problem(request, exc.status_code, kind, str(exc.detail), str(exc.detail))

    @app.exception_handler(AIManagerError)
    async def _product(request: Request, exc: AIManagerError) -> JSONResponse:
        ref = uuid.uuid4().hex[:12]
        log.warning("api.product_error", ref=ref, path=request.url.path, error=str(exc)[:500])
        return problem(request, 409, "refused", "The product refused the request", str(exc), ref=ref)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        ref = uuid.uuid4().hex[:12]
        log.error("api.unhandled", ref=ref, path=request.url.path, error=type(exc).__name__)
        return problem(request, 500, "internal", "Internal error", f"see the server log, ref {ref}", ref=ref)
