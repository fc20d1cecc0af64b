"""Console text: ru and uz cover every key, and every key a template uses exists."""

from __future__ import annotations

import re
from pathlib import Path

import aimanager.api.console as console
from aimanager.api.console.i18n import CATALOG, translator


def test_ru_and_uz_cover_every_key_the_templates_use() -> None:
    folder = Path(console.__file__).with_name("templates")
    used = set()
    for path in folder.glob("*.html"):
        used |= set(re.findall(r't\("([a-z_]+)"\)', path.read_text(encoding="utf-8")))
    used |= {"by_partner", "by_model", "by_task"}  # passed to t() as variables in spend.html
    assert used, "no t() calls found"
    for lang in ("ru", "uz", "en"):
        missing = sorted(used - set(CATALOG[lang]))
        assert not missing, f"{lang} lacks {missing}"
    assert translator("uz")("partners") == "Hamkorlar" and translator("xx")("partners") == "Партнёры"
