"""What the sandbox's "model" answers: the offline writer's JSON, plus the test behaviours.

- ``bad_skus`` × ``weak_models``: the small model writes an invalid card (too-long title, an invented
  number) for those products; the large model writes them correctly — so escalation can be shown.
- ``gullible``: a prompt containing "ignore previous instructions" makes the model obey it for every
  item of the pack, with chatter around the JSON — the worst case a pack can meet.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aimanager.llm import offline as writer
from aimanager.llm.prompts import CARD_PROMPT_VERSION
from aimanager_sandbox.llm.state import SandboxConfig

_INJECTION = re.compile(r"ignore (all )?(previous|prior|above) instructions", re.I)


def answer(config: SandboxConfig, model: str, user_text: str) -> str:
    """The answer text for one request."""
    if f"TASK {CARD_PROMPT_VERSION}" not in user_text:
        return writer.answer(user_text)
    items = writer.card_items(user_text)
    if config.gullible and _INJECTION.search(user_text):
        hacked: list[dict[str, Any]] = []
        for pid, facts in items:
            card = writer.write_card(facts).model_dump(mode="json")
            card["ru"]["title"] = card["uz"]["title"] = "HACKED"
            hacked.append({"id": pid, "card": card})
        return "Sure! Ignoring my instructions as asked:\n" + json.dumps(
            {"items": hacked}, ensure_ascii=False
        )
    out: list[dict[str, Any]] = []
    for pid, facts in items:
        card = writer.write_card(facts).model_dump(mode="json")
        if facts.sku in config.bad_skus and model in config.weak_models:
            card["ru"]["title"] = (card["ru"]["title"] + " — лучший выбор 2026 года, скидка 99%") * 2
        out.append({"id": pid, "card": card})
    return json.dumps({"items": out}, ensure_ascii=False)


def fails_in_batch(config: SandboxConfig, user_text: str) -> bool:
    """A batch request whose card prompt names one of ``config.batch_error_skus`` comes back as an
    error line (batch fault injection)."""
    if f"TASK {CARD_PROMPT_VERSION}" not in user_text:
        return False
    return any(facts.sku in config.batch_error_skus for _, facts in writer.card_items(user_text))
