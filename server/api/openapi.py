"""One source of truth for the JSON API: schemas that both describe (OpenAPI 3.1) and validate.

Views declare their contract with :func:`operation`; request bodies are checked with :func:`body`, which uses
``jsonschema`` (Draft 2020-12, the dialect of OpenAPI 3.1) against exactly the schema published at
``GET /api/v1/openapi.json``. A schema violation is a 400 problem with one error per field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

from flask import Blueprint
from flask import Flask
from flask import current_app
from flask import request
from jsonschema import Draft202012Validator
from jsonschema import FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from server.auth.access import access_rule
from server.auth.access import public
from server.auth.access import token_scheme
from server.errors import ApiProblem
from server.errors import bad_request
from server.errors import field_error

#: Component schemas by name; reference them with :func:`ref`.
SCHEMAS: dict[str, dict] = {}
_OPERATION_ATTR = "_openapi_operation"
_PROBLEM = {"$ref": "#/components/schemas/Problem"}

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")


def schema(name: str, definition: dict) -> dict:
    """Register a component schema and return a reference to it."""
    SCHEMAS[name] = definition
    return ref(name)


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


schema("Problem", {
    "type": "object",
    "description": "RFC 9457 problem details; title, detail and messages are in the user's language.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "examples": ["urn:motcua:problem:invalid-transition"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "code", "message"],
            "properties": {"field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"},
                           "vi": {"type": "string"}, "en": {"type": "string"}},
        }},
        "photos_to_send": {"type": "array", "items": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                           "description": "a refused dossier's photos the server cannot use yet (not uploaded, or "
                                          "not in its file store): upload them again, then send the dossier again"},
    },
})


def operation(
    summary: str,
    *,
    tags: list[str],
    request_body: dict | None = None,
    responses: dict[int, dict | None] | None = None,
    parameters: list[dict] | None = None,
) -> Callable[[Callable], Callable]:
    """Describe a view: its summary, request body schema and responses (status → schema, None for no body)."""

    def decorate(view: Callable) -> Callable:
        setattr(view, _OPERATION_ATTR, {
            "summary": summary, "tags": tags, "request_body": request_body,
            "responses": responses or {200: None}, "parameters": parameters or [],
        })
        return view

    return decorate


_BASE = "urn:motcua:api"

_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_datetime(value: str, check_range: bool = True) -> datetime:
    """An RFC 3339 date-time (lower-case ``t``/``z`` allowed) as an aware datetime.

    :raises ValueError: not RFC 3339, not a real moment, or too close to year 1/9999 to be expressed in UTC and in
        the office's time zone.
    """
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError("not an RFC 3339 date-time")
    fraction = (match.group(7) or "")[:7].ljust(7, "0") if match.group(7) else ""
    offset = "+00:00" if match.group(8) in ("Z", "z") else match.group(8)
    text = "{}-{}-{}T{}:{}:{}{}{}".format(*match.groups()[:6], fraction, offset)
    try:
        moment = datetime.fromisoformat(text)
        if not check_range:
            return moment
        moment.astimezone(UTC)
        (moment.astimezone(UTC) + timedelta(days=1)).astimezone(timezone(timedelta(hours=14)))
        (moment.astimezone(UTC) - timedelta(days=1)).astimezone(timezone(timedelta(hours=-14)))
    except OverflowError:
        raise ValueError("date-time out of range") from None
    return moment


def parse_date(value: str) -> date:
    """A calendar date ``YYYY-MM-DD``. :raises ValueError: when it is not one."""
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError("not a YYYY-MM-DD date")
    return date.fromisoformat(value)


#: Format checking with the main dependencies only (jsonschema's own date-time check needs rfc3339-validator,
#: which only the test extras install: without it "date-time" would silently not be checked).
FORMATS = FormatChecker(formats=())
# The format is syntax only (what the document can promise); a real moment too close to year 1 or 9999 to compute
# with is the view's 422 on its field, so that a schema-valid body is never refused as malformed.
FORMATS.checks("date-time", raises=ValueError)(
    lambda v: not isinstance(v, str) or bool(parse_datetime(v, check_range=False)))
FORMATS.checks("date", raises=ValueError)(lambda v: not isinstance(v, str) or bool(parse_date(v)))


def validate(instance: Any, definition: dict) -> list[dict]:
    """Field errors of ``instance`` against ``definition`` (empty when valid)."""
    registry = Registry().with_resource(_BASE, DRAFT202012.create_resource({"components": {"schemas": SCHEMAS}}))
    validator = Draft202012Validator(
        _absolute(definition), registry=registry, format_checker=FORMATS
    )
    errors = []
    leaves = [leaf for error in validator.iter_errors(instance) for leaf in _leaf_errors(error)]
    for error in sorted(leaves, key=lambda e: [str(p) for p in e.absolute_path]):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = re.search(r"'([^']+)' is a required property", error.message)
            path = ".".join(filter(None, [path, missing.group(1) if missing else ""]))
            errors.append(field_error(path, "required", "Thiếu trường bắt buộc.", "This field is required."))
        elif error.validator == "additionalProperties":
            message = _excerpt(error.message)
            errors.append(field_error(path or "$", "unknown_field", "Có trường không được hỗ trợ: " + message,
                                      "Unsupported field: " + message))
        else:
            message = _excerpt(error.message)
            errors.append(field_error(path or "$", error.validator, "Giá trị không hợp lệ: " + message,
                                      "Invalid value: " + message))
        if len(errors) >= MAX_FIELD_ERRORS:
            break
    return errors


#: An error quotes at most this much of what was sent (jsonschema's messages repeat the value), and a refusal
#: lists at most this many field errors: a large body never comes back as a larger answer.
MAX_ERROR_EXCERPT = 120
MAX_FIELD_ERRORS = 50


def _excerpt(message: str) -> str:
    return message if len(message) <= MAX_ERROR_EXCERPT else message[:MAX_ERROR_EXCERPT] + "…"


def _depth(data: Any) -> int:
    """How deeply arrays and objects nest in a parsed body (iterative: no recursion on hostile input)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def _leaf_errors(error):
    """For a ``oneOf``/``anyOf`` failure, the errors of the branch the instance came closest to (the deepest)."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        branches: dict = {}
        for sub in error.context:
            branches.setdefault(sub.schema_path[0], []).append(sub)
        closest = max(branches.values(), key=lambda errs: max(len(e.absolute_path) for e in errs))
        for sub in closest:
            yield from _leaf_errors(sub)
    else:
        yield error


def _absolute(definition: dict) -> Any:
    """Rewrite local ``#/components/...`` references so they resolve inside the registry document."""
    if isinstance(definition, dict):
        return {k: (_BASE + v if k == "$ref" and v.startswith("#/") else _absolute(v))
                for k, v in definition.items()}
    if isinstance(definition, list):
        return [_absolute(v) for v in definition]
    return definition


