"""The layout shows the architecture (issue 17, docs/architecture.md): a few loose modules at
governor/'s top, the rest in the packages of their layer, and no module too long to read."""
from __future__ import annotations

from pathlib import Path

GOVERNOR = Path(__file__).resolve().parents[2] / "governor"
MAX_LOOSE = 6
MAX_LINES = 400


def test_at_most_six_modules_are_loose_at_the_top():
    loose = sorted(p.name for p in GOVERNOR.glob("*.py"))
    assert len(loose) <= MAX_LOOSE, f"{len(loose)} loose modules at governor/'s top: {loose}"


def test_no_module_is_over_400_lines():
    long = {str(p.relative_to(GOVERNOR)): n for p in GOVERNOR.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_checks_read_the_real_tree():
    assert (GOVERNOR / "__init__.py").is_file() and len(list(GOVERNOR.rglob("*.py"))) > 50
