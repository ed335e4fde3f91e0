"""Every API route that takes an assessment id, tried as a user of another country.

The sweep reads the application's OpenAPI description, so an endpoint added later is
covered without editing this test (the web pages have isolation tests of their own). Every
write is sent a body valid for its route, built from the route's request schema, so that it
gets past validation to the access check. A cross-country call must answer exactly as for an
id that does not exist (404, never 422), must hold none of the assessment's data and must
change nothing.
"""

from __future__ import annotations

import re
from typing import Any

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SAMPLE = {
    "capability_id": "legislation",
    "area_id": "policy",
    "cost_currency": "USD",
    "digest": "a" * 64,
}
MISSING_ID = 987654321
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# Valid bodies that a schema alone cannot describe, by (method, path template); none so far.
EXAMPLES: dict[tuple[str, str], Any] = {}


def example_of(schema: dict, components: dict, known: dict[str, Any] | None = None) -> Any:
    """A small instance that satisfies schema: every property filled, every bound respected.

    Properties named in known take its value (real ids), so that the body would be accepted
    were the access check missing, and the sweep would see it.
    """
    known = known or {}
    if "$ref" in schema:
        return example_of(components[schema["$ref"].rsplit("/", 1)[-1]], components, known)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return example_of(options[0], components, known)
    if "allOf" in schema:
        merged: dict = {}
        for part in schema["allOf"]:
            merged |= part
        return example_of(merged, components, known)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        found = {
            name: known[name] if name in known else example_of(prop, components, known)
            for name, prop in schema.get("properties", {}).items()
        }
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and len(found) < schema.get("minProperties", 0):
            found["example"] = example_of(extra, components, known)
        return found
    if kind == "array":
        count = schema.get("minItems", 0)
        return [example_of(schema["items"], components, known) for _ in range(count)]
    if kind in ("integer", "number"):
        return max(1, int(schema.get("minimum", 1)))
    if kind == "boolean":
        return True
    if kind == "string":
        assert "pattern" not in schema, f"give a valid example in EXAMPLES for {schema}"
        if schema.get("format") == "date":
            return "2031-06-30"
        text = "Sweep example"
        text = text.ljust(schema.get("minLength", 0), "x")
        return text[: schema.get("maxLength", len(text))]
    raise AssertionError(f"no example for the schema {schema}: add one to EXAMPLES")


def _fill(template: str, assessment_id: int, values: dict[str, Any]) -> str:
    values = {**values, "assessment_id": assessment_id}
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(values[m.group(1)]), template)


def _request_body(
    method: str, template: str, operation: dict, components: dict, known: dict, workbook: bytes
) -> dict:
    """The keyword arguments that send a valid body for this operation (none if it takes none)."""
    if (method, template) in EXAMPLES:
        return {"json": EXAMPLES[(method, template)]}
    body = operation.get("requestBody")
    if body is None:
        return {}
    content = body["content"]
    if "application/json" in content:
        return {"json": example_of(content["application/json"]["schema"], components, known)}
    if "multipart/form-data" in content:
        return {"files": {"file": ("answers.xlsx", workbook, XLSX)}}
    raise AssertionError(f"no valid body for {method} {template}: add one to EXAMPLES")


def _everything(world, assessment_id: int) -> dict[str, Any]:
    """All that the assessment's own coordinator can read of it."""
    base = f"/api/v1/assessments/{assessment_id}"
    found = {}
    for part in ("", "/answers", "/targets", "/assignments", "/comments", "/action-plan"):
        response = world.get("coordinator", base + part)
        assert response.status_code == 200, (part, response.text)
        found[part] = response.json()
    return found


def _given(response, key: str = "id") -> int:
    assert response.status_code in (200, 201), response.text
    return response.json()[key]


def test_no_route_reveals_or_changes_another_countrys_assessment(world, app_client):
    catalogue = app_client.app.state.catalogue.catalogue
    indicator_id = catalogue.capability("legislation").indicators[0].id
    created = world.post(
        "coordinator", "/api/v1/assessments", {"country_code": "XAA", "cycle": f"Z{world.tag}"}
    ).json()
    base = f"/api/v1/assessments/{created['id']}"
    world.put(
        "coordinator",
        f"{base}/answers/legislation/{indicator_id}",
        {
            "version": 0,
            "response": "level",
            "level": 2,
            "evidence_notes": f"confidential-{world.tag}",
        },
    )
    # Real ids for the routes that address something inside the assessment.
    workbook = world.get("coordinator", f"{base}/workbook.xlsx").content
    values = {
        **SAMPLE,
        "indicator_id": indicator_id,
        "assignment_id": _given(
            world.post(
                "coordinator",
                f"{base}/assignments",
                {"area_id": "policy", "user_id": world.ids["contributor"]},
            )
        ),
        "item_id": _given(
            world.post("coordinator", f"{base}/action-plan/items", {"title": f"Plan {world.tag}"})
        ),
        "import_id": _given(
            world.client.post(
                f"{base}/workbook",
                files={"file": ("answers.xlsx", workbook, XLSX)},
                headers=world.headers("coordinator"),
            ),
            "import_id",
        ),
    }
    before = _everything(world, created["id"])
    # Real values for the body fields that name something: capability, indicator, area, user.
    known = {**SAMPLE, "indicator_id": indicator_id, "user_id": world.ids["contributor2"]}

    spec = app_client.app.openapi()
    components = spec["components"]["schemas"]
    paths = {path: ops for path, ops in spec["paths"].items() if "{assessment_id}" in path}
    assert len(paths) >= 15
    tried = bodies = 0
    for template, operations in paths.items():
        for method in sorted(operations):
            operation = operations[method]
            body = _request_body(method.upper(), template, operation, components, known, workbook)
            real = _fill(template, created["id"], values)
            missing = _fill(template, MISSING_ID, values)
            headers = world.headers("other_coordinator")
            answer = world.client.request(method, real, headers=headers, **body)
            baseline = world.client.request(method, missing, headers=headers, **body)
            where = (method.upper(), template, answer.status_code, answer.text[:200])
            # Same answer as for an id that does not exist: no existence oracle, and a valid
            # body, so the refusal comes from the access check and not from validation.
            assert baseline.status_code == 404, where
            assert answer.status_code == 404, where
            assert answer.json() == baseline.json(), where
            for secret in (f"Z{world.tag}", f"confidential-{world.tag}", "Arvenia"):
                assert secret not in answer.text, where
            tried += 1
            bodies += bool(body)
    assert tried >= 30
    assert bodies >= 9  # every write that takes a body reached the check with one
    assert _everything(world, created["id"]) == before


def test_example_bodies_follow_their_schemas():
    components = {
        "Level": {"type": "integer", "minimum": 0, "maximum": 9},
        "Kind": {"type": "string", "enum": ["first", "second"]},
    }
    schema = {
        "type": "object",
        "properties": {
            "level": {"$ref": "#/components/schemas/Level"},
            "kind": {"anyOf": [{"$ref": "#/components/schemas/Kind"}, {"type": "null"}]},
            "name": {"type": "string", "minLength": 20, "maxLength": 30},
            "when": {"type": "string", "format": "date"},
            "notes": {"type": "object", "additionalProperties": {"type": "string"}},
            "ids": {"type": "array", "items": {"type": "integer"}, "minItems": 2},
        },
    }
    schema["properties"]["notes"]["minProperties"] = 1
    assert example_of(schema, components) == {
        "level": 1,
        "kind": "first",
        "name": "Sweep examplexxxxxxx",
        "when": "2031-06-30",
        "notes": {"example": "Sweep example"},
        "ids": [1, 1],
    }
