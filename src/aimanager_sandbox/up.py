"""``aimanager sandbox up``: every sandbox in one process, with ready-to-paste accounts for them.

Starts the four marketplace sandboxes, the LLM sandbox and the Telegram sandbox on free 127.0.0.1
ports (one uvicorn server each, all on one event loop), opens one seller account per marketplace and
prints what an operator types next: the ``export AIMANAGER_…`` lines that point the LLM gateway at
the LLM sandbox and one ``aimanager accounts connect …`` per marketplace with that account's
credentials, address, ids and clock. The same goes to ``--state-file`` as JSON (written once every
server accepts, removed on exit), so scripts and tests read the ports instead of parsing text::

    {"pid": 123, "time_scale": 0.05, "partner": "acme",
     "urls": {"llm": "http://127.0.0.1:…", "wildberries": …, "ozon": …, "yandex": …, "uzum": …,
              "telegram": …},
     "env": {"AIMANAGER_LLM_PROVIDER": "anthropic", …},
     "accounts": {"wildberries": {"credentials": {"token": …}, "settings": {…}, "base_url": …}, …},
     "commands": ["aimanager accounts connect …", …]}

What the sandboxes are told, and why:

* Ozon opens accounts that settle in UZS (``extra["currency"]``): the product prices in UZS, and the
  sandbox's own default (RUB, as a Russian cabinet) would refuse every card. Whether a real Uzbek
  cabinet settles in UZS is not confirmed (see ``aimanager_sandbox.ozon``);
* the Yandex Market and Uzum ids (business/campaign, shop) are the ones the sandbox gave the opened
  account, read back from it — the connector requires them as settings, as a real cabinet shows them;
* Wildberries' token is JWT-shaped with an ``exp`` 180 days ahead (unsigned: the sandbox accepts any
  token), so ``accounts list`` shows a token expiry as it does for a real one;
* Uzum has no card-create API: products exist there only through the seller cabinet. In the sandbox
  the cabinet is ``POST <uzum>/_sandbox/seed`` (see ``common.control``), printed as a hint.

With ``--catalog FILE --accounts-file OUT`` every partner of the catalog also gets a seeded account per
marketplace, listed in ``OUT`` for ``aimanager partners import`` (see ``up_fleet``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from aimanager.connectors.registry import parse_credentials
from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.serving import serve_apps
from aimanager_sandbox.knobs import SandboxKnobs

LLM_API_KEY = "sk-ant-sandbox"  # the LLM sandbox wants a key header; any value opens it
WB_TOKEN_DAYS = 180


@dataclass(frozen=True)
class UpOptions:
    """What ``sandbox up`` starts and how the sandboxes behave."""

    time_scale: float = 1.0
    llm: bool = True
    telegram: bool = True
    kind_llm: bool = False  # no imperfect answers, faults or lost batch items
    partner: str = "acme"  # the slug in the printed commands
    seed: int = 7
    # A fleet: an account per partner of this catalog CSV, written to ``accounts_file`` (``up_fleet``).
    catalog: Path | None = None
    accounts_file: Path | None = None
    history_days: int = 60  # the order history each fleet account is seeded with
    knobs: SandboxKnobs = field(default_factory=SandboxKnobs)  # faults and limits


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def sandbox_credentials(market: Marketplace, name: str) -> dict[str, str]:
    """Fresh credentials in ``market``'s real shape; ``name`` keeps accounts of different runs apart."""
    tag = f"{name}-{secrets.token_hex(4)}"
    if market is Marketplace.WILDBERRIES:
        claims = {"exp": int(time.time()) + WB_TOKEN_DAYS * 86400, "sid": tag, "sandbox": True}
        header = _b64({"alg": "ES256", "typ": "JWT"})
        return {"token": f"{header}.{_b64(claims)}.{secrets.token_urlsafe(16)}"}
    if market is Marketplace.OZON:
        return {"client_id": str(secrets.randbelow(9 * 10**8) + 10**8), "api_key": f"sandbox-{tag}"}
    if market is Marketplace.YANDEX:
        return {"api_key": f"sandbox-{tag}"}
    return {"token": f"sandbox-{tag}"}


