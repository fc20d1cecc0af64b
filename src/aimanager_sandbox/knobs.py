"""The faults and limits ``sandbox up`` takes, in one place: its flags, its options and the lab's runs
all carry this one object instead of seven fields each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxKnobs:
    """None keeps the sandbox's own realistic default: its 429/500/529 rates, its limits, its imperfect
    answers and its 5-60 minute batch turnaround. An LLM error rate is half 500s, half 529s and no random
    429s; a limit of 0 lifts it."""

    llm_error_rate: float | None = None
    market_error_rate: float = 0.0
    llm_rpm: int | None = None
    llm_itpm: int | None = None
    llm_otpm: int | None = None
    llm_bad_answer_rate: float | None = None
    llm_batch_seconds: float | None = None

    def flags(self) -> list[str]:
        """The ``sandbox up`` flags that ask for these (only what differs from the defaults)."""
        values: dict[str, float | int | None] = {
            "--llm-error-rate": self.llm_error_rate,
            "--market-error-rate": self.market_error_rate or None,
            "--llm-rpm": self.llm_rpm,
            "--llm-itpm": self.llm_itpm,
            "--llm-otpm": self.llm_otpm,
            "--llm-bad-answer-rate": self.llm_bad_answer_rate,
            "--llm-batch-seconds": self.llm_batch_seconds,
        }
        return [part for flag, value in values.items() if value is not None for part in (flag, str(value))]
