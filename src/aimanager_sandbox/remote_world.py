"""The client side of the sandbox world: ``RemoteWorld`` spawns ``python -m aimanager_sandbox.world``
(see ``world``), reads the URLs, and drives the sandboxes over their operator endpoints
(``/_sandbox/seed``, ``/_sandbox/snapshot``, ``/_sandbox/stats``)::

    with RemoteWorld.start(time_scale=0.01) as world:
        settings = world.seed(Marketplace.UZUM, token, offers, existing_cards=True)
        account = parse_account(Marketplace.UZUM, {"token": token}, {**settings, "time_scale": 0.01})
        conn = make_connector(account, base_url=world.urls["uzum"])
        ...
        world.snapshot(Marketplace.UZUM, token)  # {offer_id: OfferState}
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.seeding import SeedOffer
from aimanager_sandbox.common.snapshot import OfferState
from aimanager_sandbox.world import NAMES, WorldOptions


class WorldStartError(RuntimeError):
    """The sandbox world process did not come up (the message carries its stderr)."""


class RemoteWorld:
    """The sandbox world running in a child process; see the module docstring.

    ``urls`` maps ``llm``/``wildberries``/``ozon``/``yandex``/``uzum`` to base URLs. Control calls are
    synchronous (``httpx.Client``); they are setup and inspection, not the product's traffic.
    """

    def __init__(
        self, process: subprocess.Popen[bytes], urls: dict[str, str], stderr: IO[bytes], options: WorldOptions
    ) -> None:
        self.process = process
        self.urls = urls
        self.options = options
        self._stderr = stderr
        self._http = httpx.Client(timeout=60.0, trust_env=False)  # loopback: never through a proxy

    @property
    def time_scale(self) -> float:
        return self.options.time_scale

    @classmethod
    def start(
        cls,
        *,
        time_scale: float = 1.0,
        llm_error_rate: float = 0.0,
        market_error_rate: float = 0.0,
        llm_rpm: int = 4000,
        llm_otpm: int = 800_000,
        llm_ttft_min_s: float = 0.5,
        llm_ttft_max_s: float = 1.0,
        llm_tps_min: float = 100.0,
        llm_tps_max: float = 200.0,
        startup_timeout: float = 60.0,
    ) -> RemoteWorld:
        """Spawn ``python -m aimanager_sandbox.world`` and wait (≤ ``startup_timeout`` s) for its URLs."""
        options = WorldOptions(
            time_scale=time_scale,
            llm_error_rate=llm_error_rate,
            market_error_rate=market_error_rate,
            llm_rpm=llm_rpm,
            llm_otpm=llm_otpm,
            llm_ttft_min_s=llm_ttft_min_s,
            llm_ttft_max_s=llm_ttft_max_s,
            llm_tps_min=llm_tps_min,
            llm_tps_max=llm_tps_max,
        )
        # The child finds this very package even when it is not installed (tests put src/ on sys.path).
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        # stderr goes to a file, not a pipe: nobody drains a pipe during a long run, and a full one blocks.
        stderr = tempfile.TemporaryFile(prefix="aimanager-world-")  # noqa: SIM115 (closed by stop())
        process = subprocess.Popen(
            [sys.executable, "-m", "aimanager_sandbox.world", *options.argv(), "--exit-with-parent"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
        )
        try:
            line = _read_line(process, startup_timeout)
            urls = json.loads(line)
            if not isinstance(urls, dict) or set(urls) != set(NAMES):
                raise ValueError(f"unexpected first line {line!r}")
        except BaseException as exc:
            _terminate(process)
            stderr.seek(0)
            tail = stderr.read()[-8000:].decode(errors="replace").strip()
            stderr.close()
            if process.stdout is not None:
                process.stdout.close()
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise WorldStartError(
                f"sandbox world did not start (exit code {process.returncode}): {exc}\n"
                f"--- its stderr ---\n{tail or '(empty)'}"
            ) from exc
        return cls(process, {str(k): str(v) for k, v in urls.items()}, stderr, options)

    def url(self, name: str) -> str:
        return self.urls[name]

    def stop(self) -> None:
        """SIGTERM the world, wait up to 10 s, then kill it. Idempotent."""
        _terminate(self.process)
        self._http.close()
        if self.process.stdout is not None:
            self.process.stdout.close()
        if not self._stderr.closed:
            self._stderr.close()

    def stderr_text(self, limit: int = 8000) -> str:
        """The tail of what the world has written to stderr so far (while it is not stopped)."""
        if self._stderr.closed:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()[-limit:].decode(errors="replace")

    def __enter__(self) -> RemoteWorld:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- control ------------------------------------------------------------------------------------
    def seed(
        self,
        marketplace: Marketplace | str,
        token: str,
        offers: Sequence[SeedOffer],
        *,
        existing_cards: bool,
        history_days: int | None = None,
        orders_per_day: int | None = None,
        seed: int | None = None,
        **ids: int,
    ) -> dict[str, Any]:
        """``seed_catalog`` over HTTP; returns the connector settings for the account.

        ``ids``: ``shop_id`` (Uzum), ``business_id``/``campaign_id`` (YM), as for ``seed_catalog``.
        """
        body: dict[str, Any] = {
            "token": token,
            "existing_cards": existing_cards,
            "offers": [
                {
                    "offer_id": o.offer_id,
                    "title": o.title,
                    "category": o.category,
                    "price": str(o.price),
                    "barcode": o.barcode,
                    "stock": o.stock,
                }
                for o in offers
            ],
        }
        extra = {"history_days": history_days, "orders_per_day": orders_per_day, "seed": seed, **ids}
        body.update({k: v for k, v in extra.items() if v is not None})
        answer = self._http.post(f"{self._market_url(marketplace)}/_sandbox/seed", json=body)
        _raise_for_status(answer)
        settings: dict[str, Any] = answer.json()
        return settings

    def snapshot(self, marketplace: Marketplace | str, token: str) -> dict[str, OfferState]:
        """``common.snapshot.snapshot`` over HTTP: what the account holds per offer (``{}`` if never
        opened)."""
        answer = self._http.get(f"{self._market_url(marketplace)}/_sandbox/snapshot", params={"token": token})
        _raise_for_status(answer)
        return {
            offer_id: OfferState(
                offer_id=offer_id,
                title=s["title"],
                title_uz=s["title_uz"],
                price=None if s["price"] is None else Decimal(s["price"]),
                stock=s["stock"],
            )
            for offer_id, s in answer.json().items()
        }

    def stats(self, name: str) -> dict[str, Any]:
        """``GET /_sandbox/stats`` of one sandbox (``llm`` or a marketplace)."""
        answer = self._http.get(f"{self.urls[str(name)]}/_sandbox/stats")
        _raise_for_status(answer)
        stats: dict[str, Any] = answer.json()
        return stats

    def llm_requests(self) -> int:
        """HTTP requests the LLM sandbox has answered."""
        return int(self.stats("llm")["requests"])

    def _market_url(self, marketplace: Marketplace | str) -> str:
        return self.urls[Marketplace(marketplace).value]


def _raise_for_status(answer: httpx.Response) -> None:
    if answer.is_error:
        raise RuntimeError(
            f"{answer.request.method} {answer.request.url} → {answer.status_code}: {answer.text[:2000]}"
        )


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    """The child's first stdout line, or an error if it exits or stays silent for ``timeout`` s."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    deadline = time.monotonic() + timeout
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while b"\n" not in buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no URLs within {timeout:g} s")
            if not selector.select(min(left, 0.5)):
                if process.poll() is not None:
                    raise RuntimeError("the process exited")
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                process.wait(timeout=5)
                raise RuntimeError("the process closed its stdout")
            buffer += chunk
    return buffer.split(b"\n", 1)[0].decode()


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
