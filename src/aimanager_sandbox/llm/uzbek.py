"""Uzbek for the sandbox's card writer: a small glossary of product words and the official alphabets.

Uzbek is written in the Latin script of 1995 (oʻ and gʻ with U+02BB, the tutuq belgisi ʼ with U+02BC).
Russian catalog values are *translated* where the glossary knows them ("Страна производства: Китай" →
"Ishlab chiqarilgan mamlakat: Xitoy"); only words it does not know (brand-like model names, rare
nouns) are transliterated, letter by letter, with the official Cyrillic→Latin table, which also covers
the Uzbek Cyrillic letters қ ғ ў ҳ. ``to_cyrillic`` goes the other way, for the "uz in Cyrillic"
imperfect answer.
"""

from __future__ import annotations

import re

OQ, GQ, TUTUQ = "oʻ", "gʻ", "ʼ"

_CYR = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ж": "j", "з": "z", "и": "i", "й": "y", "к": "k",
    "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f",
    "х": "x", "ч": "ch", "ш": "sh", "щ": "sh", "ъ": TUTUQ, "ы": "i", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "ё": "yo", "ў": OQ, "қ": "q", "ғ": GQ, "ҳ": "h",
}  # fmt: skip
_VOWELS = set("аеёиоуэюяўыaeiou")


def to_latin(text: str) -> str:
    """Cyrillic (Russian or Uzbek) → Uzbek Latin by the official table (е → ye at a word's start or
    after a vowel, ц → s at the start and ts elsewhere)."""
    out: list[str] = []
    previous = ""
    for char in text:
        low = char.lower()
        if low == "е":
            latin = "ye" if not previous.isalpha() or previous.lower() in _VOWELS else "e"
        elif low == "ц":
            latin = "s" if not previous.isalpha() else "ts"
        elif low in _CYR:
            latin = _CYR[low]
        elif "\u0400" <= char <= "\u04ff":
            latin = ""  # a letter of another Cyrillic alphabet: no Uzbek spelling for it
        else:
            latin = char
        out.append(latin.capitalize() if char != low and latin else latin)
        previous = char
    return "".join(out)


_LAT_DIGRAPHS = (
    (OQ, "ў"), (GQ, "ғ"), ("o'", "ў"), ("g'", "ғ"), ("sh", "ш"), ("ch", "ч"), ("yo", "ё"), ("yu", "ю"),
    ("ya", "я"), ("ye", "е"),
)  # fmt: skip
_LAT = dict(zip("abdefghijklmnopqrstuvxyz", "абдэфгҳижклмнопқрстувхйз", strict=True))
_LAT[TUTUQ] = "ъ"


