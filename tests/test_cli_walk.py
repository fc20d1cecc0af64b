"""Every command of the CLI tree, fed bad input: one line on stderr, exit 2, never a traceback.

The tree is walked, not listed: a command or option added later is covered the day it lands. For each
command: an unknown option; the command without its required arguments; and for every parameter a
value it must refuse — a word where a number goes, a number below its declared minimum or above its
maximum, a choice that does not exist, a value given to a flag. Free-text parameters have no bad value;
the few string options that take a closed set (a priority, a status, a duration) are named in
``BAD_STRINGS`` and must be refused at parse time, before any database is opened. A string option that is
in neither table fails the walk, so whoever adds one decides which it is.

The entry point runs in-process (``aimanager.cli.main(argv)``): the same code as the script, a
fraction of a subprocess's cost per case. A subprocess sample keeps the real script honest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.core import TyperGroup
from typer.main import get_command

from aimanager import logs
from aimanager.cli import main
from aimanager.cli.app import app

# Closed-set string options: a value each must refuse at parse time.
BAD_STRINGS = {
    "priority": "someday",
    "status": "no-such-status",
    "every": "often",
    "min_severity": "loud",
    "format": "yaml",
    "role": "emperor",
    "capability": "refunds",
    "language": "klingon",
    "processes": "many",
}
# Free text (names, ids given as slugs, keys, URLs, file paths, JSON): nothing to refuse at parse time.
FREE_TEXT = {
    "kinds", "kind", "payload", "batch_key", "unique_key", "sku", "slug", "name", "ai_budget",
    "partner", "credential", "setting", "secret", "base_url", "pg_url", "output", "dialect", "token",
    "file", "template", "rates", "key", "new_key", "marketplace_id", "shop", "timezone", "host",
    "campaign", "business", "currency", "path", "url", "bind", "since", "out", "dir", "new_key_env",
    "refs", "by", "reason", "assignments", "keys", "login", "password", "database_url", "redis_url",
}  # fmt: skip
# A closed set under a name that elsewhere is free text: (command path …, parameter) → bad value.
BAD_BY_COMMAND = {("alerts", "channels", "add", "kind"): "pigeon"}


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    names: tuple[str, ...]  # one of these must appear in the error line ("" = any)

    def __str__(self) -> str:
        return " ".join(self.argv)


def commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path, command) of the tree, groups included."""

    def walk(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        yield path, cmd
        if isinstance(cmd, TyperGroup):
            for name, sub in sorted(cmd.commands.items()):
                yield from walk(sub, (*path, name))

    return walk(get_command(app), ())


def filler(param: Any) -> list[str]:
    """A value that parses for a required parameter (never run: another parameter is bad)."""
    desc = param.type_descriptor
    if desc.choices:
        choice = desc.choices[0]
        return [str(getattr(choice, "value", choice))]
    if param.name in BAD_STRINGS:
        return [{"priority": "low", "status": "failed", "every": "1h", "min_severity": "info",
                "capability": "cards", "language": "ru", "processes": "1"}.get(
            param.name, "table")]  # fmt: skip
    return ["1"]


UNCLASSIFIED: list[str] = []


def bad_values(param: Any, path: tuple[str, ...] = ()) -> list[str]:
    """Values ``param`` must refuse; [] for free text (an unclassified string option is noted)."""
    if (*path, param.name) in BAD_BY_COMMAND:
        return [BAD_BY_COMMAND[(*path, param.name)]]
    desc = param.type_descriptor
    info = desc.parameter_info
    annotation = desc.annotation
    inner = getattr(annotation, "__args__", (annotation,))[0] if desc.is_list else annotation
    if getattr(param, "is_flag", False):
        return []  # handled by the caller: a flag given a value
    if desc.choices:
        return ["no-such-choice"]
    if inner in (int, float):
        out = ["many"]
        if info.min is not None:
            out.append(str(info.min - 1))
        if info.max is not None:
            out.append(str(info.max + 1))
        return out
    if param.name in BAD_STRINGS:
        return [BAD_STRINGS[param.name]]
    if inner is Path or param.name in FREE_TEXT:
        return []
    UNCLASSIFIED.append(f"{param.opts[0]} ({param.name}: {annotation})")
    return []


def cases() -> list[Case]:
    out: list[Case] = []
    for path, cmd in commands():
        label = (path[-1],) if path else ("",)
        if isinstance(cmd, TyperGroup):
            out.append(Case((*path, "no-such-command-xyz"), ("no-such-command-xyz",)))
            if cmd.no_args_is_help and path:
                out.append(Case(path, ("missing command",)))
            continue
        out.append(Case((*path, "--no-such-option-xyz"), ("--no-such-option-xyz",)))
        required = [p for p in cmd.params if p.required]
        if required:
            out.append(Case(path, tuple(n for p in required for n in (*p.opts, p.name))))
        for param in cmd.params:
            others: list[str] = []
            for other in required:
                if other is param:
                    continue
                others += (
                    filler(other) if other.param_type_name == "argument" else [other.opts[0], *filler(other)]
                )
            names = (*param.opts, param.name or "", *label)
            if getattr(param, "is_flag", False) and param.opts[0].startswith("--"):
                out.append(Case((*path, *others, f"{param.opts[0]}=maybe"), names))
                continue
            for bad in bad_values(param, path):
                given = [bad] if param.param_type_name == "argument" else [param.opts[0], bad]
                # Arguments first: options after the positionals, as a user types them.
                out.append(Case((*path, *given, *others), names))
    return out


CASES = cases()


def test_every_string_option_is_classified() -> None:
    assert UNCLASSIFIED == [], (
        f"string options in neither BAD_STRINGS nor FREE_TEXT of {__file__} (does each take a closed set "
        "of values, refused while parsing, or free text?)"
    )


def test_the_walk_covers_the_whole_tree() -> None:
    paths = {c.argv[0] for c in CASES}
    for expected in ("init", "worker", "import", "run", "status", "report", "jobs", "schedule"):
        assert expected in paths
    assert len(CASES) > 150  # every option of every command: far more than a hand-made list


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Nothing here may reach a database: a bad value is refused while parsing. An empty directory
    # makes any command that got past parsing fail loudly (exit 1, "not initialised").
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("AIMANAGER_"):
            monkeypatch.delenv(name)
    # The root callback configures logging; the test process's loggers are not its to change.
    monkeypatch.setattr(logs, "configure", lambda *a, **k: None)
    return tmp_path


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_is_one_line_and_exit_2(
    case: Case, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(list(case.argv))
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert exited.value.code == 2, f"aimanager {case}: exit {exited.value.code}\n{err}"
    assert len(lines) == 1, f"aimanager {case}:\n{err}"
    assert lines[0].startswith("error: aimanager"), lines[0]
    assert "Traceback" not in err
    assert any(n and n.lower() in lines[0].lower() for n in case.names), (case.names, lines[0])
    assert not any(isolated.iterdir()), f"aimanager {case} wrote {list(isolated.iterdir())}"


def test_the_real_script_agrees(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMANAGER_")}
    for argv in (["jobs"], ["run", "--priority", "someday"], ["worker", "--concurrency", "0"]):
        res = subprocess.run(
            [sys.executable, "-m", "aimanager", *argv],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert res.returncode == 2 and len(lines) == 1, res.stderr
        assert lines[0].startswith(f"error: aimanager {argv[0]}") and "Traceback" not in res.stderr
