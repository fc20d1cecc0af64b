"""Alerts: rules over what the system records, sent to Telegram, e-mail and webhooks (see docs/alerts.md).

``rules`` find conditions, ``store`` keeps them as de-duplicated episodes with one delivery per
subscribed channel, ``dispatcher`` sends the deliveries (rate-limited, digested, retried) through
``channels``; ``check.check_alerts`` runs one round, and is the ``alerts.check`` job's body.
"""

from aimanager.alerts.check import ALERTS_CHECK_KIND, CLEAR_AFTER, CheckReport, check_alerts, run_check_job
from aimanager.alerts.errors import AlertError, ChannelConfigError, ChannelError
from aimanager.alerts.findings import Finding, Severity
from aimanager.alerts.rules import RULES

__all__ = [
    "ALERTS_CHECK_KIND",
    "CLEAR_AFTER",
    "RULES",
    "AlertError",
    "ChannelConfigError",
    "ChannelError",
    "CheckReport",
    "Finding",
    "Severity",
    "check_alerts",
    "run_check_job",
]