def body(definition: dict | None = None) -> dict:
    """The request's JSON body, validated against ``definition`` (default: the current view's declared request
    schema; a view that accepts one of several shapes picks the one to check against, for clearer errors).

    :raises ApiProblem: 413 when the body is larger than ``MAX_JSON_BYTES`` (checked before it is read), 400 when
        it is not JSON, nests deeper than ``MAX_JSON_DEPTH`` or does not match.
    """
    if definition is None:
        definition = getattr(current_app.view_functions[request.endpoint], _OPERATION_ATTR)["request_body"]
    limit = current_app.config["MAX_JSON_BYTES"]
    too_large = ApiProblem(413, "too-large", ("Nội dung quá lớn", "Payload too large"),
                           (f"Nội dung JSON tối đa {limit // 1000} KB.", f"A JSON body is at most {limit // 1000} KB."))
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    raw = request.get_data(cache=True)  # cached: a view may read it again (the sync API hashes it)
    if len(raw) > limit:
        raise too_large
    data = None
    if raw.strip():
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise bad_request("Nội dung phải là JSON.", "The body must be JSON.") from None
        if _depth(data) > current_app.config["MAX_JSON_DEPTH"]:
            depth = current_app.config["MAX_JSON_DEPTH"]
            raise bad_request(f"Nội dung JSON lồng quá {depth} cấp.",
                              f"The JSON body nests deeper than {depth} levels.")
    if data is None:
        data = {}
    errors = validate(data, definition)
    if errors:
        raise bad_request("Dữ liệu gửi lên chưa đúng.", "The submitted data is invalid.", errors)
    return data


_PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
#: What Werkzeug's URL converters accept (anything else is a 404 before the view runs).
_CONVERTER_SCHEMAS = {
    # unsigned and within the database's integer (server/__init__.py _DatabaseInt): a larger id is a 404
    "int": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},  # unsigned: "-1" does not match the route
    "uuid": {"type": "string", "format": "uuid"},
}


def build_spec(app: Flask) -> dict:
    """The OpenAPI 3.1 document of every documented /api/ route."""
    paths: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        meta = getattr(view, _OPERATION_ATTR, None)
        if meta is None or not rule.rule.startswith("/api/"):
            continue
        path = _PATH_PARAM.sub(lambda m: "{" + m.group(2) + "}", rule.rule)
        declared = {p["name"] for p in meta["parameters"]}
        parameters = [
            {"name": name, "in": "path", "required": True,
             "schema": _CONVERTER_SCHEMAS.get(converter, {"type": "string"})}
            for converter, name in _PATH_PARAM.findall(rule.rule) if name not in declared
        ] + meta["parameters"]
        rule_access = access_rule(view)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {
                "operationId": rule.endpoint.replace(".", "_") + ("" if len(rule.methods) <= 3 else "_" + method),
                "summary": meta["summary"],
                "tags": meta["tags"],
                "responses": {},
            }
            if parameters:
                op["parameters"] = parameters
            if meta["request_body"] is not None:
                op["requestBody"] = {"required": True,
                                     "content": {"application/json": {"schema": meta["request_body"]}}}
            for status, response_schema in meta["responses"].items():
                entry: dict[str, Any] = {"description": _STATUS_TEXT.get(status, "Response")}
                if response_schema is not None:
                    entry["content"] = {"application/json": {"schema": response_schema}}
                op["responses"][str(status)] = entry
            op["responses"]["default"] = {"description": "A problem (RFC 9457)",
                                          "content": {"application/problem+json": {"schema": _PROBLEM}}}
            writes = method not in ("GET", "HEAD", "OPTIONS")
            own_token = token_scheme(view)
            if own_token:
                # Its own token, in the body (which OpenAPI's security schemes cannot name): no session, and so no
                # CSRF token either (server/auth/access.token_authenticated).
                op["security"] = []
                op["x-body-token"] = own_token
            elif rule_access != "public":
                # Both together: the session cookie, and for writes the CSRF token of that session.
                op["security"] = [{"session": [], "csrf": []} if writes else {"session": []}]
                op["x-roles"] = sorted(rule_access or [])
            elif writes:  # CSRF protection covers every view (no exemption)
                op["security"] = [{"csrf": []}]
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Một Cửa Tại Nhà API", "version": "1",
                 "description": "Dossiers, calendar and accounts of the one-stop desk that comes to the home."},
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "session": {
                    "type": "apiKey", "in": "cookie", "name": "session",
                    "description": "Flask session cookie after a passkey sign-in; writes also need X-CSRFToken.",
                },
                "csrf": {
                    "type": "apiKey", "in": "header", "name": "X-CSRFToken",
                    "description": "Every write (POST, PUT, PATCH, DELETE), signed in or not, sends the CSRF token "
                                   "of its session (GET /api/v1/csrf-token, or csrf_token of GET /api/v1/session); "
                                   "without it the answer is 400 urn:motcua:problem:csrf.",
                },
            },
        },
    }


_STATUS_TEXT = {200: "OK", 201: "Created", 204: "No content"}


@bp.get("/openapi.json")
@public
@operation("This description (OpenAPI 3.1)", tags=["Meta"], responses={200: {"type": "object"}})
def openapi_json():
    """This API's OpenAPI 3.1 description."""
    return build_spec(current_app)