def build_apps(options: UpOptions) -> dict[str, Any]:
    """The sandbox apps by name: the marketplaces, then ``llm`` and ``telegram`` if asked for."""
    from aimanager_sandbox.common.sandbox import FaultConfig, SandboxConfig
    from aimanager_sandbox.marketplaces import SANDBOXES

    apps: dict[str, Any] = {}
    for market in Marketplace:
        extra = {"currency": "UZS"} if market is Marketplace.OZON else {}
        faults = FaultConfig(error_rate=options.knobs.market_error_rate)
        config = SandboxConfig(time_scale=options.time_scale, seed=options.seed, extra=extra, faults=faults)
        apps[market.value] = SANDBOXES[market](config)
    if options.llm:
        from aimanager_sandbox.llm import create_app

        apps["llm"] = create_app(llm_config(options))
    if options.telegram:
        from aimanager_sandbox.telegram import TelegramConfig
        from aimanager_sandbox.telegram import create_app as create_telegram

        apps["telegram"] = create_telegram(TelegramConfig(time_scale=options.time_scale))
    return apps


def llm_config(options: UpOptions) -> Any:
    """The LLM sandbox's configuration: its defaults, then ``--kind``, then the rates and limits asked."""
    from aimanager_sandbox.llm import PERFECT
    from aimanager_sandbox.llm import SandboxConfig as LLMConfig

    config = LLMConfig(time_scale=options.time_scale, seed=options.seed)
    if options.kind_llm:
        config.update(dict(PERFECT))
    knobs = options.knobs
    limits = {"rpm": knobs.llm_rpm, "itpm": knobs.llm_itpm, "otpm": knobs.llm_otpm}
    # 0 lifts a limit, as ``sandbox llm`` takes it.
    config.update({k: v or None for k, v in limits.items() if v is not None})
    if knobs.llm_batch_seconds is not None:
        config.update({"batch_seconds": knobs.llm_batch_seconds})
    if knobs.llm_error_rate is not None:
        half = knobs.llm_error_rate / 2
        config.update({"error_500_rate": half, "overload_rate": half, "rate_limit_rate": 0.0})
    if knobs.llm_bad_answer_rate is not None:
        config.set_bad_answer_rate(knobs.llm_bad_answer_rate)
    return config


def open_accounts(apps: dict[str, Any], options: UpOptions) -> dict[str, dict[str, Any]]:
    """One account per marketplace sandbox: its credentials and the settings the connector needs."""
    accounts: dict[str, dict[str, Any]] = {}
    for market in Marketplace:
        creds = sandbox_credentials(market, options.partner)
        key = parse_credentials(market, creds).account_key()  # the product's rule of which key opens it
        acc = apps[market.value].state.sandbox.account(key)
        settings: dict[str, Any] = {}
        if market is Marketplace.YANDEX:
            settings = {"business_id": acc.business_id, "campaign_id": acc.campaign_id}
        elif market is Marketplace.UZUM:
            settings = {"shop_id": acc.shop_id}
        if options.time_scale != 1.0:
            settings["time_scale"] = options.time_scale
        accounts[market.value] = {"credentials": creds, "settings": settings, "account_key": key}
    return accounts


def connect_command(partner: str, market: str, account: dict[str, Any]) -> str:
    """The ``aimanager accounts connect`` line for one account."""
    words = ["aimanager", "accounts", "connect", "-p", partner, "-m", market]
    for k, v in account["credentials"].items():
        words += ["--credential", f"{k}={v}"]
    for k, v in account["settings"].items():
        words += ["--setting", f"{k}={v}"]
    words += ["--base-url", account["base_url"]]
    return shlex.join(words)


