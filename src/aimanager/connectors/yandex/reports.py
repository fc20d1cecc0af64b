"""Yandex Market reports: ``/v2/reports/{type}/generate`` → ``reportId`` → ``/v2/reports/info/{reportId}``
until ``DONE`` or ``FAILED``; the file (JSON) is fetched with the connector's ``file_client``, which
carries **no** Api-Key, because the file link points at a storage host, not at the API.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aimanager.connectors.base import ItemError, TaskRef, TaskState, TaskStatus
from aimanager.connectors.errors import TaskFailed, ValidationRejected
from aimanager.connectors.yandex import limits as L
from aimanager.connectors.yandex import models as M
from aimanager.connectors.yandex.wire import report_request

if TYPE_CHECKING:
    from aimanager.connectors.yandex.connector import YandexMarketConnector


async def start_report(conn: YandexMarketConnector, kind: str, date_from: date, date_to: date) -> TaskRef:
    """Ask YM to generate report ``kind`` (JSON) for the business's campaign; returns its task. The
    period is ``date_from``–``date_to`` (a stock report is a snapshot on ``date_to``)."""
    if kind not in L.REPORT_KINDS:
        raise ValueError(f"unsupported report {kind!r}; one of {', '.join(L.REPORT_KINDS)}")
    answer = await conn.http.json(
        "POST",
        f"/v2/reports/{kind}/generate",
        group=f"report:{kind}",
        params={"format": "JSON"},
        json=report_request(kind, conn.business_id, conn.campaign_id, date_from, date_to),
    )
    result = M.GenerateReportResult.model_validate(answer["result"])
    return TaskRef(marketplace=conn.marketplace, kind=f"report:{kind}", task_id=result.reportId)


async def report_status(conn: YandexMarketConnector, task: TaskRef) -> TaskStatus:
    answer = await conn.http.json("GET", f"/v2/reports/info/{task.task_id}", group="reports-info")
    info = M.ReportInfo.model_validate(answer["result"])
    if info.status == "DONE":
        if info.file:
            conn.report_files[task.task_id] = info.file
        return TaskStatus(task=task, state=TaskState.DONE)
    if info.status == "FAILED":
        code = info.subStatus or "FAILED"
        return TaskStatus(
            task=task,
            state=TaskState.FAILED,
            failed=[ItemError(offer_id="", code=code, message=f"report {task.kind[7:]} failed: {code}")],
        )
    return TaskStatus(task=task, state=TaskState.PENDING)


async def download_report(conn: YandexMarketConnector, task: TaskRef) -> Any:
    """The JSON content of a finished report (fetch within 60 minutes of ``DONE``)."""
    url = conn.report_files.get(task.task_id)
    if url is None:
        raise ValidationRejected(f"report {task.task_id} has no file (not DONE yet?)", marketplace="yandex")
    if not urlsplit(url).scheme:
        url = conn.http.url(url)
    response = await conn.file_client.get(url)
    response.raise_for_status()
    return response.json()


async def read_report(conn: YandexMarketConnector, kind: str, date_from: date, date_to: date) -> Any:
    """Generate, follow and download report ``kind``; ``TaskFailed`` semantics via the status."""
    task = await start_report(conn, kind, date_from, date_to)
    status = await conn.wait_task(task)
    if status.state is not TaskState.DONE:
        raise TaskFailed(f"yandex report {kind} {status.state}", task_id=task.task_id, errors=status.failed)
    return await download_report(conn, task)
