"""RFC 9457 problem details: every error of the API as `application/problem+json`.

One shape for all of them — `type`, `title`, `status`, `detail`, `instance` — plus
`errors`, a list of `{pointer, detail}` naming each bad field as a JSON pointer into the
request body (`#/budget/amount`) or `{parameter, detail}` for a query or path parameter,
so a client can put the message next to the field. Messages are scrubbed of the database
URL's secrets before they leave (`adsgen.storage.database.scrub`).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from adsgen.exceptions import AdsgenError, ConflictError, DatabaseError, SpecError

__all__ = ["PROBLEM_TYPE", "FieldProblem", "Problem", "problem_response"]

PROBLEM_TYPE = "application/problem+json"

_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 413: "Content Too Large",
           415: "Unsupported Media Type", 422: "Unprocessable Content",
           500: "Internal Server Error", 503: "Service Unavailable"}


class FieldProblem(BaseModel):
    """One bad field: a JSON pointer into the body, or a parameter's name."""

    pointer: str | None = Field(default=None, examples=["#/budget/amount"])
    parameter: str | None = Field(default=None, examples=["limit"])
    detail: str


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)


def problem_response(
    request: Request, status: int, detail: str | None, *,
    errors: list[FieldProblem] | None = None, headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response for `request`, its detail scrubbed of the database's secrets."""
    from adsgen.storage.database import scrub

    url = getattr(request.app.state, "database_url", None)
    body = Problem(
        title=_TITLES.get(status, "Error"), status=status,
        detail=None if detail is None else scrub(detail, url),
        instance=request.url.path,
        errors=[e.model_copy(update={"detail": scrub(e.detail, url)}) for e in errors or []],
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status,
                        media_type=PROBLEM_TYPE, headers=headers)


def _pointer(loc: tuple[Any, ...]) -> FieldProblem | None:
    """Where a validation error is, from its location (`('body', 'budget', 'amount')`)."""
    if not loc:
        return None
    head, rest = loc[0], [str(p) for p in loc[1:] if not str(p).startswith("function-")]
    if head == "body":
        return FieldProblem(pointer="#/" + "/".join(rest), detail="")
    return FieldProblem(parameter=".".join(rest) or str(head), detail="")


async def validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for item in exc.errors():
        where = _pointer(tuple(item.get("loc", ())))
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        errors.append((where or FieldProblem(detail="")).model_copy(update={"detail": message}))
    first = errors[0] if errors else None
    summary = ("invalid request" if first is None else
               f"{first.pointer or first.parameter}: {first.detail}")
    more = f" [{len(errors) - 1} more problems]" if len(errors) > 1 else ""
    return problem_response(request, 422, summary + more, errors=errors)


async def http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:  # every method of the path, not only the first route's
        headers["Allow"] = ", ".join(sorted(_methods(request)))
    return problem_response(request, exc.status_code, str(exc.detail), headers=headers)


def _methods(request: Request) -> set[str]:
    """The methods the OpenAPI document lists for this request's path."""
    import re

    found: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            found |= {method.upper() for method in operations}
    return found


async def adsgen_handler(request: Request, exc: Exception) -> JSONResponse:
    """SpecError → 422 naming the field, ConflictError → 409, DatabaseError → 503, other
    user errors → 400."""
    if isinstance(exc, SpecError):
        field = exc.where.rpartition(": ")[2] if exc.where else ""
        errors = [FieldProblem(pointer="#/" + field.replace(".", "/"), detail=str(exc))] \
            if field and " " not in field else []
        return problem_response(request, 422, str(exc), errors=errors)
    if isinstance(exc, DatabaseError):
        return problem_response(request, 503, str(exc))
    if isinstance(exc, ConflictError):
        return problem_response(request, 409, str(exc))
    return problem_response(request, 400, str(exc))


async def database_handler(request: Request, exc: Exception) -> JSONResponse:
    """A database failure the code did not expect: 503, one scrubbed line, no traceback."""
    orig = getattr(exc, "orig", None) or exc
    first = " ".join(str(orig).split("(Background on")[0].split()) or type(orig).__name__
    return problem_response(request, 503, f"the database failed: {first}")


def install(app: Any) -> None:
    """Register the handlers on a FastAPI app."""
    from sqlalchemy.exc import SQLAlchemyError

    app.add_exception_handler(RequestValidationError, validation_handler)
    app.add_exception_handler(StarletteHTTPException, http_handler)
    app.add_exception_handler(AdsgenError, adsgen_handler)
    app.add_exception_handler(SQLAlchemyError, database_handler)
