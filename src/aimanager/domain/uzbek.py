"""Uzbek text: Cyrillic → Latin by the official 1995 alphabet, and telling Uzbek from Russian in Latin.

Uzbek cards and narratives must be Uzbek in the Latin script. Two failures are common: Uzbek written in
Cyrillic (sellers' catalogs often are), and Russian transliterated letter by letter ("Strana
proizvodstva: Kitay") passed off as Uzbek — it reads as Latin, so a script check alone lets it through.

* :func:`to_latin` transliterates Cyrillic Uzbek (and the Russian letters Uzbek Cyrillic shares) by
  the official alphabet: қ→q, ғ→gʻ, ў→oʻ, ҳ→h, е→ye at a word start or after a vowel, ц→ts between
  vowels; the modifier letters are U+02BB (ʻ) and U+02BC (ʼ). Only Cyrillic characters change, so Latin
  text comes back unchanged.
* :func:`russian_evidence` scores a Latin text: Russian function words, Russian-only vocabulary and
  Russian inflexions on one side, Uzbek letters (oʻ, gʻ, q), suffixes and function words on the other.
  :func:`uzbek_errors` turns a Russian-looking verdict or Cyrillic letters into one readable error.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

OKINA = "\u02bb"  # ʻ in oʻ, gʻ
TUTUQ = "\u02bc"  # ʼ, the hard sign / glottal stop
APOSTROPHES = "'`\u2018\u2019\u02bb\u02bc\u02b9"

_BASE: dict[str, str] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ғ": "g" + OKINA, "д": "d", "ё": "yo", "ж": "j", "з": "z",
    "и": "i", "й": "y", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ў": "o" + OKINA, "ф": "f", "х": "x", "ҳ": "h", "ч": "ch", "ш": "sh",
    "ъ": TUTUQ, "ь": "", "э": "e", "ю": "yu", "я": "ya",
    # Russian letters outside the Uzbek alphabet, as Uzbek writers spell them.
    "щ": "sh", "ы": "i",
    # Letters of neighbouring Cyrillic alphabets that turn up in pasted catalog text.
    "є": "ye", "і": "i", "ї": "yi", "ґ": "g", "ә": "a", "ө": "o", "ү": "u", "ұ": "u", "ң": "ng",
    "һ": "h", "җ": "j", "ђ": "dj", "ј": "j", "љ": "lj", "њ": "nj", "ћ": "c",
    "џ": "dj", "ѓ": "g", "ќ": "k", "ѕ": "dz", "ӣ": "i", "ӯ": "u", "ҷ": "j", "ҡ": "q", "ӏ": "",
}  # fmt: skip
_VOWELS = set("аеёиоуўэюяыәөүұіїєaeiouy")
_SIGNS = set("ъь")
_CYRILLIC_RANGES = ((0x0400, 0x052F), (0x1C80, 0x1C8F), (0x2DE0, 0x2DFF), (0xA640, 0xA69F))


def is_cyrillic(char: str) -> bool:
    """True for any character of the Unicode Cyrillic blocks."""
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _CYRILLIC_RANGES)


_CYRILLIC_CLASS = "".join(f"\\u{lo:04x}-\\u{hi:04x}" for lo, hi in _CYRILLIC_RANGES)
CYRILLIC = re.compile(f"[{_CYRILLIC_CLASS}]")
_CYRILLIC_WORD = re.compile(rf"[\w{_CYRILLIC_CLASS}]*[{_CYRILLIC_CLASS}][\w{_CYRILLIC_CLASS}]*")


def has_cyrillic(text: str) -> bool:
    return CYRILLIC.search(text) is not None


def cyrillic_words(text: str) -> list[str]:
    """The words of ``text`` that contain a Cyrillic letter, in order, without repeats."""
    return list(dict.fromkeys(m.group(0) for m in _CYRILLIC_WORD.finditer(text)))


def _fallback(char: str) -> str:
    """A Latin spelling for a Cyrillic character outside the table: its base letter, or nothing."""
    base = unicodedata.normalize("NFD", char)[0]
    if base != char and base.lower() in _BASE:
        return _BASE[base.lower()]
    return ""  # combining marks, historic letters: nothing an Uzbek reader would miss


def _is_upper_word(text: str, start: int) -> bool:
    """True when the word around ``text[start]`` has two or more letters, all capitals."""
    lo = start
    while lo > 0 and text[lo - 1].isalpha():
        lo -= 1
    hi = start
    while hi < len(text) and text[hi].isalpha():
        hi += 1
    cased = [c for c in text[lo:hi] if c.lower() != c.upper()]
    return len(cased) > 1 and all(c.isupper() for c in cased)


def to_latin(text: str) -> str:
    """Cyrillic Uzbek → Latin Uzbek by the official alphabet; non-Cyrillic characters are kept as is.

    "Самарқанд" → "Samarqand", "Ўзбекистон" → "Oʻzbekiston", "ғалла" → "gʻalla", "ер" → "yer",
    "ШАҲАР" → "SHAHAR".
    """
    if not has_cyrillic(text):
        return text
    out: list[str] = []
    for i, char in enumerate(text):
        if not is_cyrillic(char):
            out.append(char)
            continue
        low = char.lower()
        prev = text[i - 1].lower() if i > 0 else ""
        nxt = text[i + 1].lower() if i + 1 < len(text) else ""
        if low == "е":
            latin = "ye" if not prev.isalpha() or prev in _VOWELS or prev in _SIGNS else "e"
        elif low == "ц":
            latin = "ts" if prev in _VOWELS and nxt in _VOWELS else "s"
        else:
            latin = _BASE[low] if low in _BASE else _fallback(char)
        if char != low and latin:
            # A capital: the whole digraph in capitals inside an all-caps word, else only its first letter.
            latin = latin.upper() if _is_upper_word(text, i) else latin[0].upper() + latin[1:]
        out.append(latin)
    return "".join(out)


def normalise_apostrophes(text: str) -> str:
    """Uzbek Latin with the official modifier letters: o' g' (any apostrophe) → oʻ gʻ, other ' → ʼ."""
    text = re.sub(rf"(?<=[oOgG])[{APOSTROPHES}](?=\w)", OKINA, text)
    return re.sub(
        rf"(?<=\w)[{APOSTROPHES}](?=\w)", lambda m: m.group(0) if m.group(0) == OKINA else TUTUQ, text
    )


