"""Errors as `application/problem+json` (RFC 9457): every 4xx and 5xx, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("extractor.service")


class FieldProblem(BaseModel):
    field: str = Field(description="where, e.g. body.text or query.limit")
    message: str


class ProblemModel(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(default="about:blank", description="a URI naming the kind of problem")
    title: str
    status: int
    detail: str
    request_id: str | None = None
    errors: list[FieldProblem] | None = Field(
        default=None, description="each invalid field (422 only)"
    )


class Problem(Exception):
    """Raise anywhere in a route: becomes a problem+json response with `headers`."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        kind: str = "about:blank",
        headers: dict[str, str] | None = None,
        errors: list[FieldProblem] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.kind = kind
        self.headers = headers or {}
        self.errors = errors


def problem_response(request: Request | None, problem: Problem) -> JSONResponse:
    body = ProblemModel(
        type=problem.kind,
        title=problem.title,
        status=problem.status,
        detail=problem.detail,
        request_id=getattr(request.state, "request_id", None) if request else None,
        errors=problem.errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=MEDIA_TYPE,
        headers=problem.headers,
    )


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
    503: "Unavailable",
}


def title_for(status: int) -> str:
    return _TITLES.get(status, "Error")


def _field_problem(error: dict[str, Any]) -> FieldProblem:
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":  # loc is ("body", position)
        reason = error.get("ctx", {}).get("error", "")
        where = f" at character {loc[1]}" if len(loc) > 1 else ""
        return FieldProblem(field="body", message=f"not valid JSON ({reason}){where}")
    return FieldProblem(
        field=".".join(str(part) for part in loc) or "body", message=str(error.get("msg", ""))
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_field_problem(e) for e in exc.errors()]
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or "invalid request"
        return problem_response(request, Problem(422, title_for(422), detail, errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else title_for(exc.status_code)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route {request.url.path}; see /docs for the API"
        headers = dict(exc.headers or {})
        return problem_response(
            request, Problem(exc.status_code, title_for(exc.status_code), detail, headers=headers)
        )

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        request_id = getattr(request.state, "request_id", None)
        # the type only: a message or trace may carry a text, a key or a connection string
        log.error("internal error", extra={"error_type": type(exc).__name__})
        return problem_response(
            request,
            Problem(
                500,
                title_for(500),
                f"the server failed on this request; report request id {request_id}",
            ),
        )
