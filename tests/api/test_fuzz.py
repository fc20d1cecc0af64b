"""The API fuzzed from its own OpenAPI schema (schemathesis): no 500s, every answer as documented
(status, content type, body schema). Bounded: a few examples per operation, derandomised, so the whole
run takes well under a minute."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.live import live_server

EXAMPLES = 6
# Left out: "a schema-valid request is accepted". Some rules are not in the schema (a cursor must be one
# the API issued, a schedule period at least 1m, an account's fields per marketplace): those answer a
# documented 400/422 problem, and the status-code check still holds every answer to the schema.
# A connection test opens the marketplace's real host: never from a fuzzer.
SKIPPED = {
    ("POST", "/v1/partners/{partner}/accounts"),
    ("POST", "/v1/partners/{partner}/accounts/{marketplace}/test"),
    ("POST", "/v1/partners/{partner}/accounts/{marketplace}/rotate"),
}


@pytest.mark.slow
def test_schema_fuzz_finds_no_500s_and_no_schema_violations(tmp_path: Path) -> None:
    with live_server(tmp_path) as srv:
        schema = schemathesis.openapi.from_url(srv.url + "/openapi.json")
        headers = {"Authorization": f"Bearer {srv.world.keys['admin']}"}
        operations = [r.ok() for r in schema.get_all_operations()]  # type: ignore[union-attr]
        ran = 0
        failures: list[str] = []
        for op in operations:
            if (op.method.upper(), op.path) in SKIPPED:
                continue
            if op.method.upper() == "DELETE" and op.path == "/v1/keys/{key_id}":
                continue  # it would revoke the fuzzer's own key; revocation has its own test

            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))  # fmt: skip
            @given(case=op.as_strategy())
            def run(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
                case.call_and_validate(
                    base_url=srv.url, headers=headers, excluded_checks=[positive_data_acceptance]
                )

            try:
                run()
            except (
                Exception,
                BaseExceptionGroup,
            ) as exc:  # collect every operation's failure, then report them all
                failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:600]}")
            ran += 1
        assert ran >= 25
        assert not failures, "\n\n".join(failures)


def test_revoked_key_stops_working(tmp_path: Path) -> None:
    import httpx

    with live_server(tmp_path) as srv:
        admin = {"Authorization": f"Bearer {srv.world.keys['admin']}"}
        staff = {"Authorization": f"Bearer {srv.world.keys['staff']}"}
        with httpx.Client(base_url=srv.url) as c:
            assert c.get("/v1/partners", headers=staff).status_code == 200
            keys = {k["name"]: k["id"] for k in c.get("/v1/keys", headers=admin).json()}
            assert c.delete(f"/v1/keys/{keys['staff-key']}", headers=admin).status_code == 200
            r = c.get("/v1/partners", headers=staff)
            assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
