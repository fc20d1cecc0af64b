"""Genuine Uzbek marketplace text and Russian spelled in Latin letters: the Russian-in-Latin check's
corpus. Each genuine sentence must pass, each transliterated one must be caught (tests/domain/test_uzbek.py).

The Uzbek sentences are the kind sellers and copywriters write on Uzum and Yandex Market: brand names,
model codes, numbers with units, apostrophes typed as ʻ, ' or `. The Russian ones are what a model (or
a letter-by-letter transliterator) writes when it passes Russian off as Uzbek, in both the Uzbek
(x, ch, sh, yo) and the English (kh, zh, ts) spelling conventions.
"""

from __future__ import annotations

GENUINE_UZBEK: tuple[str, ...] = (
    "Bosch TWK 3A011 elektr choynagi, hajmi 1,7 litr, quvvati 2400 Vt.",
    "Suv qaynaganda choynak avtomatik ravishda oʻchadi.",
    "Samsung Galaxy A15 smartfoni 128 GB xotiraga ega, ekrani 6,5 dyuym.",
    "Erkaklar uchun paxta futbolka, oʻlchami M, rangi qora.",
    "Mahsulot Oʻzbekistonda ishlab chiqarilgan, kafolat muddati 1 yil.",
    "Sochlarni chuqur namlaydi va ularga tabiiy yorqinlik beradi.",
    "Shahar ryukzagi noutbuk uchun alohida boʻlimga ega, materiali poliester.",
    "Yopishmaydigan qoplamali tova, diametri 28 sm, induksion plitalarga mos.",
    "LEGO Technic konstruktori 8 yoshdan katta bolalar uchun moʻljallangan.",
    "Krujka chinnidan yasalgan, idish yuvish mashinasida yuvish mumkin.",
    "Yetkazib berish butun Oʻzbekiston boʻylab amalga oshiriladi.",
    "Toʻplamda: choynak, quvvat bloki va foydalanish yoʻriqnomasi.",
    "Tefal Expertise tovasi har kuni ovqat pishirish uchun qulay.",
    "Xiaomi Redmi 13C telefoni 4 GB operativ xotira bilan.",
    "Nivea shampuni barcha soch turlari uchun mos keladi.",
    "Rangi: oq. Vazni: 1050 g. Ishlab chiqarilgan mamlakat: Xitoy.",
    "Oʻlchamlari 250x220x160 mm, ogʻirligi 1,05 kg.",
    "Polaris PWK-1725 choynagi zanglamaydigan poʻlatdan tayyorlangan.",
    "Bu kiyim yumshoq va nafas oladigan matodan tikilgan.",
    "Gloria Jeans futbolkasi kundalik kiyish uchun.",
    "Qo'l bilan yuvish tavsiya etiladi, 30 darajada.",
    "Bolalar uchun xavfsiz plastikdan yasalgan detallar.",
    "Elektron tarozi 180 kg gacha og`irlikni o`lchaydi, LCD displey bilan.",
    "Ayollar uchun charm sumka, rangi jigarrang, ichki cho'ntaklari bor.",
    "Konditsioner Artel ART-12HS, 12000 BTU, inverter texnologiyasi.",
    "Bolalar velosipedi 16 dyuymli gʻildiraklar bilan, 4-7 yosh uchun.",
    "Changyutgich Samsung VC18M21 quruq tozalash uchun, quvvati 1800 Vt.",
    "Redmond RK-M216 choynagi suvni tez qaynatadi.",
    "Oodji futbolka, Slim model, 95% paxta va 5% elastan.",
    "Choy, qahva va damlash uchun mos.",
    "Krujka choy, qahva, kakao va boshqa ichimliklar uchun mos: uyda, dala hovlida yoki ofisda.",
    "Birinchi marta ishlatishdan oldin suvni qaynatib, toʻkib tashlang.",
    "Sunʼiy charmdan tikilgan, ichida ikkita boʻlim bor.",
    # Titles and short fields
    "Elektr choynak Bosch TWK-1700, 1,7 l",
    "Smartfon Samsung Galaxy A15, 128 GB",
    "Tigernu ryukzagi, 20 litr, kulrang",
    "Schauma shampuni «Intensivnoe vosstanovlenie», 400 ml",
    "Kafolat: 2 yil",
    "Bolalar uchun konstruktor LEGO City, 250 ta detal",
    "Erkaklar uchun paxta futbolka Gloria Jeans Slim, XL",
)

RUSSIAN_IN_LATIN: tuple[str, ...] = (
    "Chaynik elektricheskiy Bosch, obyom 1,7 l, strana proizvodstva: Kitay.",
    "Strana proizvodstva: Kitay. Tsvet: belyy.",
    "Futbolka muzhskaya khlopkovaya, razmer M, tsvet chernyy.",
    "Shampun dlya volos Nivea dlya vsekh tipov volos.",
    "Idealno podkhodit dlya doma i ofisa.",
    "Smartfon Samsung Galaxy A15 s bolshim ekranom i moshchnym akkumulyatorom.",
    "Ryukzak gorodskoy iz prochnogo poliestera s otdeleniem dlya noutbuka.",
    "Skovoroda antiprigarnaya s mramornym pokrytiyem, podkhodit dlya induktsionnykh plit.",
    "Kruzhka keramicheskaya, mozhno myt v posudomoechnoy mashine.",
    "Konstruktor detskiy LEGO City, 250 detaley, ot 6 let.",
    "Chaynik elektricheskiy Bosch TWK-1700. Kategoriya: Elektrochayniki. Xarakteristiki: Ves, g: 1200; "
    "Strana proizvodstva: Kitay.",
    "Elektricheskiy chaynik s avtomaticheskim otklyucheniyem.",
    "Vysokoye kachestvo i nadezhnost.",
    "Material korpusa: plastik, moshchnost 2200 Vt.",
    "Garantiya proizvoditelya 2 goda.",
    "Ochen udobnaya i legkaya kruzhka dlya chaya.",
    "Sostav: 100% khlopok.",
    "Podkhodit dlya sukhikh volos.",
    "Tovar v originalnoy upakovke.",
    "Chaynik elektricheskiy belyy",
    "Chaynik elektricheskiy Bosch TWK-1700, 1,7 l",
    "Kurtka zimnyaya zhenskaya s kapyushonom",
    "Nabor posudy iz nerzhaveyushchey stali, 6 predmetov.",
    "Pylesos Samsung dlya sukhoy uborki, moshchnost 1800 Vt.",
    # The offline writer's old "uz" (letter-by-letter, Uzbek-convention transliteration).
    "Chaynik elektricheskiy Bosch. Toifa: Elektrochayniki. Xususiyatlari: Strana proizvodstva: Kitay; "
    "Tsvet: belyy.",
    "Xarakteristiki: Vest tovara: 1050; Strana proizvoditel: Rossiya.",
)