def to_cyrillic(text: str) -> str:
    """Uzbek Latin → Uzbek Cyrillic (what a model that "forgot" the script rule writes)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        pair = text[i : i + 2]
        for latin, cyrillic in _LAT_DIGRAPHS:
            if pair.lower() == latin:
                out.append(cyrillic.upper() if pair[0].isupper() else cyrillic)
                i += 2
                break
        else:
            char = text[i]
            low = char.lower()
            mapped = _LAT.get(low, char)
            if low == "e" and (i == 0 or not text[i - 1].isalpha()):
                mapped = "э"  # a word-initial e is э in Uzbek Cyrillic
            elif low == "e":
                mapped = "е"
            out.append(mapped.upper() if char != low else mapped)
            i += 1
    return "".join(out)


# Whole values and phrases (lower case) → Uzbek.
PHRASES: dict[str, str] = {
    # countries
    "узбекистан": "Oʻzbekiston", "китай": "Xitoy", "россия": "Rossiya", "турция": "Turkiya",
    "германия": "Germaniya", "казахстан": "Qozogʻiston", "корея": "Koreya", "южная корея": "Janubiy Koreya",
    "япония": "Yaponiya", "италия": "Italiya", "франция": "Fransiya", "вьетнам": "Vyetnam",
    "индия": "Hindiston", "сша": "AQSH", "польша": "Polsha", "беларусь": "Belarus",
    # colours
    "белый": "oq", "чёрный": "qora", "черный": "qora", "серый": "kulrang", "синий": f"k{OQ}k",
    "красный": "qizil", "зелёный": "yashil", "зеленый": "yashil", "жёлтый": "sariq", "желтый": "sariq",
    "розовый": "pushti", "коричневый": "jigarrang", "бежевый": "bej", "фиолетовый": "binafsharang",
    "голубой": "havorang", "оранжевый": f"t{OQ}q sariq", "серебристый": "kumushrang",
    "золотой": "tillarang", "бордовый": f"t{OQ}q qizil", "разноцветный": "rang-barang",
    # materials
    "пластик": "plastik", "сталь": f"p{OQ}lat", "нержавеющая сталь": f"zanglamas p{OQ}lat",
    "керамика": "keramika", "фарфор": "chinni", "стекло": "shisha", "полиэстер": "poliester",
    "нейлон": "neylon", "хлопок": "paxta", "эластан": "elastan", "дерево": f"yo{GQ}och",
    "алюминий": "alyuminiy", "кожа": "teri", "силикон": "silikon", "пластик abs": "ABS plastik",
    "металл": "metall",
    # yes / no and common values
    "да": "ha", "нет": f"y{OQ}q", "есть": "bor", "мраморное": "marmar", "титановое": "titan",
    "керамическое": "keramik", "для всех типов": "barcha turdagi sochlar uchun",
    "для сухих": "quruq sochlar uchun", "для жирных": f"yo{GQ}li sochlar uchun",
    "объём и сила": "hajm va kuch", "объем и сила": "hajm va kuch",
    "интенсивное восстановление": "intensiv tiklash", "свежесть": "tetiklik",
    "против перхоти": "kepakka qarshi",
    # product kinds (title heads)
    "чайник электрический": "Elektr choynak", "кружка керамическая": "Keramik krujka",
    "футболка мужская хлопковая": "Erkaklar uchun paxtali futbolka",
    "шампунь для волос": "Soch uchun shampun",
    "рюкзак городской": "Shahar ryukzagi", "сковорода антипригарная": "Yopishmaydigan qoplamali tova",
    "конструктор детский": "Bolalar konstruktori", "настольная лампа": f"Stol chiro{GQ}i",
    "бытовая техника": "Maishiy texnika", "электрочайники": "Elektr choynaklar",
}  # fmt: skip

# Single words (lower case) → Uzbek, for word-by-word translation.
WORDS: dict[str, str] = {
    "чайник": "choynak", "кружка": "krujka", "термокружка": "termokrujka", "футболка": "futbolka",
    "шампунь": "shampun", "смартфон": "smartfon", "рюкзак": "ryukzak", "сковорода": "tova",
    "конструктор": "konstruktor", "лампа": "chiroq", "кроссовки": "krossovkalar", "сумка": "sumka",
    "часы": "soat", "наушники": "quloqchinlar", "модель": "model", "набор": f"to{TUTUQ}plam",
    "посуда": "idish-tovoq", "освещение": "yoritish", "обувь": "poyabzal", "сумки": "sumkalar",
    "кружки": "krujkalar", "футболки": "futbolkalar", "шампуни": "shampunlar", "смартфоны": "smartfonlar",
    "рюкзаки": "ryukzaklar", "сковороды": "tovalar", "конструкторы": "konstruktorlar",
    "электрический": "elektr", "керамическая": "keramik", "мужская": "erkaklar uchun",
    "женская": "ayollar uchun", "детский": "bolalar uchun", "хлопковая": "paxtali", "городской": "shahar",
    "антипригарная": "yopishmaydigan", "беспроводные": "simsiz", "настольная": "stol",
    "и": "va", "для": "uchun", "с": "bilan", "волос": "soch",
    "объём": "hajmi", "объем": "hajmi", "мощность": "quvvati", "материал": "material", "корпуса": "korpus",
    "вес": f"o{GQ}irligi", "длина": "uzunligi", "ширина": "eni",
    "высота": "balandligi", "цвет": "rangi", "размер": f"{OQ}lcham", "состав": "tarkibi",
    "плотность": "zichligi", "диаметр": "diametri", "покрытие": "qoplama", "гарантия": "kafolat",
}  # fmt: skip

UNITS: dict[str, str] = {
    "л": "l", "мл": "ml", "вт": "Vt", "г": "g", "кг": "kg", "мм": "mm", "см": "sm", "м": "m", "гб": "GB",
    "мб": "MB", "тб": "TB", "дюйм": "dyuym", "шт": "dona", "лет": "yosh", "мач": "mAh", "ч": "soat",
    "г/м²": "g/m²", "деталей": "detal", "мес": "oy", "месяцев": "oy", "от лет": "yoshdan",
}  # fmt: skip

# Catalog attribute labels (the part before ", unit", lower case) → the Uzbek label a card shows.
ATTRIBUTE_NAMES: dict[str, str] = {
    "объём": "Hajmi", "объем": "Hajmi", "мощность": "Quvvati", "материал корпуса": "Korpus materiali",
    "материал": "Material", "можно в посудомоечной машине": "Idish yuvish mashinasida yuvish mumkin",
    "размер": f"{OQ}lchami", "состав": "Tarkibi", "плотность": "Zichligi", "тип волос": "Soch turi",
    "встроенная память": "Ichki xotira", "диагональ экрана": "Ekran diagonali",
    "оперативная память": "Operativ xotira", "отделение для ноутбука": f"Noutbuk b{OQ}limi",
    "диаметр": "Diametri", "покрытие": "Qoplamasi", "индукция": "Induksion plitaga mos",
    "деталей": "Detallar soni", "возраст": "Tavsiya etilgan yosh", "вес": f"O{GQ}irligi",
    "длина": "Uzunligi", "ширина": "Eni", "высота": "Balandligi",
    "страна производства": "Ishlab chiqarilgan mamlakat", "цвет": "Rangi", "икпу": "MXIK", "бренд": "Brend",
    "гарантия": "Kafolat", "габариты упаковки": f"Qadoq {OQ}lchamlari",
}  # fmt: skip


def split_unit(name: str) -> tuple[str, str]:
    """``"Объём, л"`` → ``("Объём", "л")``; a name without a unit → ``(name, "")``."""
    label, _, unit = name.partition(",")
    return label.strip(), unit.strip()


def unit(text: str) -> str:
    """The Uzbek spelling of a unit (``"мл"`` → ``"ml"``)."""
    return UNITS.get(text.lower()) or translate(text)


def label(text: str) -> str:
    """The Uzbek label of an attribute name without its unit."""
    known = ATTRIBUTE_NAMES.get(" ".join(text.lower().split()))
    uz = known if known is not None else translate(text)
    return uz[:1].upper() + uz[1:]


_CYRILLIC_RUN = re.compile(r"[\u0400-\u04ff]+")


def _word(match: re.Match[str]) -> str:
    word = match.group(0)
    low = word.lower()
    uz = WORDS.get(low) or UNITS.get(low) or PHRASES.get(low)
    if uz is None:
        return to_latin(word)
    return uz[:1].upper() + uz[1:] if word[:1].isupper() and uz[:1].islower() else uz


def translate(text: str) -> str:
    """Russian catalog text → Uzbek: a known phrase whole, else word by word (unknown words
    transliterated); numbers, Latin words and punctuation are kept as they are."""
    phrase = PHRASES.get(" ".join(text.lower().split()))
    if phrase is not None:
        return phrase
    return _CYRILLIC_RUN.sub(_word, text)


def attribute_name(name: str) -> str:
    """The Uzbek label of a catalog attribute name, unit included (``"Вес, г"`` → ``"Ogʻirligi, g"``)."""
    text, measure = split_unit(name)
    return f"{label(text)}, {unit(measure)}" if measure else label(text)


def title_head(name: str) -> tuple[str, str]:
    """``(uzbek head, rest)``: the product kind at the start of ``name`` translated as a phrase (the
    longest one the glossary knows), and the rest of the name untranslated."""
    words = name.split()
    for n in range(min(4, len(words)), 0, -1):
        head = " ".join(words[:n]).lower().rstrip(",")
        if head in PHRASES:
            uz = PHRASES[head]
            return uz[:1].upper() + uz[1:], " ".join(words[n:])
    return "", name
