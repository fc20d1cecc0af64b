"""The imperfect model: each kind of bad answer, at rate 1.0, as the product's parser and validator see it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import openai
import pytest

from aimanager.domain.cards import CardDraft, ProductFacts
from aimanager.domain.validate import draft_errors
from aimanager.llm.errors import InvalidAnswer
from aimanager.llm.prompts import (
    CARD_SYSTEM,
    MISSING_ITEM,
    card_user_message,
    extract_json_object,
    narrative_user_message,
    parse_card_answer,
)
from aimanager_sandbox.common.serving import BackgroundServer
from aimanager_sandbox.llm import PERFECT, SandboxState, create_app, perfect
from aimanager_sandbox.llm.config import BAD_RATE_FIELDS
from aimanager_sandbox.llm.imperfect import REFUSAL

FACTS = [
    ProductFacts(
        sku=f"K{i}",
        name=f"Чайник электрический Tefal KO-150 серия {name}",
        brand="Tefal",
        category="Электрочайники",
        attributes={"Объём, л": "1,7", "Страна производства": "Китай", "Вес, г": "1200", "Цвет": "белый"},
    )
    for i, name in enumerate(("Alpha", "Beta", "Gamma"))
]
IDS = ["a", "b", "c"]
USER = card_user_message(list(zip(IDS, FACTS, strict=True)))


@pytest.fixture
async def sandbox() -> AsyncIterator[tuple[SandboxState, anthropic.AsyncAnthropic, openai.AsyncOpenAI]]:
    app = create_app(perfect(time_scale=0.001, rpm=None, itpm=None, otpm=None))
    with BackgroundServer(app) as server:
        claude = anthropic.AsyncAnthropic(base_url=server.base_url, api_key="sk-test", max_retries=0)
        gpt = openai.AsyncOpenAI(base_url=server.base_url + "/v1", api_key="sk-test", max_retries=0)
        yield app.state.sandbox, claude, gpt
        await claude.close()
        await gpt.close()


async def ask(claude: anthropic.AsyncAnthropic, user: str = USER) -> str:
    answer = await claude.messages.create(
        model="claude-haiku-5-5",
        max_tokens=20_000,
        system=CARD_SYSTEM,
        messages=[{"role": "user", "content": user}],
    )
    assert answer.stop_reason == "end_turn"
    return answer.content[0].text


def only(state: SandboxState, kind: str) -> None:
    state.config.update({**PERFECT, f"{kind}_rate": 1.0})


def drafts(text: str) -> dict[str, CardDraft | str]:
    return parse_card_answer(text, IDS)


async def test_a_kind_model_answers_every_item_validly(sandbox: Any) -> None:
    state, claude, _ = sandbox
    parsed = drafts(await ask(claude))
    for pid, facts in zip(IDS, FACTS, strict=True):
        draft = parsed[pid]
        assert isinstance(draft, CardDraft) and draft_errors(facts, draft) == []
    assert sum(state.stats()["bad_answers"].values()) == 0


async def test_refusal(sandbox: Any) -> None:
    state, claude, _ = sandbox
    only(state, "refusal")
    assert await ask(claude) == REFUSAL
    assert all(not isinstance(v, CardDraft) for v in drafts(REFUSAL).values())
    assert state.stats()["bad_answers"]["refusal"] == 1


async def test_invalid_json_spoils_the_whole_answer(sandbox: Any) -> None:
    state, claude, _ = sandbox
    only(state, "invalid_json")
    text = await ask(claude)
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert all(not isinstance(v, CardDraft) for v in drafts(text).values())  # nothing after the break parses


async def test_chatter_around_the_json(sandbox: Any) -> None:
    state, claude, _ = sandbox
    only(state, "chatter")
    text = await ask(claude)
    assert not text.startswith("{") and "```" in text
    assert len(extract_json_object(text)["items"]) == 3  # a tolerant parser still finds the cards


async def test_missing_item(sandbox: Any) -> None:
    state, claude, _ = sandbox
    only(state, "missing_item")
    assert set(drafts(await ask(claude)).values()) == {MISSING_ITEM}
    assert state.stats()["bad_answers"]["missing_item"] == 3


async def test_uz_in_cyrillic(sandbox: Any) -> None:
    state, claude, _ = sandbox
    only(state, "uz_cyrillic")
    for facts, draft in zip(FACTS, drafts(await ask(claude)).values(), strict=True):
        assert isinstance(draft, CardDraft)
        assert any("uz" in e and "Latin script" in e for e in draft_errors(facts, draft))
        assert "Хитой" in draft.uz.description  # Uzbek, in the other script (Xitoy)


async def test_a_number_not_in_the_facts(sandbox: Any) -> None:
    state, claude, _ = sandbox
    only(state, "invented_number")
    for facts, draft in zip(FACTS, drafts(await ask(claude)).values(), strict=True):
        assert isinstance(draft, CardDraft)
        assert any("not in the product facts" in e for e in draft_errors(facts, draft))


async def test_the_uzbek_description_left_empty(sandbox: Any) -> None:
    state, claude, _ = sandbox
    only(state, "empty_uz")
    for facts, draft in zip(FACTS, drafts(await ask(claude)).values(), strict=True):
        assert isinstance(draft, CardDraft)
        assert draft.uz.description == "" and draft.ru.description
        assert "uz: empty description" in draft_errors(facts, draft)


async def test_every_kind_on_the_openai_wire_too(sandbox: Any) -> None:
    state, _, gpt = sandbox
    state.config.update(dict.fromkeys(BAD_RATE_FIELDS, 1.0))  # refusal wins: it is the whole answer
    answer = await gpt.chat.completions.create(
        model="gpt-5.6-luna", messages=[{"role": "user", "content": USER}], max_completion_tokens=20_000
    )
    assert answer.choices[0].message.content == REFUSAL
    state.config.update({**PERFECT, "uz_cyrillic_rate": 1.0, "chatter_rate": 1.0})
    answer = await gpt.chat.completions.create(
        model="gpt-5.6-luna", messages=[{"role": "user", "content": USER}], max_completion_tokens=20_000
    )
    document = extract_json_object(answer.choices[0].message.content or "")
    assert all("Хитой" in item["card"]["uz"]["description"] for item in document["items"])


async def test_narratives_meet_the_bad_answers_too(sandbox: Any) -> None:
    state, claude, _ = sandbox
    user = narrative_user_message({"orders": 42, "revenue": 1500}, ("ru", "uz"))
    only(state, "uz_cyrillic")
    document = json.loads(await ask(claude, user))
    assert any("\u0400" <= c <= "\u04ff" for c in document["uz"])
    only(state, "invented_number")
    assert " 7 " in json.loads(await ask(claude, user))["ru"]  # 42 and 1500 are the only facts
    only(state, "refusal")
    with pytest.raises(InvalidAnswer):
        extract_json_object(await ask(claude, user))
