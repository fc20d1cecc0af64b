"""Running the worker in production: a supervisor that keeps N worker processes alive, and the
``/healthz`` and ``/metrics`` endpoint a process manager or Prometheus looks at.

A service beside ``jobs`` and ``llm``, independent of both: what it reports on is handed to it (duck
typed), and it reads the queue from the ``jobs`` table through the store, so the CLI wires it up.
"""

from aimanager.ops.http import serve_http
from aimanager.ops.metrics import Exporter, queue_snapshot
from aimanager.ops.supervisor import Supervisor

__all__ = ["Exporter", "Supervisor", "queue_snapshot", "serve_http"]