# -- Russian in Latin letters -------------------------------------------------------------------------
def words(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text`` (word lists are written as paragraphs)."""
    return frozenset(text.split())


# Words only Russian uses (as transliterated by either the Uzbek or the English convention), weight 2.
RUSSIAN_WORDS = words(
    """
    dlya ili ochen takzhe tak kotoryy kotoraya kotoroye kotoroe kotorye kotoryye chto eto etot eta eti
    vse vsyo vsego vsex vsekh mozhno nuzhno tolko uzhe yesli esli chtoby mezhdu posle cherez dazhe
    strana strany stranoy proizvodstva proizvodstvo proizvoditel proizvoditelya tsvet tsveta tsvetov
    razmer razmera razmery razmerov ves vesa obyom obem obyem obʼyom obʼem vysota vysoty shirina
    shiriny dlina dliny kharakteristiki xarakteristiki harakteristiki kharakteristika xarakteristika
    opisanie opisaniye sostav moshchnost moshnost moshchnostyu tsena tseny skidka dostavka prodazha
    kachestvo kachestva udobnyy udobnaya nadezhnyy nadyozhnyy novyy novaya belyy belaya chernyy chyornyy
    chyornaya chernaya seryy seraya siniy sinyaya krasnyy krasnaya zelenyy zelyonyy zelyonaya zelenaya
    muzhskaya muzhskoy zhenskaya zhenskiy detskiy detskaya volos kitay kitai turtsiya khlopok xlopok
    khlopka xlopka stali keramiki tovara kupit podarok garantii god goda let izdeliye izdelie upakovki
    upakovke komplekte tkani bolshoy bolshaya bolshoye bolshoe bolshim novinka prochnyy legkiy udobno
    idealno podkhodit podxodit predmetov shtuk originalnyy originalnaya
    """
)
# Russian names of things that Uzbek speech borrows ("skovoroda" for "tova"): weight 1.5, so one of them
# in an Uzbek title is not enough to call the title Russian, two are.
RUSSIAN_LOANS = words("chaynik kruzhka skovoroda igrushka tkan stal plastika nabor")
# Short Russian function words, weight 1 (only when written in lower case, so sizes "S"/"M" don't count).
RUSSIAN_SHORT = words("i v na s k po ot iz za ne no kak pri bez ego yego yeyo eyo ikh ix ee yee")
_RU_ENDINGS = re.compile(
    r"(?:ogo|ego|omu|emu|skiy|skoy|skaya|skoye|skoe|skie|skiye|skikh|skix|[nkgxhzc]iy|chiy|shiy|yy|aya"
    r"|oye|yye|iye|ie|oe|ykh|ikh|yx|ym|skoy|[nvk]oy|stva|stvo|nost|nosti|eniye|enie|aniye|anie|ovat|irovan\w*)$"
)
_RU_LETTERS = re.compile(r"zh|shch|kh")

# Uzbek function words and frequent product vocabulary.
UZBEK_WORDS = words(
    """
    va uchun bilan ham bu shu yoki emas bor juda eng har mumkin kerak mahsulot mahsuloti mahsulotlar
    rang rangi hajm hajmi vazn vazni kafolat kafolati ishlab chiqarilgan chiqaruvchi mamlakat mamlakati
    toifa toifasi sifat sifatli qulay uy barcha hamda yangi katta kichik oq qora koʻk yashil qizil sariq
    kulrang erkaklar ayollar bolalar soch choynak oʻlcham oʻlchami materiali tarkibi brendi
    xususiyatlari xususiyatlar asosiy kundalik foydalanish yuvish idish mashinasi quvvati uzunligi
    kengligi balandligi ogʻirligi dona yil yillik narx narxi xitoy turkiya oʻzbekiston poʻlat paxta
    sopol chinni shisha yogʻoch charm teri elektr dyuym
    """
)
_UZ_SUFFIXES = re.compile(
    r"(?:lar|lari|larni|larga|lardan|larda|larning|ning|dagi|dan|lik|liq|siz|dir|moq|ydi|adi|gan|lgan"
    r"|chi|si|ni|ga|da)$"
)
_UZ_SUFFIX_WEIGHT = {"ga": 0.5, "da": 0.5, "ni": 0.5, "si": 0.5, "chi": 0.5}
_UZ_LETTERS = re.compile(rf"[og][{APOSTROPHES}][a-z]|q")
# A word of letters (with Uzbek apostrophes), or a run with digits in it (a code: not a word, skipped).
_WORD = re.compile(rf"(?P<word>[^\W\d_]+(?:[{APOSTROPHES}][^\W\d_]+)*)(?!\w)|\w+")
_QUOTED = re.compile(r"«[^»]{1,80}»|\"[^\"]{1,80}\"|“[^”]{1,80}”")

# A text is Russian in Latin letters when its Russian evidence reaches this weight and outweighs the
# Uzbek evidence by this factor (tuned on tests/domain/uzbek_corpus.py: no genuine sentence flagged).
RUSSIAN_MIN = 2.0
RUSSIAN_OVER_UZBEK = 1.0


@dataclass(frozen=True, slots=True)
class RussianEvidence:
    """How Russian and how Uzbek a Latin text reads, and the words that made it so."""

    russian: float
    uzbek: float
    russian_words: tuple[str, ...]

    @property
    def is_russian(self) -> bool:
        return self.russian >= RUSSIAN_MIN and self.russian > self.uzbek * RUSSIAN_OVER_UZBEK


_FOLD = str.maketrans(dict.fromkeys(APOSTROPHES, OKINA))


def _fold(word: str) -> str:
    return word.lower().translate(_FOLD)


@functools.lru_cache(maxsize=8192)
def _weights(word: str) -> tuple[float, float]:
    """(Russian, Uzbek) weight of one folded word; a word counts for one side only."""
    ru = _russian_weight(word)
    return (ru, 0.0) if ru else (0.0, _uzbek_weight(word))


def _russian_weight(word: str) -> float:
    plain = word.replace(OKINA, "").replace(TUTUQ, "")
    if word in RUSSIAN_WORDS or plain in RUSSIAN_WORDS:
        return 2.0
    if word in RUSSIAN_LOANS:
        return 1.5
    if word in UZBEK_WORDS or len(plain) < 4 or _UZ_LETTERS.search(word):
        return 0.0
    weight = 0.0
    if _RU_ENDINGS.search(plain) and len(plain) >= 5:
        weight += 1.0
    if _RU_LETTERS.search(plain):
        weight += 1.0
    return min(weight, 2.0)


def _uzbek_weight(word: str) -> float:
    if word in UZBEK_WORDS:
        return 1.5 if OKINA in word or "q" in word else 1.0
    weight = 0.0
    if _UZ_LETTERS.search(word):
        weight += 1.5
    if len(word) >= 4 and (m := _UZ_SUFFIXES.search(word)):
        weight += _UZ_SUFFIX_WEIGHT.get(m.group(0), 1.0)
    return min(weight, 2.0)


@functools.lru_cache(maxsize=256)  # one product's names serve all of its card's fields
def _folded(names: frozenset[str]) -> frozenset[str]:
    return frozenset(_fold(n) for n in names)


def russian_evidence(text: str, names: Iterable[str] = ()) -> RussianEvidence:
    """Score ``text`` (Latin) for Russian against Uzbek. ``names`` (brands, model names taken from the
    facts, lower case) and short «quoted» names are not words of either language and are skipped."""
    skip = _folded(names) if isinstance(names, frozenset) else _folded(frozenset(names))
    text = _QUOTED.sub(" ", text)
    mixed = has_cyrillic(text)
    russian = uzbek = 0.0
    found: list[str] = []
    for m in _WORD.finditer(text):
        raw = m.group("word")
        if raw is None or (mixed and has_cyrillic(raw)):
            continue
        word = _fold(raw)
        if word in skip:
            continue
        if len(word) == 1 or word in RUSSIAN_SHORT:
            before = text[max(0, m.start() - 2) : m.start()]
            # Sizes ("S", "M") and units after numbers ("220 V") are not prepositions.
            if word in RUSSIAN_SHORT and raw.islower() and not re.search(r"\d\s?$", before):
                russian += 1.0
                found.append(raw)
            continue
        ru, uz = _weights(word)
        if ru:
            russian += ru
            found.append(raw)
        uzbek += uz
    return RussianEvidence(russian, uzbek, tuple(dict.fromkeys(found)))


def uzbek_errors(where: str, text: str, names: Iterable[str] = ()) -> list[str]:
    """Errors for a text that must be Uzbek in the Latin script: Cyrillic letters, or Russian in Latin."""
    if not text.strip():
        return []
    if words := cyrillic_words(text):
        shown = ", ".join(words[:5])
        return [f"{where}: Uzbek must be in the Latin script, Cyrillic found ({shown})"]
    evidence = russian_evidence(text, names)
    if evidence.is_russian:
        shown = ", ".join(evidence.russian_words[:6])
        return [
            f"{where}: reads as Russian in Latin letters, not Uzbek (Russian words: {shown}; "
            f"Russian score {evidence.russian:g} against Uzbek {evidence.uzbek:g})"
        ]
    return []
