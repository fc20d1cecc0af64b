"""Paused job kinds and partners: claims pass over their queued jobs until they are resumed.

A pause never touches the jobs themselves (no status change, nothing to undo on resume, no statement
that requeues a job has to know about it): it is a row of the ``job_pauses`` table that each claim
reads as an exclusion list. Running jobs finish their attempt; new jobs of a paused kind or partner
are enqueued as usual and wait. The SQL backends keep the list in memory and read it again at most
every ``PAUSE_REFRESH_S`` seconds (their own pauses and resumes take effect at once), so a claim with
nothing paused is the very statement it was before pauses existed.
"""

from __future__ import annotations

from dataclasses import dataclass

from aimanager.errors import JobError

PAUSE_REFRESH_S = 1.0
KIND, PARTNER = "kind", "partner"


class InvalidPause(JobError):
    """A pause that names neither or both of a kind and a partner."""


@dataclass(frozen=True)
class Pause:
    """One paused kind or partner, who paused it, why and when (epoch seconds)."""

    scope: str  # kind | partner
    value: str
    reason: str | None
    paused_by: str | None
    paused_at: float

    @property
    def partner_id(self) -> int | None:
        return int(self.value) if self.scope == PARTNER else None

    @property
    def kind(self) -> str | None:
        return self.value if self.scope == KIND else None


@dataclass(frozen=True)
class PauseSet:
    """What a claim must skip."""

    kinds: frozenset[str] = frozenset()
    partners: frozenset[int] = frozenset()

    @classmethod
    def of(cls, pauses: list[Pause]) -> PauseSet:
        return cls(
            frozenset(p.value for p in pauses if p.scope == KIND),
            frozenset(int(p.value) for p in pauses if p.scope == PARTNER),
        )

    def __bool__(self) -> bool:
        return bool(self.kinds or self.partners)

    def blocks(self, kind: str, partner_id: int | None) -> bool:
        return kind in self.kinds or (partner_id is not None and partner_id in self.partners)


def target(kind: str | None, partner_id: int | None) -> tuple[str, str]:
    """The (scope, value) row a pause of ``kind`` or ``partner_id`` is stored as."""
    if (kind is None) == (partner_id is None):
        raise InvalidPause("pause a kind or a partner: name exactly one")
    if kind is not None:
        if not kind or len(kind) > 64:
            raise InvalidPause("a job kind is 1-64 characters")
        return KIND, kind
    return PARTNER, str(partner_id)
