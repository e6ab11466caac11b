"""docs/audit.md's table names every action the code appends to the log: the actions are read
from the source (string literals given as `action=` to Entry, or to an `audit`/`_audit` helper)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACTION = re.compile(r"[a-z_]+\.[a-z_]+")


def literals(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and ACTION.fullmatch(n.value)}


def emitted() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "governor").rglob("*.py"):
        for call in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(call, ast.Call):
                continue
            name = getattr(call.func, "id", getattr(call.func, "attr", None))
            if name == "Entry":
                found |= set().union(*(literals(k.value) for k in call.keywords if k.arg == "action"))
            elif name in ("_audit", "audit"):  # helpers (service/sessions/steps.audit) take the action as
                # their one dotted string argument
                found |= set().union(*(literals(a) for a in call.args if isinstance(a, ast.Constant)))
    return found


def documented() -> set[str]:
    text = (ROOT / "docs" / "audit.md").read_text()
    rows = [line.split("|")[1] for line in text.splitlines() if line.startswith("| `")]
    return {name for cell in rows for name in re.findall(r"`([a-z_]+\.[a-z_]+)`", cell)}


def test_the_source_is_read():
    assert {"session.started", "user.erased", "grant.revoked", "time.decided", "token.revoked"} <= emitted()


def test_every_emitted_action_is_in_the_table():
    assert emitted() - documented() == set()


def test_the_table_names_nothing_the_code_does_not_emit():
    assert documented() - emitted() <= {"audit.pruned"}  # its action is the domain's constant, PRUNED
