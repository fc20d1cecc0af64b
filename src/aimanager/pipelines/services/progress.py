"""Counting the tasks a user sees: done and failed per capability, with the reasons."""

from __future__ import annotations

from collections import Counter

from aimanager.domain.enums import Capability


class Progress:
    """Tasks done and failed per capability (what the demo's progress bars and reports show).

    Keyed by task, so a job that is retried after a partial failure does not count its tasks twice,
    and a task that fails and then succeeds on a later attempt ends up done.
    """

    def __init__(self) -> None:
        # A run's four capabilities always show (at zero too); images appear once a task of theirs does.
        shown = [c for c in Capability if c is not Capability.IMAGES]
        self._done: dict[str, set[str]] = {c.value: set() for c in shown}
        self._failed: dict[str, dict[str, str]] = {c.value: {} for c in shown}

    def ok(self, capability: Capability, *keys: str) -> None:
        """Mark tasks done."""
        done = self._done.setdefault(capability.value, set())
        failed = self._failed.setdefault(capability.value, {})
        for key in keys:
            done.add(key)
            failed.pop(key, None)

    def fail(self, capability: Capability, key: str, reason: str) -> None:
        """Mark a task failed with a reason a person can act on."""
        if key not in self._done.setdefault(capability.value, set()):
            self._failed.setdefault(capability.value, {})[key] = reason

    @property
    def done(self) -> Counter[str]:
        return Counter({c: len(keys) for c, keys in self._done.items()})

    @property
    def failed(self) -> Counter[str]:
        return Counter({c: len(keys) for c, keys in self._failed.items()})

    @property
    def failures(self) -> list[str]:
        return [f"{c}: {key}: {why}" for c, items in self._failed.items() for key, why in items.items()]
