"""The seam stays real: governor.domain imports the standard library and itself, nothing else (no
Flask, no SQLAlchemy, not the rest of governor)."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "governor" / "domain"
MODULES = sorted(DOMAIN.glob("*.py"))


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file; relative imports stay inside."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, "governor.domain" if node.level else node.module))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in (
                "__import__", "import_module"):
            found.append((node.lineno, "<dynamic import>"))
    return found


def allowed(module: str) -> bool:
    top = module.split(".")[0]
    return module == "governor.domain" or module.startswith("governor.domain.") or (
        top != "governor" and top in sys.stdlib_module_names)


def test_the_domain_has_modules():
    assert {p.name for p in MODULES} >= {"__init__.py", "engine.py", "ledger.py", "policy.py"}


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_domain_imports_only_the_standard_library_and_itself(path):
    bad = [f"{path.name}:{line}: {module}" for line, module in imported(path) if not allowed(module)]
    assert not bad, "governor.domain must stay pure:\n" + "\n".join(bad)


@pytest.mark.parametrize("module,ok", [
    ("zoneinfo", True), ("datetime", True), ("collections.abc", True), ("governor.domain.policy", True),
    ("governor.domain", True), ("governor.store", False), ("governor", False), ("flask", False),
    ("sqlalchemy.orm", False), ("governor_domain", False), ("pydantic", False),
])
def test_the_rule_itself(module, ok):
    assert allowed(module) is ok
