"""The fleet benchmark's measurement and rendering: process trees, PostgreSQL's memory counted with its
shared buffers once, CPU and memory read from /proc, and the published section."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal

from aimanager_lab.bench.figures import RunFigures
from aimanager_lab.bench.fleet import FleetOptions, FleetResult, render_fleet
from aimanager_lab.bench.fleet_measure import (
    Sampler,
    Usage,
    cpu_s,
    descendants,
    memory_kb,
    postgres_pids,
    server_memory_kb,
)

TABLE = {
    1: (0, "/sbin/init"),
    10: (1, "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main"),
    11: (10, "postgres: 15/main: checkpointer"),
    12: (10, "postgres: 15/main: postgres aimanager_fleet 127.0.0.1(5001) idle"),
    13: (10, "postgres: 15/main: postgres test 127.0.0.1(5002) idle"),
    14: (10, "postgres: 15/main: autovacuum worker test"),
    15: (10, "postgres: 15/main: autovacuum worker aimanager_fleet"),
    20: (1, "python -m aimanager worker --processes 2"),
    21: (20, "python -m aimanager worker --concurrency 64"),
    22: (20, "python -m aimanager worker --concurrency 64"),
    23: (21, "sh -c helper"),
}


def test_only_the_server_and_the_bench_databases_backends_count() -> None:
    assert sorted(postgres_pids("aimanager_fleet", TABLE)) == [10, 11, 12, 15]
    assert sorted(descendants(20, TABLE)) == [21, 22, 23]
    assert descendants(23, TABLE) == []


def test_shared_buffers_count_once_and_private_memory_adds_up() -> None:
    samples = [
        {"VmRSS": 150_000, "RssAnon": 10_000, "RssShmem": 130_000},
        {"VmRSS": 90_000, "RssAnon": 20_000, "RssShmem": 60_000},
        {"VmRSS": 5_000, "RssAnon": 5_000},
    ]
    assert server_memory_kb(samples) == 35_000 + 130_000  # not the 245,000 kB their RSS add up to
    assert server_memory_kb([]) == 0


def test_memory_and_cpu_of_a_real_process_tree() -> None:
    assert memory_kb(os.getpid())["VmRSS"] > 1000
    assert (cpu_s(os.getpid()) or 0.0) > 0.0
    # A "supervisor" with one child that burns some CPU; the sampler finds the child as a worker.
    burn = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'sum(range(30_000_000))'])"
    supervisor = subprocess.Popen([sys.executable, "-c", burn])
    try:
        sampler = Sampler(supervisor=supervisor.pid, sandbox=os.getpid(), database="none")
        seen_worker = False
        while supervisor.poll() is None:
            sampler.sample()
            seen_worker = seen_worker or bool(sampler.usage.workers_peak_kb())
    finally:
        supervisor.wait()
    usage = sampler.usage
    assert seen_worker, "the supervisor's child was never sampled as a worker"
    assert all(kb > 1000 for kb in usage.workers_peak_kb())
    assert usage.cpu("worker") > 0.0
    assert usage.sandbox_peak_kb >= memory_kb(os.getpid())["VmRSS"] // 2
    gone = max(usage.role) + 10_000_000
    assert memory_kb(gone) == {} and cpu_s(gone) is None  # a process gone between looks: no error


def test_the_section_shows_wall_against_the_bound_memory_and_latency() -> None:
    fig = RunFigures(
        "AI Manager (fleet)",
        wall_s=120.0,
        tasks=1000,
        succeeded=990,
        llm_calls=60,
        input_tokens=100_000,
        output_tokens=900_000,
        cost_usd=Decimal("12.5"),
        card_cost_usd=Decimal("10"),
        latency_ms={"medium": [10.0] * 99 + [5000.0], "urgent": [1.0, 2.0]},
        phase_s={"cards": 100.0, "all": 120.0},
        failures=["cards: no answer"],
    )
    usage = Usage(
        peak_rss_kb={21: 200 * 1024, 22: 300 * 1024, 20: 50 * 1024},
        cpu_first={21: 0.0, 22: 0.0, 30: 5.0},
        cpu_last={21: 40.0, 22: 50.0, 30: 15.0},
        role={20: "supervisor", 21: "worker", 22: "worker", 30: "sandbox"},
        postgres_peak_kb=512 * 1024,
        sandbox_peak_kb=700 * 1024,
    )
    result = FleetResult(
        FleetOptions(partners=1000, skus=10, workers=4, time_scale=0.01),
        fig,
        {"tasks": {"done": 990, "failed": 10}, "jobs": {"succeeded": 400}},
        usage,
        {"llm_s": 6000.0, "market_s": 1000.0, "total_s": 8000.0},
        drained=True,
        setup_s={"init": 3.0},
    )
    md = render_fleet(result, command="aimanager bench fleet --partners 1000", machine="m")
    assert md.startswith("## Fleet: 1,000 partners × 4 marketplaces × 10 SKUs, 4 worker processes")
    assert "`aimanager bench fleet --partners 1000`" in md
    assert "| bound set by the sandbox limits | 80.0 s (LLM 60.0 s + bulk writes 10.0 s" in md
    assert "took 1.50× the bound" in md
    assert "| tasks | 1,000: done 990, failed 10 |" in md and "| tasks succeeded | 99.00 % |" in md
    assert "| start latency p50 / p99, medium (ms) | 10 / 5,000 (100 jobs) |" in md
    assert "| peak RSS per worker process | 200 MB, 300 MB |" in md  # the supervisor is not a worker
    assert "| peak memory of PostgreSQL (private summed + shared once) | 512 MB |" in md
    assert "| CPU: workers / sandboxes / PostgreSQL | 90 s / 10 s / 0 s" in md
    assert "| the same bound at real time | 2.22 h |" in md  # 8,000 s of limits, not wall ÷ time scale
    cpus = os.cpu_count() or 1
    busy = 100 / (120 * cpus)  # 100 CPU seconds in 120 s of wall
    assert f"| CPU used, all processes | {busy:.0%} of {cpus} CPUs over the wall time" in md
    assert ("bound by this machine's CPU" in md) == (busy >= 0.85)
    assert "did not drain" not in md and "Failures (first few): cards: no answer" in md
    undrained = render_fleet(
        FleetResult(
            result.options,
            fig,
            {**result.counts, "left": ["stock.sync running 1"]},
            usage,
            result.bound,
            drained=False,
        ),
        command="c",
        machine="m",
    )
    assert "**did not drain**" in undrained
    assert "Jobs left when the bench stopped waiting: stock.sync running 1" in undrained
    assert "Jobs left" not in md
