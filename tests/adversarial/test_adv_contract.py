"""Adversarial: the OpenAPI contract is exact — schemathesis, every check, anonymous and with an API token, finds
nothing (issue 13, item 9). The full run with more examples is ``benchmarks/run_schemathesis.py``."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")

from hypothesis import HealthCheck, given, settings  # noqa: E402
import schemathesis.specs.openapi.checks  # noqa: E402,F401  (registers the OpenAPI checks)
from schemathesis.checks import CHECKS  # noqa: E402

from web_fixtures import WebEnv, web_env  # noqa: E402,F401

#: every check schemathesis has (``--checks all``), on every operation: the answer-submitting ones included (their
#: ``answer`` is the Answer schema, and "answer or thread_id" two exclusive request shapes)
CHECKS_ALL = list(CHECKS.get_all())


def _run(app, headers: dict[str, str] | None) -> int:
    """Every operation, ``EXAMPLES`` generated cases each (positive and negative); the cases run."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    ran = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def one(case) -> None:
            nonlocal ran
            ran += 1
            case.call_and_validate(headers=headers, checks=CHECKS_ALL)

        one()
    return ran


EXAMPLES = 8


def test_anonymous(web_env: WebEnv) -> None:
    assert _run(web_env.app, None) > 100


def test_with_a_token(web_env: WebEnv) -> None:
    assert _run(web_env.app, web_env.bearer("ada")) > 100
