"""Marketplace content rules for every language: no contacts, links, promotion or injected instructions.

Marketplaces reject (and sellers get fined for) cards that carry phone numbers, links, e-mails,
messenger handles, invitations to get in touch outside the marketplace, or promotional bait; seller
catalogs carry all of these, and so does text planted to steer a model. The number rule of
``domain.validate`` cannot catch them: the numbers are *in the facts* (the payload came from there).
So these rules look at the text itself, in Russian, Uzbek and English:

* phone numbers in any common shape (``+998 90 123 45 67``, ``8 (800) 555-35-35``, ``+7-916-…``,
  a letter o for a zero, "dash" spelled out); a phone-like *model code* that the product's own name or
  attributes carry (not its free description, not a contact field) is licensed;
* links, domains and e-mails; messenger names and handles (``@shop``, ``t.me/…``, telegram, whatsapp…);
* invitations to call or write ("звоните", "bizga yozing", "DM us");
* promotional bait ("скидка 99%", "eng arzon", "best price", "sale") — a phrase the product's own name
  carries is licensed; a bare number or "100% хлопок" is not promotion;
* residue of prompt injection or of a model talking about itself (:data:`INJECTION_PATTERNS`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aimanager.domain.cards import ProductFacts
from aimanager.domain.uzbek import words

_AP = "'`\u2018\u2019\u02bb\u02bc"  # the apostrophes Uzbek is typed with (oʻ, o', o`, o’)

INJECTION_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE | re.MULTILINE)
    for p in (
        r"ignore (all |any )?(the |your )?(previous|prior|above|earlier) (instructions|prompts?|rules)",
        r"disregard (all |the |your )?(previous|prior|above|earlier)? ?(instructions|rules|prompt)",
        r"forget (all |everything |your )?(previous |prior |above )?(instructions|rules|you were told)",
        r"(system|developer) prompt",
        r"\bas an ai\b|\bai language model\b|\bi(?: a|')m an ai\b",
        r"\bi can(?:no|')t (?:fulfil|fulfill|help|comply|do that)|\bsorry,? (?:but )?i\b",
        r"\byou are now\b|\bfrom now on\b|\bnew (?:instructions?|task|role)\s*:",
        r"\b(?:hacked|pwned|jailbroken|jailbreak)\b",
        r"игнорир\w* (все |всех )?(предыдущ|прошл|вышеуказ)\w* (инструкц|указан|правил)\w*",
        r"забудь\w* (?:(?:все|всё|свои|твои|эти|предыдущ\w*|прошл\w*|прежн\w*)\s+){0,3}"
        r"(?:инструкц|указан|правил|промпт)",
        r"не (?:следуй|соблюдай)\w* (?:\w+\s+)?(?:инструкц|правил)\w*",
        r"системн\w+ (промпт|подсказк|инструкц)\w*",
        r"как (языковая )?модель ии|как ии[- ]модель|я не могу (выполнить|помочь)",
        r"\bтеперь ты\b|\bты теперь\b|\bотныне ты\b",
        rf"(?:oldingi|avvalgi|barcha|yuqoridagi)\s+(?:ko[{_AP}]?rsatma|buyruq|qoida)\w*",
        rf"ko[{_AP}]?rsatmalar\w*\s+(?:unut|e[{_AP}]?tiborsiz|bekor)",
        r"\bendi sen\b|\bsen endi\b",
        r"<\|?(?:im_start|im_end|system|assistant|endoftext)\|?>",
        r"^\s*(assistant|system|user)\s*:",  # at the start of any line
    )
)
# One scan for all of them: most text is clean, and one pass is ~15× cheaper than nineteen.
_ANY_INJECTION = re.compile("|".join(f"(?:{p.pattern})" for p in INJECTION_PATTERNS), re.I | re.M)

# -- phones ---------------------------------------------------------------------------------------------
_SEPARATOR_WORDS = ("dash", "hyphen", "тире", "дефис", "chiziqcha")
_SPELLED_SEPARATOR = re.compile(r"(?<=\d)\s*\b(?:dash|hyphen|тире|дефис|chiziqcha)\b\s*(?=\d)", re.I)
# A letter o for a zero, next to a digit (written letter-first so the scan can skip to o's quickly).
_O_FOR_ZERO = re.compile(r"[oOоО](?<=\d[oOоО])|[oOоО](?=\d)")
_PHONE_RUN = re.compile(r"(?<![\w+])\+?[ \u00a0]?\(?\d[\d \u00a0().\-\u2010-\u2015]{6,}\d(?!\w)")
_GROUPS = re.compile(r"\d+")


def _phone_text(text: str) -> str:
    """``text`` with spelled separators and letter-o zeros turned into what they stand for."""
    lower = text.lower()
    if any(word in lower for word in _SEPARATOR_WORDS):
        text = _SPELLED_SEPARATOR.sub("-", text)
    for _ in range(4):  # "8oo" → "80o" → "800"
        text, changed = _O_FOR_ZERO.subn("0", text)
        if not changed:
            break
    return text


def _is_phone(token: str) -> bool:
    groups = _GROUPS.findall(token)
    digits = "".join(groups)
    if not 9 <= len(digits) <= 15:
        return False
    if token.lstrip().startswith("+"):
        return True
    if len(groups) == 1:  # one unbroken run: only the shapes of Uzbek and Russian mobile numbers
        return (len(digits) == 12 and digits.startswith("998")) or (
            len(digits) == 11 and digits[0] in "78" and digits[1] in "89"
        )
    if "(" in token and ")" in token:
        return True
    if all(len(g) == 3 for g in groups[1:]) and len(groups[0]) <= 3:
        return False  # "125 000 000": a grouped amount, not a phone
    # Phones end in pairs ("45 67", "35-35") or a block of four ("555-1234").
    return (len(groups[-1]) == 2 and len(groups[-2]) == 2) or (len(groups[-1]) == 4 and len(groups) >= 2)


def phones_in(text: str) -> list[str]:
    """Phone numbers in ``text`` as written (letter-o zeros and spelled dashes count as digits)."""
    normal = _phone_text(text)
    return [m.group(0).strip() for m in _PHONE_RUN.finditer(normal) if _is_phone(m.group(0))]


def _digits(token: str) -> str:
    return "".join(_GROUPS.findall(token))


# -- links, messengers, invitations, promotion ---------------------------------------------------------
_TLD = r"(?:ru|uz|com|net|org|me|io|shop|store|su|info|biz|site|online|kz|ua|tj|kg|xyz|рф)"
_LINKS = re.compile(
    r"https?://\S+|\bwww\.\S+|\b[\w.+-]+@[\w-]+\.[\w.-]+"
    rf"|(?<![\w@])[a-zа-я0-9-]+(?:\.[a-zа-я0-9-]+)*\.{_TLD}\b(?:/\S*)?|\b(?:t|wa)\s*\.\s*me\b"
    rf"|\b\w+\s*(?:\(dot\)|\[dot\]|\bdot\b|\bточка\b|\bnuqta\b)\s*{_TLD}\b",
    re.IGNORECASE,
)
_MESSENGERS = re.compile(
    r"(?<![\w.])@[A-Za-z0-9_]{3,}"
    r"|\b(?:telegram\w*|телеграм\w*|whats\s?app\w*|вотсап\w*|ватсап\w*|вацап\w*|vatsap\w*|viber\w*"
    r"|вайбер\w*|instagram\w*|инстаграм\w*|insta|инста|imo|имо|tiktok\w*|тикток\w*)\b",
    re.IGNORECASE,
)
_INVITATIONS = re.compile(
    r"\b(?:по)?звоните\b|\bпозвони\b|\b(?:на)?пиши(?:те)?\s+(?:нам|мне|в|на)\b|\bсвяжитесь\b|\bобращайтесь\b"
    r"|\bзаказ\w*\s+по\s+(?:телефону|номеру)|\bв\s+(?:директ|лс|личк\w*)"
    rf"|qo[{_AP}]?ng[{_AP}]?iroq\s+qil\w*|\bbizga\s+yoz\w*|\bbiz\s+bilan\s+bog[{_AP}]?lan\w*"
    r"|\btelefon\s+qil\w*|\bmurojaat\s+qil\w*|\baloqa\s+uchun\b|\blichkaga\b|\bdirektga\b"
    r"|\b(?:call|text|message|dm|contact|email|e-mail|whatsapp|ping)\s+(?:us|me)\b|\bget\s+in\s+touch\b"
    r"|\b(?:in|via|to)\s+(?:dm|dms)\b|\bdirect\s+message",
    re.IGNORECASE,
)
_PROMO = re.compile(
    r"\bскидк\w*|\bраспродаж\w*|\bакци(?:я|и|ю|ей|ях|онн\w*)\b|\b(?:лучш|низк|выгодн)\w*\s+цен\w*"
    r"|\bдешевле\b|\bсамы[йемх]\s+дешёв\w*|\bсамы[йемх]\s+дешев\w*|\bтолько\s+сегодня\b|\bуспей\w*\b"
    r"|\bбесплатн\w+\s+доставк\w*|\bпромокод\w*|\bкэшбэк\w*|\bкешбек\w*"
    r"|\beng\s+arzon\w*|\bchegirma\w*|\baksiya\w*|\barzon\s+narx\w*|\bbepul\s+yetkazib|\bfaqat\s+bugun\b"
    r"|\bshoshiling\b"
    r"|\bbest\s+price\w*|\bsale\b|\bdiscount\w*|\bcheapest\b|\blowest\s+price\w*|\bfree\s+shipping\b"
    r"|\bonly\s+today\b|\blimited\s+offer\b|\bpromo\s*code\w*|\bclearance\b"
    r"|\d+\s?%\s?(?:off|скидк\w*|chegirma\w*)\b|(?<![\w\d.,])[-−–]\s?\d{1,2}\s?%",
    re.IGNORECASE,
)
_CONTACT_KEY = re.compile(
    r"телефон|тел\b|phone|контакт|contact|whatsapp|telegram|aloqa|номер\s+для\s+связи|e-?mail|почта",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Licence:
    """What the product's own facts allow a card to repeat: phone-like model codes (as digit strings)
    and the words of its name and brand (a brand "Sale Kids", a book "Telegram-боты")."""

    phones: frozenset[str] = frozenset()
    own_text: str = ""


def licence_for(facts: ProductFacts) -> Licence:
    """The :class:`Licence` of ``facts``: codes from the name and non-contact attributes only, since the
    free description is where sellers (and injected text) put their phone numbers."""
    sources = [facts.name, facts.brand or ""]
    sources += [v for k, v in facts.attributes.items() if not _CONTACT_KEY.search(k)]
    phones = {
        _digits(p)
        for text in sources
        if not text.lstrip().startswith("+")
        for p in phones_in(text)
        if not p.startswith("+")
    }
    own = f"{facts.name}\n{facts.brand or ''}".lower()
    return Licence(frozenset(phones), own)


_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("links", _LINKS),
    ("messenger handles", _MESSENGERS),
    ("contact invitations", _INVITATIONS),
    ("promotional phrases", _PROMO),
)
_ANY_RULE = re.compile("|".join(f"(?:{p.pattern})" for _, p in _RULES), re.IGNORECASE)
_NOT_DIGITS = str.maketrans("", "", "0123456789")

# The first four letters (or the whole word) of every word the rules above start from, or need. The
# alternations cost ~1 ms per card; a set lookup over the card's words decides whether to run them.
# Keep in step with the patterns (tests/domain/test_content_rules.py checks every example trips it).
_TRIGGERS = words(
    """
    tele теле what вотс ватс ваца vats vibe вайб inst инст imo имо tikt тикт
    звон позв пиши напи свяж обра зака дире лс личк iroq qoʻn qong bizg bog bogʻ muro aloq lich
    call text mess dm dms cont emai mail ping touc
    скид расп акци лучш низк выго деше дешё сего успе бесп пром кэшб кешб arzo cheg aksi bepu bugu shos
    pric sale disc chea ship toda offe clea off
    igno disr forg syst deve ai lang sorr can cann you now new hack pwne jail игно забу след собл сист
    моде ии могу тепе отны rsat koʻr kors buyr qoid endi im_s im_e endo assi user
    http www dot точк nuqt
    """
)
_TRIGGER_MARKS = re.compile(rf"[@<]|[-−–]\s?\d{{1,2}}\s?%|\.{_TLD}\b|\bt\s*\.\s*me\b", re.IGNORECASE)
_WORDS = re.compile(r"\w+")


def may_break_rules(text: str) -> bool:
    """A cheap first look: False means :func:`content_findings` and :func:`injection_error` find nothing
    in ``text`` (so a card's fields are checked one by one only when their joined text trips it)."""
    lower = text.lower()
    if not _TRIGGERS.isdisjoint({w[:4] for w in _WORDS.findall(lower)}) or _TRIGGER_MARKS.search(lower):
        return True
    digits = len(text) - len(text.translate(_NOT_DIGITS))
    return digits >= 7 and bool(phones_in(text))


# -- an exact first look for many fields at once ----------------------------------------------------------
# ``may_break_rules`` is coarse (four-letter stems such as "моде", "сист", "koʻr" are in most Russian
# and Uzbek product text), and the rules it lets through cost ~4 ms per card field by field: the
# alternations above try every branch at every position. Every match of every rule and injection
# pattern contains one of these lower-case strings or a match of ``_GATE``, so a text with neither has
# no finding. Keep in step with the patterns (tests/domain/test_content_gate.py checks the corpora and
# every example). Stems stand for: links; messengers; invitations; promotion; injection residue.
_GATE_STEMS: tuple[str, ...] = (
    *words(
        """
        http www. @ dot) dot] .ru .uz .com .net .org .me .io .shop .store .su .info .biz .site .online .kz
        .ua .tj .kg .xyz .рф
        telegram телеграм whats вотсап ватсап вацап vatsap viber вайбер instagram инстаграм tiktok тикток
        звоните позвони пиши свяжитесь обращайтесь телефону номеру директ личк bizga murojaat lichkaga
        direktga touch direct
        скидк распродаж акци дешев дешёв сегодня успей бесплатн промокод кэшбэк кешбек arzon chegirma
        aksiya bepul bugun shoshiling price sale discount cheapest shipping today offer promo clearance
        ignore disregard forget prompt hacked pwned jailbr игнорир забудь следуй соблюдай промпт подсказк
        rsatma < ии-модель
        """
    ),
    *(f"bog{ap}lan" for ap in ("", *_AP)),
    *("an ai", "language model", "i can", "sorry", "you are now", "from now on", "new instruction"),
    *("new task", "new role", "модель ии", "ии модель", "я не могу", "теперь ты", "ты теперь"),
    *("отныне ты", "endi sen", "sen endi"),
)
# The alternatives no distinctive substring stands for (a short word, or a common one in a context), each
# with the strings one of which every match contains (the pattern runs only when the text has one) or
# none when the pattern starts with a caseless literal or class (re then skips to it quickly).
_GATE_CHECKS: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (guards, re.compile(pattern, re.IGNORECASE))
    for guards, pattern in (
        (("insta", "инста", "imo", "имо"), r"\b(?:insta|инста|imo|имо)\b"),
        ((), r"\.\s*me"),
        (("dot", "точка", "nuqta"), rf"(?:dot|точка|nuqta)\s*{_TLD}"),
        (("лс",), r"в\s+лс"),
        ((), r"\s(?:us\b|me\b|dms?\b|цен)"),
        (("iroq",), r"iroq\s+qil"),
        (("telefon",), r"telefon\s+qil"),
        (("aloqa",), r"aloqa\s+uchun"),
        ((), r"%\s?off|[-−–]\s?\d{1,2}\s?%"),
        (("системн",), r"системн\w+ инструкц"),
        (("buyruq", "qoida"), r"(?:oldingi|avvalgi|barcha|yuqoridagi)\s+(?:buyruq|qoida)"),
        (("assistant", "system", "user"), r"(?:assistant|system|user)\s*:"),
    )
)
# Characters whose case folding under re.IGNORECASE is not what str.lower gives for the stems' letters
# (dotted/dotless i, long s, old Cyrillic letter forms): a text with one is looked at the slow way.
_UNPLAIN = re.compile("[\u0130\u0131\u017f\u1c80-\u1c88]")


