"""The API's frame: operations registered once give both the aiohttp routes and the OpenAPI 3.1 document;
every request is checked against the document before a handler sees it; every error is an RFC 9457
problem (application/problem+json) that says which field is wrong and why."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from aiohttp import web
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from admin_api.auth import Principal

log = logging.getLogger("admin_api")

PROBLEM = "application/problem+json"
PRINCIPAL = web.RequestKey("principal", Principal)  # set once the request is signed in
TYPE_BASE = "https://pbx.invalid/problems/"  # problem types are documented at /docs#problems

Handler = Callable[["Ctx"], Awaitable[web.StreamResponse]]


class Problem(Exception):
    """An error the client can act on. `errors`: [{"field": "body.login", "message": "…"}]."""

    def __init__(self, status: int, kind: str, title: str, detail: str = "",
                 errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or title)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}

    def response(self, instance: str) -> web.Response:
        body: dict[str, Any] = {"type": TYPE_BASE + self.kind, "title": self.title, "status": self.status,
                                "instance": instance}
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = self.errors
        return web.Response(status=self.status, text=json.dumps(body), content_type=PROBLEM, headers=self.headers)


def not_found(what: str) -> Problem:
    return Problem(404, "not-found", "Not found", f"{what} does not exist")


def forbidden(right: str) -> Problem:
    return Problem(403, "forbidden", "Forbidden", f"this needs the right {right!r}")


def encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(data, default=encode), content_type="application/json")


@dataclass
class Param:
    name: str
    where: str  # query | path
    schema: dict[str, Any]
    description: str = ""
    required: bool = False


@dataclass
class Operation:
    method: str
    path: str  # OpenAPI form: /voicemail/messages/{id}
    handler: Handler
    summary: str
    tag: str
    right: str | None  # None: public (sign-in, the document)
    params: list[Param] = field(default_factory=list)
    body: dict[str, Any] | None = None  # JSON schema of a JSON body
    body_media: str | None = None  # a raw body of another type (audio upload)
    responses: dict[int, dict[str, dict[str, Any] | None]] = field(default_factory=dict)  # status → media → schema
    op_id: str = ""


@dataclass
class Ctx:
    """What a handler gets: the request, the signed-in principal, checked inputs."""

    request: web.Request
    principal: Principal | None
    query: dict[str, Any]
    path: dict[str, str]
    body: Any

    @property
    def who(self) -> Principal:
        assert self.principal is not None
        return self.principal


def _field(error: ValidationError, root: str) -> str:
    parts = [root, *(str(p) for p in error.absolute_path)]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = next((name for name in error.validator_value if name not in error.instance), None)
        if missing is not None:
            parts.append(missing)
    return ".".join(parts)


def validator(schema: dict[str, Any], components: dict[str, Any]) -> Draft202012Validator:
    # references point into the document (#/components/schemas/…): validate inside a copy of that frame
    return Draft202012Validator({**schema, "components": {"schemas": components}})


def check(validator: Draft202012Validator, value: Any, root: str) -> list[dict[str, str]]:
    """Every way `value` breaks the validator's schema, as problem errors."""
    return [{"field": _field(e, root), "message": e.message}
            for e in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))]


def _coerce(raw: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw.lower(), raw)
    return raw


