"""Router: task kind → tier → ordered model list, from a TOML file.

Escalation is the task's ``escalate_to`` tier, used when an answer fails a check a larger model can
fix. A tier that no task uses is a configuration error (it would be read by nothing). Entries whose
provider is not configured are skipped; with provider ``offline`` every route is the offline writer.
"""

from __future__ import annotations

import time
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from aimanager.llm.budget import DEFAULT_TOKENS_PER_ITEM
from aimanager.llm.errors import RoutingError
from aimanager.llm.types import ModelRef


@dataclass(frozen=True, slots=True)
class TaskRoute:
    """Where one task kind goes."""

    tier: str
    escalate_to: str | None = None
    max_output_tokens_per_item: int = DEFAULT_TOKENS_PER_ITEM


@dataclass(frozen=True, slots=True)
class Route:
    """The resolved route of one request: its tier, models in order, and the escalation models."""

    task_kind: str
    tier: str
    models: tuple[ModelRef, ...]
    escalation: tuple[ModelRef, ...]
    max_output_tokens_per_item: int


def load_routes(path: str | Path | None = None) -> dict[str, Any]:
    """The routes file (``path``, or the packaged default)."""
    if path is None:
        text = resources.files("aimanager.llm").joinpath("routes.toml").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return tomllib.loads(text)


@dataclass(slots=True)
class Router:
    """Resolves routes and keeps short cooldowns for models that just failed over."""

    tiers: dict[str, tuple[ModelRef, ...]]
    tasks: dict[str, TaskRoute]
    providers: tuple[str, ...]  # configured providers in preference order
    cooldown_s: float = 30.0
    _cooling: dict[ModelRef, float] = field(default_factory=dict)

    @classmethod
    def from_config(
        cls,
        raw: dict[str, Any],
        providers: tuple[str, ...],
        *,
        task_overrides: dict[str, str] | None = None,
        tier_overrides: dict[str, list[str]] | None = None,
        cooldown_s: float = 30.0,
    ) -> Router:
        tiers = {
            name: tuple(ModelRef.parse(m) for m in spec["models"]) for name, spec in raw["tiers"].items()
        }
        for name, models in (tier_overrides or {}).items():
            tiers[name] = tuple(ModelRef.parse(m) for m in models)
        tasks = {
            name: TaskRoute(
                tier=spec["tier"],
                escalate_to=spec.get("escalate_to"),
                max_output_tokens_per_item=int(
                    spec.get("max_output_tokens_per_item", DEFAULT_TOKENS_PER_ITEM)
                ),
            )
            for name, spec in raw.get("tasks", {}).items()
        }
        for name, tier in (task_overrides or {}).items():
            base = tasks.get(name, TaskRoute(tier=tier))
            tasks[name] = TaskRoute(tier, base.escalate_to, base.max_output_tokens_per_item)
        used = {t.tier for t in tasks.values()} | {t.escalate_to for t in tasks.values() if t.escalate_to}
        if unknown := sorted(used - set(tiers)):
            raise RoutingError(
                f"routes: task(s) name tier(s) {', '.join(unknown)} that the file does not define"
            )
        if unread := sorted(set(tiers) - used):
            raise RoutingError(
                f"routes: tier(s) {', '.join(unread)} used by no task (remove them, or route a task there)"
            )
        return cls(tiers=tiers, tasks=tasks, providers=providers, cooldown_s=cooldown_s)

    def _usable(self, tier: str) -> tuple[ModelRef, ...]:
        if self.providers == ("offline",):
            return (ModelRef("offline", "offline-writer"),)
        models = self.tiers.get(tier)
        if models is None:
            raise RoutingError(f"unknown tier {tier!r}")
        usable = [m for m in models if m.provider in self.providers]
        # The preferred provider's first model leads; the rest keep the file's order, which alternates
        # providers on purpose: a 529 is provider-wide, so the next provider is the better fallback.
        preferred = next((m for m in usable if m.provider == self.providers[0]), None)
        if preferred is not None:
            usable.remove(preferred)
            usable.insert(0, preferred)
        return tuple(usable)

    def route(self, task_kind: str, *, complex: bool = False, images: bool = False) -> Route:
        """The route of a task; raises ``RoutingError`` if no configured provider serves it."""
        task = self.tasks.get(task_kind, TaskRoute(tier="small"))
        tier = "vision" if images else "large" if complex else task.tier
        models = self._usable(tier)
        if not models:
            raise RoutingError(
                f"task {task_kind!r} (tier {tier}) has no model on the configured providers {self.providers}"
            )
        escalation = self._usable(task.escalate_to) if task.escalate_to and not complex else ()
        return Route(task_kind, tier, models, escalation, task.max_output_tokens_per_item)

    def ordered(self, models: tuple[ModelRef, ...]) -> list[ModelRef]:
        """Models in try order: those cooling down after a failure go last (but are still tried)."""
        now = time.monotonic()
        return sorted(models, key=lambda m: self._cooling.get(m, 0.0) > now)

    def cool(self, model: ModelRef) -> None:
        """Move ``model`` to the back of every list for ``cooldown_s`` (it just failed over)."""
        self._cooling[model] = time.monotonic() + self.cooldown_s
