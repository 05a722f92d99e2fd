"""The OpenAPI 3.1 description: valid, complete for the JSON API, and the same schemas that validate requests."""

from __future__ import annotations

from openapi_spec_validator import validate as validate_spec

from server.api.openapi import SCHEMAS
from server.api.openapi import ref
from server.api.openapi import validate


def test_openapi_document_is_valid_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"] == "3.1.0"
    validate_spec(spec)


def test_every_api_route_is_documented(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    import re

    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (method, path) not in documented:
                missing.append(f"{method} {path}")
    assert missing == []


def test_ceremonies_are_described_with_their_schemas(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/auth/register/options", "/api/v1/auth/register/verify",
                 "/api/v1/auth/login/options", "/api/v1/auth/login/verify"):
        operation = spec["paths"][path]["post"]
        assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].startswith(
            "#/components/schemas/")
        assert "default" in operation["responses"]
    assert spec["paths"]["/api/v1/admin/users"]["get"]["x-roles"] == ["admin"]
    assert "security" not in spec["paths"]["/api/v1/calendar/due"]["get"]


def test_published_schema_is_the_validating_schema(app):
    with app.test_request_context():
        errors = validate({"citizen": {"full_name": "An", "phone": "0912345678", "consent": False,
                                       "consent_version": "v"}}, ref("RegisterOptionsRequest"))
    assert [e["field"] for e in errors] == ["citizen.consent"]
    assert SCHEMAS["CitizenRegistration"]["properties"]["consent"] == {
        "const": True, "description": "Explicit consent to the data-processing notice (never preset)"}


def test_every_write_documents_the_csrf_header_and_is_refused_without_it(client):
    """The description says what the server enforces: X-CSRFToken on every write, signed in or not."""
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["csrf"] == {**spec["components"]["securitySchemes"]["csrf"],
                                                             "type": "apiKey", "in": "header", "name": "X-CSRFToken"}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            requirements = op.get("security", [])
            if method == "get":
                assert all("csrf" not in r for r in requirements), (method, path)
            elif "x-body-token" in op:  # its own token, no session: nothing for a CSRF to ride on
                assert requirements == [], (method, path)
            else:
                assert requirements and all("csrf" in r for r in requirements), (method, path)
    client.get("/api/v1/csrf-token")  # a session with a token, which the request then does not send
    response = client.post("/api/v1/auth/login/options", json={})
    assert response.status_code == 400
    assert response.get_json()["type"] == "urn:motcua:problem:csrf"