class Api:
    """The registry of operations."""

    def __init__(self, title: str, version: str, prefix: str) -> None:
        self.title = title
        self.version = version
        self.prefix = prefix
        self.operations: list[Operation] = []
        self.schemas: dict[str, Any] = {}

    def schema(self, name: str, schema: dict[str, Any]) -> dict[str, Any]:
        """Register a named schema; returns a reference to it."""
        self.schemas[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}

    def op(self, method: str, path: str, summary: str, *, tag: str, right: str | None,
           params: list[Param] | None = None, body: dict[str, Any] | None = None, body_media: str | None = None,
           responses: dict[int, Any] | None = None) -> Callable[[Handler], Handler]:
        """`responses`: status → (media type, schema), or status → {media type: schema} for several."""
        normal = {status: spec if isinstance(spec, dict) else {spec[0]: spec[1]}
                  for status, spec in (responses or {200: ("application/json", None)}).items()}

        def register(handler: Handler) -> Handler:
            if any(o.op_id == handler.__name__ for o in self.operations):  # the document's operationId
                raise ValueError(f"two operations are named {handler.__name__!r}")
            self.operations.append(Operation(method, path, handler, summary, tag, right, params or [], body,
                                             body_media, normal, handler.__name__))
            return handler
        return register

    # --- the document --------------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        paths: dict[str, Any] = {}
        problem_ref = {"$ref": "#/components/schemas/Problem"}
        for op in self.operations:
            entry: dict[str, Any] = {"operationId": op.op_id, "summary": op.summary, "tags": [op.tag]}
            if op.params:
                entry["parameters"] = [{"name": p.name, "in": p.where, "required": p.required or p.where == "path",
                                        "schema": p.schema, **({"description": p.description} if p.description
                                                               else {})} for p in op.params]
            if op.body is not None:
                entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
            elif op.body_media is not None:
                entry["requestBody"] = {"required": True, "content": {op.body_media: {
                    "schema": {"type": "string", "contentMediaType": op.body_media, "minLength": 1}}}}
            responses: dict[str, Any] = {}
            for status, media_types in op.responses.items():
                content = {media: {"schema": schema} if schema is not None else {}
                           for media, schema in media_types.items()}
                responses[str(status)] = {"description": _STATUS_TEXT.get(status, "OK"),
                                          **({"content": content} if status != 204 else {})}
            errors = [400, 422] if op.body is not None or op.params or op.body_media else []
            errors += [401, 403] if op.right is not None else []
            errors += [404] if "{" in op.path else []
            errors += [429] if op.op_id == "login" else []
            for status in errors:
                responses.setdefault(str(status), {"description": _STATUS_TEXT[status],
                                                   "content": {PROBLEM: {"schema": problem_ref}}})
            if op.right is not None:
                entry["security"] = [{"bearer": []}, {"session": []}]
            entry["responses"] = responses
            paths.setdefault(self.prefix + op.path, {})[op.method.lower()] = entry
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version,
                     "description": "The administration API of the PBX control plane. Errors are RFC 9457 "
                                    "problem details; lists page (20 rows by default), filter, sort and export as "
                                    "CSV or XLSX."},
            "servers": [{"url": "/"}],
            "paths": paths,
            "components": {
                "schemas": {**self.schemas, "Problem": PROBLEM_SCHEMA},
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "description": "pbx_<id>.<secret> from POST "
                               f"{self.prefix}/tokens"},
                    "session": {"type": "apiKey", "in": "cookie", "name": "pbx_session"},
                },
            },
        }

    # --- the routes ----------------------------------------------------------------------------

    def add_routes(self, app: web.Application, authenticate: Callable[[web.Request], Awaitable[Principal | None]],
                   validate_responses: bool = False) -> None:
        components = dict(self.schemas)
        for op in self.operations:
            app.router.add_route(op.method, self.prefix + op.path,
                                 self._wrap(op, authenticate, components, validate_responses))

    def _wrap(self, op: Operation, authenticate: Callable[[web.Request], Awaitable[Principal | None]],
              components: dict[str, Any],
              validate_responses: bool) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        # built once per operation, not per request
        params = [(p, validator(p.schema, components)) for p in op.params]
        body_validator = validator(op.body, components) if op.body is not None else None
        responses = {status: validator(schema, components) for status, media in op.responses.items()
                     if (schema := media.get("application/json")) is not None}

        async def handle(request: web.Request) -> web.StreamResponse:
            principal = None
            if op.right is not None:
                principal = await authenticate(request)
                if principal is None:
                    raise Problem(401, "unauthenticated", "Not signed in",
                                  "sign in (POST /api/v1/login) or send a bearer token",
                                  headers={"WWW-Authenticate": 'Bearer realm="pbx"'})
                if not principal.can(op.right):
                    raise forbidden(op.right)
                request[PRINCIPAL] = principal  # the app's middlewares see who acted
            errors: list[dict[str, str]] = []
            query: dict[str, Any] = {}
            path: dict[str, str] = dict(request.match_info)
            for p, param_validator in params:
                if p.where == "path":
                    errors += check(param_validator, path.get(p.name, ""), f"path.{p.name}")
                    continue
                raw = request.query.get(p.name)
                if raw is None:
                    if p.required:
                        errors.append({"field": f"query.{p.name}", "message": "is required"})
                    elif "default" in p.schema:
                        query[p.name] = p.schema["default"]
                    continue
                value = _coerce(raw, p.schema)
                problems = check(param_validator, value, f"query.{p.name}")
                errors += problems
                if not problems:
                    query[p.name] = value
            body: Any = None
            if body_validator is not None:
                try:
                    body = json.loads(await request.text() or "null")
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    raise Problem(400, "bad-json", "The body is not JSON", str(exc)) from None
                errors += check(body_validator, body, "body")
            elif op.body_media is not None:
                body = await request.read()
            if errors:
                raise Problem(422 if op.body is not None and not any(e["field"].startswith(("query", "path"))
                                                                     for e in errors) else 400,
                              "invalid", "The request is not valid", f"{len(errors)} problem(s)", errors)
            response = await op.handler(Ctx(request, principal, query, path, body))
            if validate_responses:
                _check_response(op, response, responses)
            return response
        return handle


def _check_response(op: Operation, response: web.StreamResponse,
                    validators: dict[int, Draft202012Validator]) -> None:
    """Tests run with this on: a handler's JSON that breaks its own document is a bug (500)."""
    expected = op.responses.get(response.status)
    if expected is None:
        raise RuntimeError(f"{op.op_id} answered {response.status}, which its document does not list")
    json_validator = validators.get(response.status)
    if (json_validator is None or not isinstance(response, web.Response)
            or response.content_type != "application/json" or response.text is None):
        return  # no schema, or an export (CSV, XLSX) or a file
    problems = check(json_validator, json.loads(response.text), "response")
    if problems:
        raise RuntimeError(f"{op.op_id} answered against its document: {problems[:3]}")


@web.middleware
async def problems_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                              ) -> web.StreamResponse:
    """Everything that goes wrong leaves as a problem: ours, aiohttp's (404, 405, 413) and bugs (500, logged)."""
    try:
        return await handler(request)
    except Problem as problem:
        return problem.response(request.path)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        kind = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}.get(exc.status, "http-error")
        keep = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")}
        return Problem(exc.status, kind, exc.reason, exc.text or "", headers=keep).response(request.path)
    except Exception:
        log.exception("admin API request failed", extra={"event": "api_error", "path": request.path,
                                                          "method": request.method})
        return Problem(500, "internal", "Internal error", "the error is logged").response(request.path)


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "required": ["field", "message"], "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}}}},
    },
}

_STATUS_TEXT = {200: "OK", 201: "Created", 204: "No content", 400: "Bad request (query or path)",
                401: "Not signed in", 403: "Not allowed", 404: "Not found", 409: "Conflict",
                422: "The body is not valid", 429: "Too many attempts"}
