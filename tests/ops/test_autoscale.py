"""The autoscaler's decision (``ops.autoscale.desired_workers``): bounded, monotone in the load, and
scaling up when a priority's starts run late; the stabiliser scales down only after a quiet window."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aimanager.ops.autoscale import Load, PriorityLoad, ScalePolicy, desired_workers
from aimanager.ops.scaling import Stabiliser

SLAS = {"urgent": 1.0, "high": 5.0, "medium": 30.0, "low": 300.0}

policies = st.builds(
    lambda lo, extra, conc: ScalePolicy(min_workers=lo, max_workers=lo + extra, concurrency=conc),
    st.integers(1, 5),
    st.integers(0, 50),
    st.integers(1, 200),
)


@st.composite
def loads(draw: st.DrawFn) -> Load:
    prios = {}
    for name, sla in SLAS.items():
        started = draw(st.integers(0, 10_000))
        prios[name] = PriorityLoad(
            sla_s=sla,
            depth=draw(st.integers(0, 100_000)),
            oldest_wait_s=draw(st.floats(0, 3600)),
            started=started,
            late=draw(st.integers(0, started)),
        )
    return Load(
        window_s=60.0,
        arrived=draw(st.floats(0, 1e6)),
        finished=draw(st.integers(0, 1_000_000)),
        mean_run_s=draw(st.floats(0, 600)),
        running=draw(st.integers(0, 10_000)),
        priorities=prios,
    )


def idle() -> Load:
    return Load(window_s=60.0, priorities={n: PriorityLoad(sla_s=s) for n, s in SLAS.items()})


@given(loads(), st.integers(1, 60), policies)
def test_always_within_bounds(load: Load, current: int, policy: ScalePolicy) -> None:
    d = desired_workers(load, current, policy)
    assert policy.min_workers <= d.workers <= policy.max_workers
    assert d.reason


@given(policies, st.integers(1, 60))
def test_idle_queue_needs_the_minimum(policy: ScalePolicy, current: int) -> None:
    assert desired_workers(idle(), current, policy).workers == policy.min_workers


@given(loads(), st.integers(1, 60), policies, st.integers(1, 100_000), st.sampled_from(sorted(SLAS)))
def test_more_backlog_never_needs_fewer_workers(
    load: Load, current: int, policy: ScalePolicy, more: int, name: str
) -> None:
    p = load.priorities[name]
    deeper = Load(
        load.window_s,
        load.arrived,
        load.finished,
        load.mean_run_s,
        load.running,
        {**load.priorities, name: PriorityLoad(p.sla_s, p.depth + more, p.oldest_wait_s, p.started, p.late)},
    )
    assert desired_workers(deeper, current, policy).workers >= desired_workers(load, current, policy).workers


@given(loads(), st.integers(1, 60), policies, st.floats(1, 1e5))
def test_faster_arrivals_never_need_fewer_workers(
    load: Load, current: int, policy: ScalePolicy, extra: float
) -> None:
    busier = Load(
        load.window_s, load.arrived + extra, load.finished, load.mean_run_s, load.running, load.priorities
    )
    assert desired_workers(busier, current, policy).workers >= desired_workers(load, current, policy).workers


@given(st.integers(1, 40), st.sampled_from(sorted(SLAS)))
def test_late_starts_scale_up_from_the_current_count(current: int, name: str) -> None:
    policy = ScalePolicy(min_workers=1, max_workers=50, concurrency=10)
    late = {**idle().priorities, name: PriorityLoad(sla_s=SLAS[name], depth=1, started=100, late=6)}
    d = desired_workers(Load(60.0, priorities=late), current, policy)
    assert d.workers > current and "over SLA" in d.reason
    # 5 late of 100 is the p95 exactly at the SLA: no step.
    on_time = {**idle().priorities, name: PriorityLoad(sla_s=SLAS[name], depth=1, started=100, late=5)}
    assert desired_workers(Load(60.0, priorities=on_time), current, policy).workers == 1
    # Drained: the late starts are history, the queue needs no more workers.
    drained = {**idle().priorities, name: PriorityLoad(sla_s=SLAS[name], started=100, late=90)}
    assert desired_workers(Load(60.0, priorities=drained), current, policy).workers == 1


def test_the_original_designs_bands_from_measurement() -> None:
    """100 partners' cards: 4 s LLM jobs arriving at 20/s need 20 × 4 / (10 × 0.8) = 10 workers of
    concurrency 10 (the design's "medium: 10"), and twice the rate needs 20 (its "high")."""
    policy = ScalePolicy(min_workers=5, max_workers=50, concurrency=10)
    for rate, workers in ((5.0, 5), (20.0, 10), (40.0, 20)):
        load = Load(
            60.0, arrived=rate * 60, finished=int(rate * 60), mean_run_s=4.0, priorities=idle().priorities
        )
        assert desired_workers(load, 5, policy).workers == workers


def test_a_backlog_must_start_within_its_sla() -> None:
    policy = ScalePolicy(min_workers=1, max_workers=100, concurrency=10)
    prios = {**idle().priorities, "high": PriorityLoad(sla_s=5.0, depth=500)}
    # 500 jobs of 1 s within 5 s: 100 slots, 10 workers.
    assert desired_workers(Load(60.0, mean_run_s=1.0, priorities=prios), 1, policy).workers == 10


def test_stabiliser_scales_up_at_once_and_down_after_the_window() -> None:
    now = [0.0]
    s = Stabiliser(down_after_s=60.0, clock=lambda: now[0])
    assert s.apply(2) == 2
    now[0] = 10.0
    assert s.apply(8) == 8
    now[0] = 30.0
    assert s.apply(1) == 8  # the burst's need is 20 s old: keep the workers
    now[0] = 71.0
    assert s.apply(1) == 1
