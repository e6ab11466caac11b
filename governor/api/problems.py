"""One place where every error becomes an RFC 9457 problem response, never a stack trace."""
from __future__ import annotations

import logging

from flask import Flask, Response, json
from pydantic import ValidationError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from governor.errors import (
    PROBLEM_BASE,
    RETRY_AFTER_SECONDS,
    InvalidRequest,
    MalformedRequest,
    Problem,
    TooManyRequests,
    Unavailable,
)
from governor.store.database import DatabaseUnavailable

log = logging.getLogger("governor.api")


def problem_response(body: dict, status: int, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/problem+json", headers=headers)


def validation_problem(e: ValidationError) -> Problem:
    errors = [{"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": err["msg"]}
              for err in e.errors(include_url=False, include_input=False)]
    if any(err["type"] == "json_invalid" for err in e.errors()):
        return MalformedRequest("the body must be a JSON object")
    where = errors[0]["field"] if errors else "(body)"
    return InvalidRequest(f"{where}: {errors[0]['message']}" if errors else "invalid request", errors=errors)


def register(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(e: Problem):
        # A 401 must say which scheme to use (RFC 9110 section 11.6.1, RFC 6750 section 3).
        headers = {"WWW-Authenticate": 'Bearer realm="governor"'} if e.status == 401 else None
        if isinstance(e, TooManyRequests):
            headers = {"Retry-After": str(e.retry_after)}
        return problem_response(e.body(), e.status, headers)

    @app.errorhandler(ValidationError)
    def _validation(e: ValidationError):
        p = validation_problem(e)
        return problem_response(p.body(), p.status)

    @app.errorhandler(DatabaseUnavailable)
    def _unavailable(e: DatabaseUnavailable):
        log.warning("database unavailable: %s", e)
        p = Unavailable("the database cannot be reached; retry shortly")
        return problem_response(p.body(), p.status, {"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.errorhandler(DataError)
    def _data(e: DataError):  # a value the database refuses (a backstop: validation should catch it)
        log.warning("database refused a value: %s", type(e.orig).__name__)
        p = InvalidRequest("a value in the request cannot be stored")
        return problem_response(p.body(), p.status)

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        slug = (e.name or "error").lower().replace(" ", "-")
        body = {"type": PROBLEM_BASE + slug, "title": e.name, "status": e.code, "detail": e.description}
        headers = {"Allow": ", ".join(e.valid_methods)} if getattr(e, "valid_methods", None) else None
        return problem_response(body, e.code or 500, headers)

    @app.errorhandler(Exception)
    def _bug(e: Exception):  # a bug: logged with its trace, answered without it
        log.exception("unhandled error")
        body = {"type": PROBLEM_BASE + "internal-error", "title": "Internal error", "status": 500,
                "detail": "an unexpected error occurred; it has been logged"}
        return problem_response(body, 500)