def rules_free(texts: Sequence[str]) -> bool:
    """True when :func:`content_findings` and :func:`injection_error` find nothing in any of ``texts``
    (exact: False only means the texts must be looked at one by one)."""
    joined = "\n".join(texts)
    if _UNPLAIN.search(joined):
        return False
    lower = joined.lower()
    if any(stem in lower for stem in _GATE_STEMS):
        return False
    for guards, pattern in _GATE_CHECKS:
        if (not guards or any(g in lower for g in guards)) and pattern.search(joined):
            return False
    # Phones never span a NUL, so the fields' phones are those of the NUL-joined text.
    return not phones_in("\x00".join(texts))


def content_findings(text: str, licence: Licence = Licence()) -> list[tuple[str, str]]:
    """(kind, what was found) for each content rule ``text`` breaks; kinds: phone numbers, links,
    messenger handles, contact invitations, promotional phrases."""
    found: list[tuple[str, str]] = []
    for phone in phones_in(text):
        if _digits(phone) not in licence.phones or phone.startswith("+"):
            found.append(("phone numbers", phone))
    if not _ANY_RULE.search(text):
        return found
    for kind, pattern in _RULES:
        for m in pattern.finditer(text):
            phrase = m.group(0).strip()
            if kind in ("messenger handles", "promotional phrases") and phrase.lower() in licence.own_text:
                continue  # the product's own name says it
            found.append((kind, phrase))
    return list(dict.fromkeys(found))


