"""The card path's CPU shortcuts say what the long way says, and ``bench llm --profile`` writes the
figure they were measured with (see docs/llm.md, "CPU per card")."""

from __future__ import annotations

import html
import pstats
import random
from pathlib import Path
from typing import Any

from aimanager.domain.rules import strip_markup
from aimanager.llm import prompts
from aimanager.llm.prompts import clean_text
from aimanager_lab.bench.llm import bench_products, run_cards


def _clean_text_long_way(text: str) -> str:
    text = prompts._TAG.sub(" ", text)
    text = html.unescape(text)
    text = prompts._TAG.sub(" ", text)
    text = prompts._CONTROL.sub(" ", text)
    text = prompts._SPACES.sub(" ", text)
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def test_clean_text_shortcut_matches_the_long_way() -> None:
    # Every character class the steps act on, and the whitespace str.strip and str.splitlines know.
    alphabet = [*"ab cй1<>&;#x\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\u200b\ufeff\u00a0\u3000\u2003 "]
    alphabet += ["&amp;", "<b>", "&lt;i&gt;", "  ", "Объём, мл"]
    rng = random.Random(3)
    shortcut = 0
    for _ in range(30_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 10)))
        assert clean_text(text) == _clean_text_long_way(text), repr(text)
        shortcut += clean_text(text) is text
    assert shortcut > 1000  # the shortcut was taken, not only the long way


def test_strip_markup_is_the_same_from_the_cache() -> None:
    for text in ("**Жирный** текст", "<b>Ткань</b>  хлопок", "## Заголовок\nстрока", "plain"):
        assert strip_markup(text) == strip_markup.__wrapped__(text) == strip_markup(text)


async def test_bench_llm_profile_writes_the_cpu_figure(
    sandbox: tuple[str, Any], sqlite_url: str, tmp_path: Path
) -> None:
    url, _ = sandbox
    path = tmp_path / "cards.pstats"
    run = await run_cards(url, bench_products(20), pack=True, cache=False, db=sqlite_url, profile=str(path))
    assert run["ok"] == 20 and run["cpu_s"] > 0
    stats = pstats.Stats(str(path))
    functions = {f"{file}:{name}" for file, _, name in stats.stats}  # type: ignore[attr-defined]
    assert any(f.endswith("card_flow.py:settle_pack") for f in functions)
    assert any(f.endswith("validate.py:draft_errors") for f in functions)
