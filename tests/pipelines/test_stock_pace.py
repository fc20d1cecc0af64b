"""An item a marketplace turns away for pace (Ozon: one update per pair per 30 s) is retried, not
refused; a real refusal still fails the job, and both keep naming their listings."""

from __future__ import annotations

import pytest

from aimanager.jobs import Job, JobStatus, PermanentFailure, Priority, Retry
from aimanager.pipelines.capabilities.stock import PACE_RETRY_S, _raise_problems, paced_out


def _job() -> Job:
    return Job(
        1, "stock.sync", 1, "p1:stock", {"x": 1}, Priority.HIGH, JobStatus.RUNNING, 0.0, 0.0, 0.0, 1, 3
    )


@pytest.mark.parametrize(
    ("code", "paced"),
    [("TOO_MANY_REQUESTS", True), ("too_many_requests", True), ("RATE_LIMIT", True), ("NOT_FOUND", False),
     ("INVALID_QUANTITY", False)],
)  # fmt: skip
def test_pace_codes(code: str, paced: bool) -> None:
    assert paced_out(code) is paced


def test_an_item_turned_away_for_pace_is_retried_after_the_window() -> None:
    with pytest.raises(Retry) as caught:
        _raise_problems(_job(), {}, {}, {7: "A-1@ozon: TOO_MANY_REQUESTS: one update per pair per 30 s"})
    assert caught.value.delay == PACE_RETRY_S
    assert caught.value.payload == {"x": 1, "product_ids": [7]}
    assert "A-1@ozon" in str(caught.value)


def test_pace_beside_a_refusal_retries_the_paced_and_names_the_refused() -> None:
    with pytest.raises(Retry) as caught:
        _raise_problems(
            _job(), {3: "B-2@ozon: NOT_FOUND: no such offer"}, {}, {7: "A-1@ozon: TOO_MANY_REQUESTS"}
        )
    assert caught.value.payload == {"x": 1, "product_ids": [7]}
    assert "1 refused (failed tasks)" in str(caught.value) and "B-2@ozon" in str(caught.value)


def test_a_refusal_alone_still_fails_the_job() -> None:
    with pytest.raises(PermanentFailure) as caught:
        _raise_problems(_job(), {3: "B-2@ozon: NOT_FOUND: no such offer"}, {}, {})
    assert caught.value.payload == {"x": 1, "product_ids": [3]}
