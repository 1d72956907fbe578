"""``/openapi.json`` says what the API really answers: every error status with the one error
body, the auth schemes, the tracking bodies with their required fields — and the server agrees
with the documented tracking rules. Both ledgers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from userops.auth import service as auth
from userops.config import Settings
from userops.ledger import unit_of_work
from userops.server import create_app

ERROR_BODY = "#/components/schemas/ErrorBody"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as opened:
        yield opened


@pytest.fixture
def spec(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    found: dict[str, Any] = response.json()
    return found


def key(client: TestClient, scope: str) -> dict[str, str]:
    with unit_of_work(client.app.state.hub.engine) as session:  # type: ignore[attr-defined]
        return {"authorization": f"Bearer {auth.create_key(session, scope=scope).key}"}


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if path.startswith(("/api/v1/", "/v1/")):
                yield path, method, operation


def test_every_operation_documents_its_errors_with_the_error_body(spec: dict[str, Any]) -> None:
    found = list(operations(spec))
    assert len(found) >= 25
    for path, method, operation in found:
        responses = operation["responses"]
        where = f"{method.upper()} {path}"
        assert {"401", "403"} <= set(responses), where
        assert "422" not in responses, where  # validation answers 400, with our body
        for status, response in responses.items():
            if status.startswith("4"):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_BODY}, (where, status)
        assert {"bearerKey": []} in operation["security"], where
        assert {"basicKey": []} in operation["security"], where
    error = spec["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"code", "message", "field"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerKey"] == schemes["bearerKey"] | {"type": "http", "scheme": "bearer"}
    assert schemes["basicKey"] == schemes["basicKey"] | {"type": "http", "scheme": "basic"}
    # the routes that can answer them say so
    paths = spec["paths"]
    assert "404" in paths["/api/v1/customers/{customer_id}"]["get"]["responses"]
    assert "409" in paths["/api/v1/customers/{customer_id}/scores"]["get"]["responses"]
    assert {"413", "429"} <= set(paths["/v1/batch"]["post"]["responses"])
    retry = paths["/v1/track"]["post"]["responses"]["429"]["headers"]
    assert "Retry-After" in retry
    funnel = {p["name"]: p for p in paths["/api/v1/analytics/funnel"]["get"]["parameters"]}
    assert funnel["step"]["required"] is True and funnel["step"]["schema"]["minItems"] == 2
    assert paths["/api/v1/tags/transitions"]["get"]["parameters"][0]["schema"]["enum"][0] == (
        "lifecycle"
    )


def body_schema(spec: dict[str, Any], call: str) -> dict[str, Any]:
    body = spec["paths"][f"/v1/{call}"]["post"]["requestBody"]
    assert body["required"] is True
    return {**body["content"]["application/json"]["schema"], "components": spec["components"]}


def test_tracking_bodies_name_their_required_fields(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert body_schema(spec, "track")["$ref"].endswith("/TrackCall")
    assert "event" in schemas["TrackCall"]["required"]
    assert {"userId", "previousId"} <= set(schemas["AliasCall"]["required"])
    assert "groupId" in schemas["GroupCall"]["required"]
    assert schemas["BatchCall"]["required"] == ["batch"]
    assert schemas["BatchCall"]["properties"]["batch"]["maxItems"] == 2500
    assert body_schema(spec, "import")["$ref"] == body_schema(spec, "batch")["$ref"]
    assert set(schemas["TrackMessage"]["required"]) == {"event", "type"}


BODIES = [
    ("track", {"userId": "u1", "event": "Product Viewed"}, True),
    ("track", {"anonymousId": 42, "event": "Product Viewed", "properties": {"sku": "a"}}, True),
    ("track", {"userId": "u1"}, False),  # no event
    ("track", {"event": "Product Viewed"}, False),  # nobody
    ("track", {"userId": "u1", "event": "x", "properties": [1]}, False),
    ("track", {"userId": "u1", "event": "x", "messageId": "m" * 100}, False),
    ("track", {"userId": {"id": 1}, "event": "x"}, False),
    ("identify", {"userId": "u1", "traits": {"name": "张三"}}, True),
    ("alias", {"userId": "u1", "previousId": "anon-1"}, True),
    ("alias", {"userId": "u1"}, False),
    ("group", {"userId": "u1", "groupId": "g1"}, True),
    ("group", {"userId": "u1"}, False),
    ("page", {"anonymousId": "a1", "name": "Home"}, True),
    ("batch", {"batch": [{"type": "track", "userId": "u1", "event": "x"}]}, True),
    ("batch", {"batch": [{"type": "bogus", "userId": "u1"}]}, False),
    ("batch", {"batch": [{"type": "track", "userId": "u1", "event": "x"}] * 2501}, False),
    ("batch", {"events": []}, False),
]


def test_the_server_agrees_with_the_documented_tracking_rules(
    client: TestClient, spec: dict[str, Any]
) -> None:
    headers = key(client, "write")
    for call, body, valid in BODIES:
        schema = body_schema(spec, call)
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(body))
        assert (not errors) is valid, (call, body, [e.message for e in errors])
        response = client.post(f"/v1/{call}", content=json.dumps(body), headers=headers)
        assert response.status_code == (200 if valid else 400), (call, body, response.text)
        if not valid:
            assert response.json()["error"]["field"], response.text


def test_errors_say_how_to_authenticate_and_which_methods_exist(client: TestClient) -> None:
    missing = client.get("/api/v1/customers")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["error"]["field"] == "authorization"
    tracking = client.post("/v1/track", content=b'{"userId": "u1", "event": "x"}')
    assert tracking.status_code == 401 and "www-authenticate" in tracking.headers
    # Basic with the key as user name works as Bearer does; a garbled one is a 401 with our body
    garbled = client.get("/api/v1/customers", headers={"authorization": "Basic !!!"})
    assert garbled.status_code == 401 and garbled.json()["error"]["field"] == "authorization"
    # every method of the path, not only the first route's
    for path, methods in (
        ("/api/v1/tags/manual/vip", "DELETE, POST"),
        ("/api/v1/segments/x", "DELETE, GET, PUT"),
    ):
        response = client.request("PATCH", path)
        assert response.status_code == 405
        assert response.headers["allow"] == methods
        assert response.json()["error"]["code"] == "method_not_allowed"


def test_inputs_that_answered_500_or_were_misread_are_400s(client: TestClient) -> None:
    headers = key(client, "read")
    for path, params, field in (
        ("/api/v1/analytics/magic-number", {"min_share": "0"}, "min_share"),  # was a 500
        ("/api/v1/analytics/aarrr", {"date_to": "0"}, "date_to"),  # was read as 1970-01-01
        ("/api/v1/analytics/channels", {"date_to": "1700000000"}, "date_to"),
        ("/api/v1/tags/transitions", {"family": "nonsense"}, "family"),
    ):
        response = client.get(path, params=params, headers=headers)
        assert response.status_code == 400, (path, params, response.text)
        assert response.json()["error"]["field"] == field, response.text
    # a device clock so far off that the skew correction overflowed (was a 500)
    body = {"userId": "u1", "sentAt": "6092-04-22T01:02:42Z", "timestamp": "0232-12-18T02:18:49Z"}
    response = client.post("/v1/page", content=json.dumps(body), headers=key(client, "write"))
    assert response.status_code == 400, response.text