def describe(urls: dict[str, str], accounts: dict[str, dict[str, Any]], options: UpOptions) -> dict[str, Any]:
    """The state document: URLs, environment, accounts and the commands to paste."""
    env: dict[str, str] = {}
    if "llm" in urls:
        env = {
            "AIMANAGER_LLM_PROVIDER": "anthropic",
            "AIMANAGER_ANTHROPIC_API_KEY": LLM_API_KEY,
            "AIMANAGER_ANTHROPIC_BASE_URL": urls["llm"],
        }
    for market, account in accounts.items():
        account["base_url"] = urls[market]
    commands = [connect_command(options.partner, m, a) for m, a in accounts.items()]
    return {
        "pid": os.getpid(),
        "time_scale": options.time_scale,
        "partner": options.partner,
        "urls": urls,
        "env": env,
        "accounts": accounts,
        "commands": commands,
    }


def render(state: dict[str, Any]) -> str:
    """What ``sandbox up`` prints: URLs, export lines, connect commands, hints."""
    lines = ["# sandboxes (127.0.0.1 only):"]
    lines += [f"#   {name:12} {url}" for name, url in state["urls"].items()]
    if state["env"]:
        lines.append("# point the LLM gateway at the LLM sandbox:")
        lines += [f"export {k}={shlex.quote(v)}" for k, v in state["env"].items()]
    lines.append(f"# connect partner {state['partner']!r} (add it first: aimanager partners add "
                 f"{state['partner']} --name '…'):")  # fmt: skip
    lines += state["commands"]
    uzum = state["accounts"].get(Marketplace.UZUM.value)
    if uzum is not None:
        lines.append(
            "# Uzum has no card-create API: its products exist only through the seller cabinet; here the "
            f"cabinet is POST {uzum['base_url']}/_sandbox/seed (see docs/operator.md)"
        )
    if "telegram" in state["urls"]:
        lines.append(
            f"# alerts: a telegram channel with --setting base_url={state['urls']['telegram']} "
            "(messages at GET …/_sandbox/messages)"
        )
    return "\n".join(lines)


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Write the state file atomically: a reader never sees half of it."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, indent=1, ensure_ascii=False))
    os.replace(tmp, path)


async def serve_up(
    options: UpOptions,
    *,
    state_file: Path | None = None,
    out: IO[str] | None = None,
    on_ready: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Serve every sandbox until SIGTERM/SIGINT; print (and write) the state once all accept."""
    apps = build_apps(options)
    fleet = None
    if options.catalog is not None:
        from aimanager_sandbox.up_fleet import read_catalog

        fleet = read_catalog(options.catalog)  # a bad catalog fails before anything serves

    def ready(urls: dict[str, str]) -> None:
        state = describe(urls, open_accounts(apps, options), options)
        if fleet is not None and options.accounts_file is not None:
            from aimanager_sandbox.up_fleet import open_partner_accounts, write_accounts

            rows = open_partner_accounts(
                apps,
                fleet,
                time_scale=options.time_scale,
                history_days=options.history_days,
                seed=options.seed,
                credentials=sandbox_credentials,
            )
            # Before the state file: whoever waits for it finds the accounts complete.
            write_accounts(options.accounts_file, rows, urls)
            state["fleet"] = {"accounts_file": str(options.accounts_file), "accounts": len(rows)}
        stream = out or sys.stdout
        stream.write(render(state) + "\n")
        stream.flush()
        if state_file is not None:
            write_state(state_file, state)
        if on_ready is not None:
            on_ready(state)

    await serve_apps(apps, ready)


def run_up(options: UpOptions, state_file: Path | None = None) -> None:
    """``serve_up`` until a signal; the state file exists only while the sandboxes serve."""
    if state_file is not None:
        state_file.unlink(missing_ok=True)  # a stale file from an earlier run must not be read as this one
    try:
        asyncio.run(serve_up(options, state_file=state_file))
    finally:
        if state_file is not None:
            state_file.unlink(missing_ok=True)
