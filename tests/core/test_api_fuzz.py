"""Every operation of the API schema, fed generated requests (valid and invalid) by
schemathesis: no answer is a server error, and every refusal has the one error shape."""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode

from tests.api_world import make_world

EXAMPLES_PER_MODE = 4
BASE_URL = "http://testserver"


def caller_for(path: str) -> str:
    """Who sends the requests of an operation: someone who gets past its access checks."""
    if path.startswith("/api/v1/alliance") or path == "/api/v1/assessments/import":
        return "secretariat"
    if path.startswith("/api/v1/users"):
        return "admin"
    return "coordinator"


def problems_with(response) -> list[str]:
    """What is wrong with an answer: a server error, or a refusal not in the error shape."""
    if response.status_code >= 500:
        return [f"server error {response.status_code}"]
    if response.status_code < 400:
        return []
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return [f"{response.status_code} without the error shape: {response.text[:200]!r}"]
    wrong = []
    if not isinstance(error.get("code"), str) or not error["code"]:
        wrong.append("no error code")
    if not isinstance(error.get("message"), str) or not error["message"]:
        wrong.append("no error message")
    fields = error.get("fields")
    if not isinstance(fields, list) or not all(
        isinstance(f, dict) and f.get("field") and isinstance(f.get("reason"), str) for f in fields
    ):
        wrong.append(f"fields not a list of field and reason: {fields!r}")
    if response.status_code == 422 and not fields and not error.get("field"):
        wrong.append("a 422 that names no field")
    return wrong


def as_file_part(part):
    """A multipart part as the test client takes it: requests also sends numbers as text."""
    if not isinstance(part, tuple):
        return part
    file_name, content, *rest = part
    if not isinstance(content, bytes | str):
        content = str(content)
    return (file_name, content, *rest)


def send(client, case, headers: dict[str, str]):
    """Send a generated case through the test client (the application runs in-process)."""
    sent = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
    body = {}
    if "json" in sent:
        body["json"] = sent["json"]
    if sent.get("files"):
        body["files"] = [(name, as_file_part(part)) for name, part in sent["files"]]
    if "data" in sent:
        data = sent["data"]
        body["content" if isinstance(data, bytes | str) else "data"] = data
    return client.request(
        sent["method"],
        sent["url"],
        headers=sent.get("headers"),
        params=sent.get("params"),
        **body,
    )


@pytest.fixture
def fuzz_world(app_client):
    """People of its own (the fuzzer may revoke their tokens or disable them) and an
    assessment of the coordinator's country to aim at."""
    world = make_world(app_client)
    created = world.post(
        "coordinator",
        "/api/v1/assessments",
        json={"country_code": "XAA", "cycle": f"fuzz {uuid.uuid4().hex[:8]}"},
    )
    assert created.status_code == 201, created.text
    world.ids["assessment"] = created.json()["id"]
    return world


def fuzz(client, strategies, headers: dict[str, str]) -> tuple[int, list[str]]:
    """Send the cases of strategies; how many were sent, and the first few problems."""
    sent, problems = 0, []

    @settings(
        max_examples=EXAMPLES_PER_MODE * len(strategies),
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def check(case):
        nonlocal sent
        sent += 1
        wrong = problems_with(send(client, case, headers))
        if wrong and len(problems) < 3:
            problems.append(f"{case.method} {case.formatted_path} -> {'; '.join(wrong)}")

    check()
    return sent, problems


def test_no_operation_answers_a_server_error_or_an_unshaped_refusal(fuzz_world):
    client = fuzz_world.client
    schema = schemathesis.openapi.from_dict(client.app.openapi())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40  # the whole API, not a corner of it

    failures: list[str] = []
    tried = 0
    for operation in operations:
        strategies = [operation.as_strategy(mode) for mode in GenerationMode]
        parameters = {p.name for p in operation.path_parameters}
        if "assessment_id" in parameters and not operation.path.endswith(".pdf"):
            # Some cases aim at a real assessment, so that they reach the service rules.
            real = {"assessment_id": fuzz_world.ids["assessment"]}
            strategies += [
                operation.as_strategy(mode, path_parameters=real) for mode in GenerationMode
            ]
        headers = fuzz_world.headers(caller_for(operation.path))
        try:
            sent, problems = fuzz(client, strategies, headers)
        except Exception as exc:  # a failure to send is a failure of the operation too
            name = f"{operation.method.upper()} {operation.path}"
            sent, problems = 0, [f"{name}: {type(exc).__name__}: {exc}"]
        tried += sent
        failures.extend(problems)

    assert tried > len(operations) * EXAMPLES_PER_MODE
    assert not failures, "\n".join(failures)
