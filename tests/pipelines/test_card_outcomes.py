"""Every card task ends true: cards stored, or its job retried with just the products whose LLM work
failed, or its job failed naming what someone must do ("needs input", budget) — never a success with
a rejected card inside. Driven through the ``cards.generate`` handler against the LLM sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from aimanager.db.engine import make_engine
from aimanager.db.models import CardVersion, Product, TaskRecord
from aimanager.domain.enums import Marketplace
from aimanager.jobs import JobSpec, PermanentFailure, Retry, SQLBackend
from aimanager.llm import GatewayConfig
from aimanager.pipelines.capabilities import cards
from aimanager.pipelines.services.wiring import build_runtime
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.sample_catalog import generate_catalog, insert_catalog
from aimanager_sandbox.common.serving import BackgroundServer
from aimanager_sandbox.llm import SandboxConfig, SandboxState, create_app

HAIKU = "claude-haiku-5-5"


@pytest.fixture
def llm() -> Iterator[tuple[str, SandboxState]]:
    config = SandboxConfig(time_scale=0.001, rpm=None, itpm=None, otpm=None)
    for name in dir(config):  # a model that answers well: these tests are about the failures we stage
        if name.endswith("_rate") and isinstance(getattr(config, name), float):
            setattr(config, name, 0.0)
    app = create_app(config)
    with BackgroundServer(app) as server:
        yield server.base_url, app.state.sandbox


@pytest.fixture
async def rt(llm: tuple[str, SandboxState], tmp_path: Path) -> AsyncIterator[Any]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cards.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    backend = SQLBackend(engine)
    await backend.setup()
    gateway = GatewayConfig(
        provider="anthropic",
        anthropic_api_key="sk-ant-test-key-0001",
        anthropic_base_url=llm[0],
        max_retries=1,
        retry_base_delay_s=0.001,
        pack_window_s=0.01,
    )
    settings = Settings(database_url=url, secret_key_file=tmp_path / "key")
    runtime = await build_runtime(settings, backend=backend, gateway_config=gateway)
    rows = generate_catalog(partners=2, skus=3, marketplaces=[Marketplace.WILDBERRIES, Marketplace.OZON])
    report = await insert_catalog(runtime.sessions, rows)
    assert report.ok, report.errors
    yield runtime
    await runtime.aclose()
    await backend.close()
    await engine.dispose()


async def _claim(rt: Any, product_ids: list[int]) -> Any:
    await rt.backend.enqueue_many([JobSpec("cards.generate", {"product_ids": product_ids}, partner_id=1)])
    [job] = await rt.backend.claim("w", 1, lease_s=60, kinds=["cards.generate"])
    return job


async def _versions(rt: Any) -> dict[tuple[int, str], list[str]]:
    async with rt.sessions() as session:
        rows = (await session.execute(select(CardVersion).order_by(CardVersion.version))).scalars()
        out: dict[tuple[int, str], list[str]] = {}
        for cv in rows:
            out.setdefault((cv.product_id, cv.marketplace), []).append(cv.status)
        return out


def _calls(state: SandboxState) -> int:
    return state.count("messages")


async def _drop_weight(rt: Any, product_id: int) -> None:
    async with rt.sessions() as session, session.begin():
        product = await session.get(Product, product_id)
        attributes = {k: v for k, v in product.attributes.items() if not k.startswith("Вес")}
        await session.execute(update(Product).where(Product.id == product_id).values(attributes=attributes))


async def test_missing_facts_need_input_with_no_call_and_other_marketplaces_go_ahead(
    rt: Any, llm: tuple[str, SandboxState]
) -> None:
    _, state = llm
    async with rt.sessions() as session:
        ids = sorted((await session.execute(select(Product.id).where(Product.partner_id == 1))).scalars())
    await _drop_weight(rt, ids[0])  # Ozon requires the weight; Wildberries does not
    job = await _claim(rt, ids)
    failures = await cards.generate(rt, [job])

    versions = await _versions(rt)
    assert versions[(ids[0], "wildberries")] == ["validated"]  # the product's other marketplace went ahead
    assert versions[(ids[0], "ozon")] == ["needs_input"]
    assert all(versions[(pid, mp)] == ["validated"] for pid in ids[1:] for mp in ("wildberries", "ozon"))
    # The job is not a success: it fails naming the product, the marketplace and the missing fact, and
    # keeps only that product to retry once the catalog is fixed.
    assert failures is not None and isinstance(failures[job.id], PermanentFailure)
    failure = failures[job.id]
    assert "needs input" in str(failure) and "Вес, г" in str(failure) and "ozon" in str(failure)
    assert failure.payload == {"product_ids": [ids[0]]}
    async with rt.sessions() as session:
        cv = (
            await session.execute(select(CardVersion).where(CardVersion.status == "needs_input"))
        ).scalar_one()
    assert cv.validation_errors and "Вес, г" in cv.validation_errors[0]
    # The durable task says the same, in the same transaction as the version.
    async with rt.sessions() as session:
        tasks = (await session.execute(select(TaskRecord))).scalars().all()
    [task] = tasks
    assert (task.capability, task.marketplace, task.status) == ("cards", "ozon", "needs_input")
    assert "Вес, г" in (task.reason or "") and task.job_id == job.id

    # Asked again with the fact still missing: no new LLM call (the WB card comes from the cache), the
    # same failure, and no second needs-input version.
    calls = _calls(state)
    again = await _claim(rt, [ids[0]])
    state.config.overloaded_models = {HAIKU}  # a call now would fail, and the job would retry instead
    retry_failures = await cards.generate(rt, [again])
    assert _calls(state) == calls
    assert retry_failures is not None and isinstance(retry_failures[again.id], PermanentFailure)
    assert (await _versions(rt))[(ids[0], "ozon")] == ["needs_input"]


async def test_a_product_missing_facts_everywhere_is_never_sent_to_the_model(
    rt: Any, llm: tuple[str, SandboxState]
) -> None:
    _, state = llm
    async with rt.sessions() as session:
        ids = sorted((await session.execute(select(Product.id).where(Product.partner_id == 1))).scalars())
        await session.execute(update(Product).where(Product.id == ids[0]).values(brand=None, attributes={}))
        await session.commit()
    job = await _claim(rt, [ids[0]])
    failures = await cards.generate(rt, [job])
    assert _calls(state) == 0
    assert failures is not None and isinstance(failures[job.id], PermanentFailure)
    versions = await _versions(rt)
    assert set(versions) == {(ids[0], "wildberries"), (ids[0], "ozon")}
    assert all(v == ["needs_input"] for v in versions.values())


async def test_failed_llm_work_retries_only_those_products_then_succeeds(
    rt: Any, llm: tuple[str, SandboxState]
) -> None:
    _, state = llm
    async with rt.sessions() as session:
        ids = sorted((await session.execute(select(Product.id).where(Product.partner_id == 1))).scalars())
    state.config.overloaded_models = {HAIKU}  # an outage: every call answers 529
    job = await _claim(rt, ids)
    failures = await cards.generate(rt, [job])
    assert failures is not None
    retry = failures[job.id]
    assert isinstance(retry, Retry) and retry.delay == cards.CALL_RETRY_DELAY_S
    assert retry.payload == {"product_ids": ids} and "LLM call failed" in str(retry)
    assert await _versions(rt) == {}  # nothing stored as if it were a card
    async with rt.sessions() as session:
        failed = (await session.execute(select(TaskRecord.status, TaskRecord.reason))).all()
    assert len(failed) == 2 * len(ids) and all(st == "failed" and "LLM call" in (r or "") for st, r in failed)
    # The engine writes the narrowed payload back with the retry; the next attempt, after the outage:
    assert await rt.backend.retry_later("w", job, str(retry), 0.0, retry.payload)
    state.config.overloaded_models = set()
    [job] = await rt.backend.claim("w", 1, lease_s=60, kinds=["cards.generate"])
    assert await cards.generate(rt, [job]) is None
    assert all(statuses == ["validated"] for statuses in (await _versions(rt)).values())
    assert len(await _versions(rt)) == 2 * len(ids)


async def test_a_job_acts_only_on_its_own_partners_products(rt: Any, llm: tuple[str, SandboxState]) -> None:
    async with rt.sessions() as session:
        mine = sorted((await session.execute(select(Product.id).where(Product.partner_id == 1))).scalars())
        theirs = sorted((await session.execute(select(Product.id).where(Product.partner_id == 2))).scalars())
    job = await _claim(rt, [mine[0], theirs[0], 999_999])  # a job of partner 1
    failures = await cards.generate(rt, [job])
    assert failures is not None and isinstance(failures[job.id], PermanentFailure)
    message = str(failures[job.id])
    assert str(theirs[0]) in message and "another partner" in message and "999999" in message
    versions = await _versions(rt)
    assert {pid for pid, _ in versions} == {mine[0]}  # partner 2's product untouched, not charged


def test_a_card_that_breaks_one_marketplaces_rule_still_goes_to_the_others() -> None:
    from types import SimpleNamespace

    from aimanager.domain.validate import validate_card
    from aimanager.llm import CardResult
    from aimanager.pipelines.services.tasks import TaskBook
    from aimanager_lab.bench.llm import bench_products
    from aimanager_sandbox.llm.writer import write_card

    [facts] = bench_products(1)
    draft = write_card(facts)
    shouting = draft.model_copy(
        update={"ru": draft.ru.model_copy(update={"title": draft.ru.title + " ХИТ ПРОДАЖ НОВИНКА"})}
    )
    markets = [Marketplace.WILDBERRIES, Marketplace.YANDEX]
    result = CardResult(
        "1",
        None,
        "m",
        "realtime",
        "card failed validation: yandex: …",
        failure="answer",
        rejected_draft=shouting,
    )
    product = SimpleNamespace(id=1, sku=facts.sku, partner_id=1)
    book, outcome = TaskBook(1), cards._Outcome()
    chosen, good = cards._usable(result, facts, markets, product, book, outcome)  # type: ignore[arg-type]
    errors = {m: validate_card(m, facts, shouting) for m in markets}
    assert errors[Marketplace.YANDEX] and not errors[Marketplace.WILDBERRIES]  # capitals: YM's rule only
    assert good == [Marketplace.WILDBERRIES] and chosen is shouting
    assert 1 in outcome.retry and "yandex" in outcome.retry[1]  # the job is retried, naming YM
    assert any("yandex" in str(k) for k in book._outcomes)


async def test_a_provider_error_that_echoes_the_key_stores_no_key(
    rt: Any, llm: tuple[str, SandboxState]
) -> None:
    """Some proxies echo the request headers in their error bodies, x-api-key included: the job's
    error, the task's reason and the card result keep no trace of the key."""
    _, state = llm
    state.config.echo_headers_in_errors = True
    state.outage(3600.0, status=529)  # an outage whose error bodies echo the request headers
    async with rt.sessions() as session:
        ids = sorted((await session.execute(select(Product.id).where(Product.partner_id == 1))).scalars())
    job = await _claim(rt, ids[:1])
    failures = await cards.generate(rt, [job])
    assert failures is not None
    await rt.backend.retry_later("w", job, str(failures[job.id]), 0.0, None)
    stored = await rt.backend.get(job.id)
    async with rt.sessions() as session:
        reasons = (await session.execute(select(TaskRecord.reason))).scalars().all()
    key = "sk-ant-test-key-0001"
    assert stored is not None and stored.last_error and "LLM call failed" in stored.last_error
    assert all(key not in text for text in [str(failures[job.id]), stored.last_error, *map(str, reasons)])