def content_rule_errors(where: str, text: str, licence: Licence = Licence()) -> list[str]:
    """One readable error per kind of content ``text`` must not carry (``where`` names the field)."""
    by_kind: dict[str, list[str]] = {}
    for kind, phrase in content_findings(text, licence):
        by_kind.setdefault(kind, []).append(phrase)
    return [
        f"{where}: {kind} are not allowed ({', '.join(f'«{p[:60]}»' for p in phrases[:3])})"
        for kind, phrases in by_kind.items()
    ]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def safe_sentences(text: str | None, licence: Licence = Licence()) -> list[str]:
    """The sentences of seller ``text`` a card may repeat: those that carry no contact, link,
    promotion or instruction aimed at a model (a writer drops the rest, never rewords them)."""
    parts = (s.strip() for s in _SENTENCE_END.split(text or ""))
    return [s for s in parts if s and is_safe(s, licence)]


def publishable_attributes(facts: ProductFacts) -> dict[str, str]:
    """The characteristics a card carries: the facts' own, every non-empty one whose ``name: value``
    keeps the content rules (a seller's phone number or link in a value is left out, never copied).
    Taken from the facts, not asked of a model: copying them is all a model could do, at ~8 % of a
    card's output tokens, and a model that copies can also drop one."""
    licence = licence_for(facts)
    return {k: v for k, v in facts.attributes.items() if v.strip() and is_safe(f"{k}: {v}", licence)}


def is_safe(text: str, licence: Licence = Licence()) -> bool:
    """True when ``text`` breaks no content rule and carries no injected instruction."""
    if not may_break_rules(text):
        return True
    return not content_findings(text, licence) and injection_error("", text) is None


def injection_error(where: str, text: str) -> str | None:
    """An error when ``text`` carries an instruction aimed at a model or a model's chatter."""
    if not _ANY_INJECTION.search(text):
        return None
    for pattern in INJECTION_PATTERNS:
        if m := pattern.search(text):
            return f"{where}: instruction or model-chatter residue («{m.group(0)[:50]}»)"
    return None
