"""Sentences the sandbox's card writer builds descriptions from, in Russian and Uzbek.

They describe use and care, never a property of the product: every property in a card comes from the
facts (``writer``). None of them holds a digit, a claim word the validator licenses only from facts
(guarantee, natural, original, "best", …) or a word Yandex Market forbids (discounts, gifts, "new", …).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    """One product family: how to recognise it and what a copywriter says about its use."""

    stems: tuple[str, ...]  # lower-case stems looked for in the name and category
    ru: str
    uz: str
    bullets_ru: tuple[str, ...]
    bullets_uz: tuple[str, ...]
    keywords_ru: tuple[str, ...]
    keywords_uz: tuple[str, ...]


TOPICS: tuple[Topic, ...] = (
    Topic(
        ("чайник",),
        "Электрический чайник нужен на кухне каждый день: утренний чай, кофе или кипяток для заварки. "
        "Перед первым использованием вскипятите воду и слейте её, а затем пользуйтесь прибором как обычно. "
        "Накипь стоит удалять регулярно: так вода нагревается быстрее и не приобретает постороннего "
        "привкуса. Не включайте чайник без воды и не наливайте её выше отметки максимального уровня.",
        "Elektr choynak oshxonada har kuni kerak boʻladi: ertalabki choy, qahva yoki damlash uchun qaynoq "
        "suv. Birinchi marta ishlatishdan oldin suvni qaynatib, toʻkib tashlang, soʻngra odatdagidek "
        "foydalaning. Choynak ichidagi ohakni muntazam tozalab turing: shunda suv tez isiydi va begona taʼm "
        "bermaydi. Choynakni suvsiz yoqmang va suvni eng yuqori belgidan ortiq quymang.",
        ("Подходит для чая, кофе и заварки", "Удобен для кухни дома и в офисе"),
        ("Choy, qahva va damlash uchun mos", "Uy va ofis oshxonasi uchun qulay"),
        ("чайник", "электрочайник", "чайник электрический", "чайник для кухни", "чайник для дома",
         "кухонная техника", "бытовая техника", "чайник для офиса"),
        ("choynak", "elektr choynak", "oshxona uchun choynak", "uy uchun choynak", "maishiy texnika",
         "oshxona texnikasi", "ofis uchun choynak", "elektr choynak narxi"),
    ),
    Topic(
        ("кружк",),
        "Кружка подходит для чая, кофе, какао и других напитков — дома, на даче или в офисе. Перед первым "
        "использованием вымойте её тёплой водой с мягким средством. Чтобы глазурь и рисунок дольше "
        "сохраняли вид, не используйте абразивные губки. Резкие перепады температуры посуде не на пользу: "
        "не наливайте кипяток в кружку сразу после холодильника.",
        "Krujka choy, qahva, kakao va boshqa ichimliklar uchun mos: uyda, dala hovlida yoki ofisda. Birinchi "
        "marta ishlatishdan oldin uni iliq suv va yumshoq vosita bilan yuving. Sirti va bezagi uzoq vaqt "
        "chiroyli turishi uchun qattiq gubkalardan foydalanmang. Keskin harorat oʻzgarishlari idishga zarar "
        "qiladi: muzlatgichdan olingan krujkaga darhol qaynoq suv quymang.",
        ("Для чая, кофе и какао", "Удобна дома и в офисе"),
        ("Choy, qahva va kakao uchun", "Uyda va ofisda qulay"),
        ("кружка", "кружка для чая", "кружка для кофе", "посуда", "чашка", "кухонная посуда",
         "посуда для дома", "кружка в офис"),
        ("krujka", "choy uchun krujka", "qahva uchun krujka", "idish-tovoq", "piyola", "oshxona idishlari",
         "uy uchun idish", "ofis uchun krujka"),
    ),
    Topic(
        ("футболк",),
        "Футболка — базовая вещь гардероба: её носят с джинсами, шортами, спортивными брюками или под "
        "расстёгнутую рубашку. Перед стиркой выверните изделие наизнанку и выбирайте деликатный режим, "
        "чтобы ткань и цвет дольше сохраняли вид. Сушите футболку в расправленном виде вдали от батарей, "
        "а гладьте с изнанки при умеренной температуре. Размер сверяйте по размерной сетке продавца.",
        "Futbolka — kiyim javonining asosiy buyumi: uni jinsi shim, shortik, sport shimi bilan yoki ochiq "
        "koʻylak ostidan kiyish mumkin. Yuvishdan oldin buyumni teskari agʻdaring va nozik rejimni tanlang, "
        "shunda mato va rang uzoq saqlanadi. Futbolkani yoyilgan holda, isitish batareyalaridan uzoqda "
        "quriting va teskari tomonidan oʻrtacha haroratda dazmollang. Oʻlchamni sotuvchining oʻlchamlar "
        "jadvali boʻyicha tekshiring.",
        ("Базовая вещь на каждый день", "Сочетается с джинсами и шортами"),
        ("Har kungi asosiy kiyim", "Jinsi shim va shortik bilan mos keladi"),
        ("футболка", "футболка мужская", "футболка хлопковая", "одежда", "мужская одежда",
         "базовая футболка", "футболка на каждый день", "трикотаж"),
        ("futbolka", "erkaklar futbolkasi", "paxtali futbolka", "kiyim", "erkaklar kiyimi",
         "asosiy futbolka", "har kungi futbolka", "trikotaj"),
    ),
    Topic(
        ("шампун",),
        "Шампунь подходит для регулярного мытья волос дома. Нанесите небольшое количество на влажные "
        "волосы, вспеньте массирующими движениями и тщательно смойте тёплой водой; при необходимости "
        "повторите. После мытья можно использовать бальзам или кондиционер той же серии. Храните флакон "
        "закрытым, вдали от прямых солнечных лучей, и избегайте попадания средства в глаза.",
        "Shampun sochni uyda muntazam yuvish uchun mos. Nam sochga ozgina surting, massaj harakatlari bilan "
        "koʻpirtiring va iliq suv bilan yaxshilab yuvib tashlang; kerak boʻlsa, takrorlang. Yuvishdan keyin "
        "shu seriyadagi balzam yoki konditsionerdan foydalanish mumkin. Flakonni yopiq holda, "
        "toʻgʻridan-toʻgʻri quyosh nuridan uzoqda saqlang va vosita koʻzga tushishidan ehtiyot boʻling.",
        ("Для регулярного мытья волос", "Удобный флакон для ванной"),
        ("Sochni muntazam yuvish uchun", "Hammom uchun qulay flakon"),
        ("шампунь", "шампунь для волос", "уход за волосами", "средство для волос", "косметика",
         "шампунь для дома", "уходовая косметика", "мытьё волос"),
        ("shampun", "soch uchun shampun", "soch parvarishi", "soch vositasi", "kosmetika",
         "uy uchun shampun", "parvarish kosmetikasi", "soch yuvish"),
    ),
    Topic(
        ("смартфон", "телефон"),
        "Смартфон рассчитан на повседневные задачи: звонки и переписку, фото и видео, навигацию, банковские "
        "приложения и развлечения. Перед первым включением зарядите аккумулятор и обновите систему до "
        "актуальной версии. Для защиты экрана и корпуса стоит подобрать чехол и защитное стекло. Проверьте, "
        "что смартфон поддерживает нужные вам диапазоны связи и форматы SIM-карт.",
        "Smartfon kundalik vazifalar uchun moʻljallangan: qoʻngʻiroqlar va yozishmalar, foto va video, "
        "navigatsiya, bank ilovalari va dam olish. Birinchi marta yoqishdan oldin akkumulyatorni zaryadlang "
        "va tizimni soʻnggi versiyagacha yangilang. Ekran va korpusni himoya qilish uchun gʻilof va himoya "
        "oynasini tanlash tavsiya etiladi. Smartfon sizga kerakli aloqa diapazonlari va SIM-karta "
        "formatlarini qoʻllab-quvvatlashini tekshiring.",
        ("Для звонков, фото и приложений", "Подходит для работы и учёбы"),
        ("Qoʻngʻiroq, foto va ilovalar uchun", "Ish va oʻqish uchun mos"),
        ("смартфон", "телефон", "мобильный телефон", "смартфон на андроид", "гаджет", "электроника",
         "сотовый телефон", "смартфон для работы"),
        ("smartfon", "telefon", "mobil telefon", "android smartfon", "gadjet", "elektronika",
         "uyali telefon", "ish uchun smartfon"),
    ),
    Topic(
        ("рюкзак",),
        "Рюкзак подойдёт для города, учёбы, работы и коротких поездок: в нём помещаются документы, бутылка "
        "воды и мелочи на день. Лямки стоит отрегулировать по росту, чтобы нагрузка распределялась "
        "равномерно. Тяжёлые вещи кладите ближе к спине, а мелкие — в отдельные карманы. Для чистки "
        "используйте влажную ткань и мягкое средство: машинная стирка может испортить форму.",
        "Ryukzak shahar, oʻqish, ish va qisqa sayohatlar uchun mos: unga hujjatlar, bir shisha ichimlik va "
        "kun davomida kerak boʻladigan mayda narsalar sigʻadi. Yukni bir tekis taqsimlash uchun yelka "
        "tasmalarini boʻyingizga moslab sozlang. Ogʻir narsalarni orqaga yaqinroq, maydalarini esa alohida "
        "choʻntaklarga joylang. Tozalash uchun nam mato va yumshoq vositadan foydalaning: mashinada yuvish "
        "shaklini buzishi mumkin.",
        ("Для города, учёбы и поездок", "Вмещает вещи на весь день"),
        ("Shahar, oʻqish va safar uchun", "Butun kunlik narsalar sigʻadi"),
        ("рюкзак", "рюкзак городской", "рюкзак для работы", "рюкзак для учёбы", "сумки", "рюкзак мужской",
         "рюкзак женский", "рюкзак для поездок"),
        ("ryukzak", "shahar ryukzagi", "ish uchun ryukzak", "oʻqish uchun ryukzak", "sumkalar",
         "erkaklar ryukzagi", "ayollar ryukzagi", "safar uchun ryukzak"),
    ),
    Topic(
        ("сковород",),
        "Сковорода подходит для жарки мяса, рыбы, овощей, яичницы и блинов. Перед первым использованием "
        "вымойте её тёплой водой и вытрите насухо. Чтобы покрытие служило долго, используйте деревянные или "
        "силиконовые лопатки и не разогревайте пустую сковороду на сильном огне. Мыть посуду удобнее после "
        "остывания — мягкой губкой, без абразивных порошков.",
        "Tova goʻsht, baliq, sabzavot, quymoq va blinlarni qovurish uchun mos. Birinchi marta ishlatishdan "
        "oldin uni iliq suvda yuving va quruq qilib arting. Qoplama uzoq xizmat qilishi uchun yogʻoch yoki "
        "silikon kurakchalardan foydalaning va boʻsh tovani kuchli olovda qizdirmang. Idishni sovigandan "
        "keyin yumshoq gubka bilan, abraziv kukunlarsiz yuvish qulay.",
        ("Для мяса, рыбы, овощей и блинов", "Легко мыть мягкой губкой"),
        ("Goʻsht, baliq, sabzavot va blinlar uchun", "Yumshoq gubka bilan oson yuviladi"),
        ("сковорода", "сковорода антипригарная", "посуда для кухни", "кухонная посуда", "сковородка",
         "посуда для жарки", "сковорода для блинов", "посуда"),
        ("tova", "yopishmaydigan tova", "oshxona idishlari", "idish-tovoq", "qovurish idishi",
         "blin uchun tova", "oshxona uchun tova", "idishlar"),
    ),
    Topic(
        ("конструктор",),
        "Конструктор развивает мелкую моторику, внимание и пространственное мышление, а собирать модель "
        "можно вместе со взрослыми или самостоятельно. Схема сборки поможет пройти все этапы по порядку. "
        "Детали удобно хранить в коробке или контейнере, чтобы ничего не потерялось. В наборе есть мелкие "
        "детали: играйте под присмотром взрослых и следите, чтобы малыши не брали их в рот.",
        "Konstruktor qoʻl motorikasi, diqqat va fazoviy tafakkurni rivojlantiradi, modelni kattalar bilan "
        "birga yoki mustaqil yigʻish mumkin. Yigʻish chizmasi barcha bosqichlarni ketma-ket bajarishga "
        "yordam beradi. Hech narsa yoʻqolmasligi uchun detallarni quti yoki idishda saqlash qulay. Toʻplamda "
        "mayda detallar bor: kattalar nazorati ostida oʻynang va kichkintoylar ularni ogʻziga solmasligini "
        "kuzating.",
        ("Развивает моторику и внимание", "Можно собирать вместе со взрослыми"),
        ("Motorika va diqqatni rivojlantiradi", "Kattalar bilan birga yigʻish mumkin"),
        ("конструктор", "конструктор детский", "игрушки", "детские игрушки", "развивающие игрушки",
         "конструктор для детей", "игрушки для мальчиков", "игрушки для девочек"),
        ("konstruktor", "bolalar konstruktori", "oʻyinchoqlar", "bolalar oʻyinchoqlari",
         "rivojlantiruvchi oʻyinchoqlar", "bolalar uchun konstruktor", "oʻgʻil bolalar uchun",
         "qiz bolalar uchun"),
    ),
)  # fmt: skip

GENERIC = Topic(
    (),
    "Товар подойдёт для повседневного использования дома, на работе или в поездке. Перед первым "
    "использованием ознакомьтесь с инструкцией производителя и сохраните упаковку до проверки комплектации.",
    "Mahsulot uyda, ishda yoki safarda kundalik foydalanish uchun mos. Birinchi marta ishlatishdan oldin "
    "ishlab chiqaruvchining yoʻriqnomasi bilan tanishib chiqing va butligini tekshirguncha qadoqni saqlab "
    "qoʻying.",
    ("Для повседневного использования", "Удобен дома и в поездке"),
    ("Kundalik foydalanish uchun", "Uyda va safarda qulay"),
    ("товары для дома", "товары на каждый день", "товары повседневного спроса", "хозяйственные товары",
     "маркетплейс", "товары для семьи", "полезные вещи", "для дома"),
    ("uy uchun mahsulotlar", "har kungi mahsulotlar", "kundalik ehtiyoj mahsulotlari", "xoʻjalik mollari",
     "marketpleys", "oila uchun mahsulotlar", "foydali buyumlar", "uy uchun"),
)  # fmt: skip

# Closing sentences, added until a description reaches its length.
FILLER_RU: tuple[str, ...] = (
    "Все характеристики в карточке взяты из данных продавца и производителя; если для вас важна какая-то "
    "деталь, сверьте её с описанием перед покупкой.",
    "Товар поставляется в упаковке, которая защищает его при доставке.",
    "При получении осмотрите упаковку и сам товар, проверьте комплектацию и внешний вид.",
    "Цвет на фотографиях может немного отличаться от реального из-за настроек экрана.",
    "Храните товар в сухом месте, вдали от прямых солнечных лучей и источников тепла.",
    "Такую вещь удобно выбрать для себя или для близких: она пригодится в быту каждый день.",
    "Перед использованием снимите транспортировочную плёнку и наклейки, если они есть.",
    "Если производитель обновляет партию, внешний вид и комплектация могут немного меняться, а основные "
    "характеристики остаются прежними.",
)
FILLER_UZ: tuple[str, ...] = (
    "Kartochkadagi barcha xususiyatlar sotuvchi va ishlab chiqaruvchi maʼlumotlaridan olingan; siz uchun "
    "muhim boʻlgan tafsilotni xarid qilishdan oldin tavsif bilan solishtiring.",
    "Mahsulot yetkazib berish vaqtida uni himoya qiladigan qadoqda joʻnatiladi.",
    "Qabul qilib olayotganda qadoq va mahsulotning oʻzini koʻzdan kechiring, butligi va tashqi "
    "koʻrinishini tekshiring.",
    "Ekran sozlamalari sababli suratlardagi rang haqiqiy rangdan biroz farq qilishi mumkin.",
    "Mahsulotni quruq joyda, toʻgʻridan-toʻgʻri quyosh nuri va issiqlik manbalaridan uzoqda saqlang.",
    "Bunday buyumni oʻzingiz yoki yaqinlaringiz uchun tanlash qulay: u kundalik turmushda asqotadi.",
    "Ishlatishdan oldin transport plyonkasi va yorliqlarni, agar boʻlsa, olib tashlang.",
    "Ishlab chiqaruvchi partiyani yangilasa, tashqi koʻrinish va butlik biroz oʻzgarishi mumkin, asosiy "
    "xususiyatlar esa oʻzgarmaydi.",
)


def topic_for(text: str) -> Topic:
    """The product family whose stem occurs first in ``text`` (name, then category), else the generic one."""
    lowered = text.lower()
    found = [(lowered.find(stem), topic) for topic in TOPICS for stem in topic.stems if stem in lowered]
    return min(found, key=lambda pair: pair[0])[1] if found else GENERIC
