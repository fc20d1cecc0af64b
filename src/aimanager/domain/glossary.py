"""A small Russian ↔ Uzbek (Latin) glossary of marketplace words, and phrase-by-phrase translation.

Enough for the offline writer to write real Uzbek for what it knows — product kinds, attribute names,
colours, materials, countries, units — instead of spelling Russian in Latin letters ("Strana
proizvodstva"). Words it does not know are left to the caller (:func:`translate` marks them), which
transliterates names and drops free text it cannot render.

Each line of the tables is ``russian | uzbek``; Russian keys are lower case with ё written е.
Modifiers (adjectives, "для …" phrases) come before the noun in Uzbek: "Чайник электрический" →
"Elektr choynak", "Шампунь для волос" → "Soch uchun shampun".
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from aimanager.domain.uzbek import APOSTROPHES, OKINA, to_latin


def _table(text: str) -> dict[str, str]:
    pairs = (line.split("|") for line in text.strip().splitlines() if "|" in line)
    return {ru.strip(): uz.strip() for ru, uz in pairs}


# Things: product kinds and categories (nouns).
NOUNS = _table("""
чайник | choynak
электрочайник | elektr choynak
электрочайники | elektr choynaklar
кружка | krujka
кружки | krujkalar
термокружка | termokrujka
футболка | futbolka
футболки | futbolkalar
шампунь | shampun
шампуни | shampunlar
смартфон | smartfon
смартфоны | smartfonlar
телефон | telefon
рюкзак | ryukzak
рюкзаки | ryukzaklar
сковорода | tova
сковороды | tovalar
конструктор | konstruktor
конструкторы | konstruktorlar
посуда | idish-tovoq
наушники | quloqchinlar
часы | soat
сумка | sumka
куртка | kurtka
платье | koʻylak
обувь | poyabzal
кроссовки | krossovkalar
игрушка | oʻyinchoq
игрушки | oʻyinchoqlar
книга | kitob
лампа | chiroq
пылесос | changyutgich
холодильник | muzlatkich
утюг | dazmol
чехол | gʻilof
зарядное устройство | quvvatlagich
ноутбук | noutbuk
телевизор | televizor
полотенце | sochiq
подушка | yostiq
одеяло | adyol
мыло | sovun
зубная паста | tish pastasi
нож | pichoq
тарелка | likopcha
кастрюля | qozon
набор | toʻplam
товар | mahsulot
товары | mahsulotlar
""")

# Modifiers: adjectives and "для …" phrases, placed before the noun in Uzbek.
MODIFIERS = _table("""
электрический | elektr
электрическая | elektr
керамическая | keramik
керамический | keramik
мужская | erkaklar uchun
мужской | erkaklar uchun
женская | ayollar uchun
женский | ayollar uchun
детский | bolalar uchun
детская | bolalar uchun
хлопковая | paxta
хлопковый | paxta
городской | shahar
антипригарная | yopishmaydigan
для волос | soch uchun
для ноутбука | noutbuk uchun
для детей | bolalar uchun
для кухни | oshxona uchun
для дома | uy uchun
беспроводные | simsiz
беспроводной | simsiz
кожаный | charm
кожаная | charm
спортивный | sport
спортивная | sport
стальной | poʻlat
стеклянный | shisha
деревянный | yogʻoch
большой | katta
маленький | kichik
""")

# Attribute names (whole labels first; "Объём, л" is translated part by part).
LABELS = _table("""
цвет | rangi
размер | oʻlchami
размеры | oʻlchamlari
габариты | oʻlchamlari
материал | materiali
материал корпуса | korpus materiali
состав | tarkibi
страна производства | ishlab chiqarilgan mamlakat
страна-изготовитель | ishlab chiqarilgan mamlakat
страна производитель | ishlab chiqarilgan mamlakat
страна | mamlakat
гарантия | kafolat
гарантийный срок | kafolat muddati
вес | vazni
масса | vazni
объем | hajmi
мощность | quvvati
длина | uzunligi
ширина | kengligi
высота | balandligi
бренд | brend
модель | model
икпу | MXIK
категория | toifa
тип | turi
тип волос | soch turi
встроенная память | ichki xotira
оперативная память | operativ xotira
диагональ экрана | ekran diagonali
отделение для ноутбука | noutbuk boʻlimi
диаметр | diametri
покрытие | qoplamasi
индукция | induksion plitaga mosligi
деталей | detallar soni
возраст | yoshi
возраст, от лет | tavsiya etilgan yoshi
можно в посудомоечной машине | idish yuvish mashinasida yuvish mumkin
плотность | zichligi
комплектация | toʻplami
количество | soni
напряжение | kuchlanishi
назначение | vazifasi
пол | jinsi
сезон | mavsumi
характеристики | xususiyatlari
""")

# Values: colours, materials, finishes, countries, yes/no, and the sample catalog's line names.
VALUES = _table("""
белый | oq
белая | oq
белое | oq
черный | qora
черная | qora
серый | kulrang
серая | kulrang
синий | koʻk
синяя | koʻk
красный | qizil
красная | qizil
зеленый | yashil
зеленая | yashil
желтый | sariq
розовый | pushti
коричневый | jigarrang
бежевый | bej
голубой | havorang
фиолетовый | binafsha
оранжевый | toʻq sariq
серебристый | kumushrang
золотой | tillarang
прозрачный | shaffof
пластик | plastik
сталь | poʻlat
нержавеющая сталь | zanglamaydigan poʻlat
стекло | shisha
керамика | keramika
фарфор | chinni
дерево | yogʻoch
кожа | charm
хлопок | paxta
полиэстер | poliester
нейлон | neylon
эластан | elastan
металл | metall
силикон | silikon
резина | rezina
шерсть | jun
шелк | ipak
мраморное | marmar
титановое | titan
керамическое | keramik
да | ha
нет | yoʻq
узбекистан | Oʻzbekiston
китай | Xitoy
россия | Rossiya
турция | Turkiya
германия | Germaniya
корея | Koreya
южная корея | Janubiy Koreya
япония | Yaponiya
сша | AQSH
италия | Italiya
франция | Fransiya
польша | Polsha
казахстан | Qozogʻiston
индия | Hindiston
для всех типов | barcha turlar uchun
для сухих | quruq sochlar uchun
для жирных | yogʻli sochlar uchun
для нормальных | normal sochlar uchun
объем и сила | hajm va kuch
интенсивное восстановление | intensiv tiklash
свежесть | tetiklik
против перхоти | kepakka qarshi
и | va
""")

UNITS = _table("""
л | l
мл | ml
г | g
кг | kg
мм | mm
см | sm
м | m
гб | GB
тб | TB
вт | Vt
квт | kVt
в | V
мач | mAh
шт | dona
дюйм | dyuym
дюйма | dyuym
г/м² | g/m²
лет | yosh
деталей | ta detal
""")

PHRASES: dict[str, tuple[str, str]] = {
    **{k: (v, "value") for k, v in VALUES.items()},
    **{k: (v, "label") for k, v in LABELS.items()},
    **{k: (v, "modifier") for k, v in MODIFIERS.items()},
    **{k: (v, "noun") for k, v in NOUNS.items()},
}
_LONGEST = max(len(k.split()) for k in PHRASES)


def _uz_key(text: str) -> str:
    return re.sub(f"[{APOSTROPHES}]", OKINA, text.lower())


# Uzbek → Russian for Uzbek input: the first Russian form of each Uzbek word or phrase.
UZ_TO_RU: dict[str, str] = {}
for _ru, (_uz, _kind) in PHRASES.items():
    UZ_TO_RU.setdefault(_uz_key(_uz), _ru)
UZ_TO_RU.update({"rang": "цвет", "oʻlcham": "размер", "hajm": "объём", "vazn": "вес", "brendi": "бренд"})
UZ_UNITS = {_uz_key(v): k for k, v in UNITS.items() if " " not in v}

_TOKEN = re.compile(rf"[^\W\d_]+(?:[{APOSTROPHES}-][^\W\d_]+)*|\d+(?:[.,]\d+)?|\s+|.", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Piece:
    """A piece of translated text: ``known`` when the glossary gave it, else a transliteration."""

    text: str
    known: bool
    kind: str = ""  # noun | modifier | label | value | unit | "" (spaces, numbers, Latin names)


def _norm(word: str) -> str:
    return word.lower().replace("ё", "е")


@functools.lru_cache(maxsize=4096)  # attribute names and values repeat across a whole catalog
def translate(text: str) -> tuple[Piece, ...]:
    """Russian ``text`` → Uzbek pieces: glossary phrases (longest first), units after numbers, Latin
    and numbers as they are, other Cyrillic words transliterated and marked unknown.

    A leading run of glossary words is reordered modifiers-first ("Чайник электрический" → "elektr
    choynak"); the first letter keeps the source's capital.
    """
    tokens = _TOKEN.findall(text)
    pieces: list[Piece] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.strip() or not token[0].isalpha():
            pieces.append(Piece(token, True))
            i += 1
            continue
        unit = UNITS.get(_norm(token))
        before = "".join(p.text for p in pieces[-2:]).rstrip()[-1:]
        # After a number ("1,7 л") or in a label's unit part ("Объём, л"); "в" there is a preposition.
        if unit and (before.isdigit() or (before == "," and _norm(token) != "в")):
            pieces.append(Piece(unit, True, "unit"))
            i += 1
            continue
        match = _match(tokens, i)
        if match is not None:
            uz, kind, used = match
            if token[0].isupper():
                uz = uz[0].upper() + uz[1:]
            pieces.append(Piece(uz, True, kind))
            i = used
        elif any("\u0400" <= c <= "\u04ff" for c in token):
            pieces.append(Piece(to_latin(token), False))
        else:
            pieces.append(Piece(token, True))  # a Latin name or code
        if match is None:
            i += 1
    return tuple(_modifiers_first(pieces))


def _match(tokens: list[str], start: int) -> tuple[str, str, int] | None:
    """The longest glossary phrase starting at ``tokens[start]``: (uzbek, kind, index after it)."""
    words: list[tuple[str, int]] = []
    j = start
    while j < len(tokens) and len(words) < 2 * _LONGEST + 2:  # words, spaces and commas
        tok = tokens[j]
        if tok[0].isalpha():
            words.append((_norm(tok), j + 1))
        elif tok.isspace() or tok == ",":
            words.append((tok if tok == "," else " ", j + 1))
        else:
            break
        j += 1
    for end in range(len(words), 0, -1):
        if not words[end - 1][0].strip() or words[end - 1][0] == ",":
            continue
        key = "".join(w for w, _ in words[:end]).replace(" ,", ",")
        key = re.sub(r"\s+", " ", key)
        if key in PHRASES:
            uz, kind = PHRASES[key]
            return uz, kind, words[end - 1][1]
    return None


def _modifiers_first(pieces: list[Piece]) -> list[Piece]:
    run_end = 0
    for n, piece in enumerate(pieces):
        if piece.kind in ("noun", "modifier"):
            run_end = n + 1
        elif piece.text.strip():
            break
    run = [p for p in pieces[:run_end] if p.kind]
    if not any(p.kind == "noun" for p in run) or not any(p.kind == "modifier" for p in run):
        return pieces
    ordered = [p for p in run if p.kind == "modifier"] + [p for p in run if p.kind == "noun"]
    capital = pieces[0].text[:1].isupper()
    words = [p.text.lower() if p.text[:1].isupper() and not p.text.isupper() else p.text for p in ordered]
    if capital:
        words[0] = words[0][0].upper() + words[0][1:]
    head = Piece(" ".join(words), True, "noun")
    return [head, *pieces[run_end:]]


def to_uzbek(text: str) -> str:
    """Russian ``text`` in Uzbek as far as the glossary goes (unknown words transliterated)."""
    return "".join(p.text for p in translate(text))


def fully_known(text: str) -> bool:
    """True when every Cyrillic word of ``text`` is in the glossary."""
    return all(p.known for p in translate(text))


_DIGITS_COMMA = set("0123456789,")


def to_russian(text: str) -> str:
    """Uzbek (Latin or Cyrillic) ``text`` → Russian where the glossary knows a word or phrase; names and
    unknown words are kept as written (an Uzbek name in Cyrillic stays in Cyrillic)."""
    tokens = _TOKEN.findall(text)
    keys = [_uz_key(to_latin(t)) for t in tokens]
    out: list[str] = []
    i = 0
    while i < len(tokens):
        found = None
        for size in (5, 3, 1):  # "ishlab chiqarilgan mamlakat" is three words and two spaces
            key = "".join(keys[i : i + size])
            if key in UZ_TO_RU:
                found = (UZ_TO_RU[key], size)
                break
        if found is None and (unit := UZ_UNITS.get(keys[i])) and "".join(out).rstrip()[-1:] in _DIGITS_COMMA:
            found = (unit, 1)
        if found is None:
            out.append(tokens[i])
            i += 1
            continue
        ru, size = found
        out.append(ru[0].upper() + ru[1:] if tokens[i][:1].isupper() else ru)
        i += size
    return "".join(out)


def knows_russian_for(text: str) -> bool:
    """True when :func:`to_russian` finds at least one glossary word in ``text``."""
    return to_russian(text) != text
