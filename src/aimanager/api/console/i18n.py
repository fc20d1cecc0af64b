"""Console text in Russian and Uzbek (Latin), English as a fallback: a plain dict catalog.

A key missing in a language falls back to English, then to the key itself, so a new page never shows
an empty label; ``tests/console`` checks that ru and uz cover every key.
"""

from __future__ import annotations

LANGUAGES = ("ru", "uz", "en")
DEFAULT = "ru"

CATALOG: dict[str, dict[str, str]] = {
    "en": {
        "app": "AI Manager", "login": "Log in", "logout": "Log out", "user": "Login", "password": "Password",
        "bad_login": "Wrong login or password", "overview": "Overview", "partners": "Partners",
        "review": "Review", "alerts": "Alerts", "spend": "AI spend", "reports": "Reports",
        "priority": "Priority", "queued": "Queued", "oldest": "Oldest wait", "sla": "Start SLA",
        "sla_ok": "Started in SLA", "throughput": "Throughput", "jobs_per_s": "jobs/s",
        "running": "Running", "error_rate": "Error rate (1 h)", "spend_today": "AI spend today",
        "calls": "calls", "active_alerts": "Active alerts", "live": "live", "partner": "Partner",
        "name": "Name", "products": "Products", "accounts": "Accounts", "health": "Health",
        "last_success": "Last success", "last_error": "Last error", "token_expires": "Token expires",
        "tasks": "Tasks", "capability": "Capability", "marketplace": "Marketplace", "sku": "SKU",
        "status": "Status", "reason": "Reason", "updated": "Updated", "next_page": "Next page",
        "upload_catalog": "Upload a catalog", "file": "File", "check_only": "Check only",
        "upload": "Upload", "row": "Row", "column": "Column", "cell": "Cell", "message": "Problem",
        "imported": "Imported", "rejected": "Rejected rows", "version": "Version", "errors": "Errors",
        "no_review": "Cards waiting for approval are shown here once review mode is on.",
        "pending": "Waiting for approval", "severity": "Severity", "action": "What to do",
        "first_seen": "First seen", "count": "Times", "day": "Day", "model": "Model",
        "task_kind": "Task", "cost": "Cost, USD", "budget": "Budget, USD", "month": "This month, USD",
        "created": "Created", "period": "Period", "open": "Open", "none": "Nothing here yet.",
        "all": "All", "filter": "Filter", "forbidden": "Not allowed", "diff": "Diff",
        "by_day": "By day", "by_partner": "By partner", "by_model": "By model", "budgets": "Budgets",
        "approve": "Approve", "reject": "Reject", "by_task": "By task",
    },
    "ru": {
        "app": "AI Manager", "login": "Войти", "logout": "Выйти", "user": "Логин", "password": "Пароль",
        "bad_login": "Неверный логин или пароль", "overview": "Обзор", "partners": "Партнёры",
        "review": "Проверка", "alerts": "Оповещения", "spend": "Расходы на ИИ", "reports": "Отчёты",
        "priority": "Приоритет", "queued": "В очереди", "oldest": "Дольше всех ждёт", "sla": "SLA старта",
        "sla_ok": "Начато в срок", "throughput": "Пропускная способность", "jobs_per_s": "задач/с",
        "running": "Выполняется", "error_rate": "Доля ошибок (1 ч)", "spend_today": "Расходы на ИИ сегодня",
        "calls": "вызовов", "active_alerts": "Активные оповещения", "live": "в реальном времени",
        "partner": "Партнёр", "name": "Название", "products": "Товары", "accounts": "Аккаунты",
        "health": "Состояние", "last_success": "Последний успех", "last_error": "Последняя ошибка",
        "token_expires": "Токен истекает", "tasks": "Задачи", "capability": "Направление",
        "marketplace": "Маркетплейс", "sku": "Артикул", "status": "Статус", "reason": "Причина",
        "updated": "Обновлено", "next_page": "Следующая страница", "upload_catalog": "Загрузить каталог",
        "file": "Файл", "check_only": "Только проверить", "upload": "Загрузить", "row": "Строка",
        "column": "Столбец", "cell": "Ячейка", "message": "Проблема", "imported": "Импортировано",
        "rejected": "Отклонённые строки", "version": "Версия", "errors": "Ошибки",
        "no_review": "Здесь появятся карточки, ожидающие одобрения, когда включён режим проверки.",
        "pending": "Ожидают одобрения", "severity": "Важность", "action": "Что сделать",
        "first_seen": "Впервые", "count": "Раз", "day": "День", "model": "Модель", "task_kind": "Задача",
        "cost": "Стоимость, USD", "budget": "Бюджет, USD", "month": "За месяц, USD", "created": "Создан",
        "period": "Период", "open": "Открыть", "none": "Пока ничего нет.", "all": "Все",
        "filter": "Фильтр", "forbidden": "Нет доступа", "diff": "Изменения", "by_day": "По дням",
        "by_partner": "По партнёрам", "by_model": "По моделям", "budgets": "Бюджеты",
        "approve": "Одобрить", "reject": "Отклонить", "by_task": "По задачам",
    },
    "uz": {
        "app": "AI Manager", "login": "Kirish", "logout": "Chiqish", "user": "Login", "password": "Parol",
        "bad_login": "Login yoki parol noto‘g‘ri", "overview": "Umumiy ko‘rinish", "partners": "Hamkorlar",
        "review": "Tekshiruv", "alerts": "Ogohlantirishlar", "spend": "SI xarajatlari",
        "reports": "Hisobotlar", "priority": "Ustuvorlik", "queued": "Navbatda",
        "oldest": "Eng uzoq kutish", "sla": "Boshlash SLA", "sla_ok": "O‘z vaqtida boshlangan",
        "throughput": "O‘tkazuvchanlik", "jobs_per_s": "ish/s", "running": "Bajarilmoqda",
        "error_rate": "Xatolar ulushi (1 soat)", "spend_today": "Bugungi SI xarajati", "calls": "chaqiruv",
        "active_alerts": "Faol ogohlantirishlar", "live": "jonli", "partner": "Hamkor", "name": "Nomi",
        "products": "Mahsulotlar", "accounts": "Akkauntlar", "health": "Holati",
        "last_success": "Oxirgi muvaffaqiyat", "last_error": "Oxirgi xato",
        "token_expires": "Token muddati tugaydi", "tasks": "Vazifalar", "capability": "Yo‘nalish",
        "marketplace": "Marketpleys", "sku": "Artikul", "status": "Holat", "reason": "Sabab",
        "updated": "Yangilangan", "next_page": "Keyingi sahifa", "upload_catalog": "Katalogni yuklash",
        "file": "Fayl", "check_only": "Faqat tekshirish", "upload": "Yuklash", "row": "Qator",
        "column": "Ustun", "cell": "Katak", "message": "Muammo", "imported": "Import qilindi",
        "rejected": "Rad etilgan qatorlar", "version": "Versiya", "errors": "Xatolar",
        "no_review": "Tekshiruv rejimi yoqilganda tasdiq kutayotgan kartochkalar shu yerda ko‘rinadi.",
        "pending": "Tasdiq kutmoqda", "severity": "Muhimlik", "action": "Nima qilish kerak",
        "first_seen": "Birinchi marta", "count": "Marta", "day": "Kun", "model": "Model",
        "task_kind": "Vazifa", "cost": "Narxi, USD", "budget": "Byudjet, USD", "month": "Shu oy, USD",
        "created": "Yaratilgan", "period": "Davr", "open": "Ochish", "none": "Hozircha hech narsa yo‘q.",
        "all": "Hammasi", "filter": "Filtr", "forbidden": "Ruxsat yo‘q", "diff": "O‘zgarishlar",
        "by_day": "Kunlar bo‘yicha", "by_partner": "Hamkorlar bo‘yicha", "by_model": "Modellar bo‘yicha",
        "budgets": "Byudjetlar", "approve": "Tasdiqlash", "reject": "Rad etish",
        "by_task": "Vazifalar bo‘yicha",
    },
}  # fmt: skip


def language(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT


def translator(lang: str):  # type: ignore[no-untyped-def]
    """``t(key)`` for templates: the language's text, else English, else the key."""
    table, fallback = CATALOG[language(lang)], CATALOG["en"]

    def t(key: str) -> str:
        return table.get(key) or fallback.get(key) or key

    return t
