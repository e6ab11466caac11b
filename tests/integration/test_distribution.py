"""The server's wheel (a non-editable install) carries what the package reads besides its Python
modules: the /docs page's templates and the console's templates and assets (pyproject.toml's
package-data)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest

from governor.config import PROJECT_DIR

pytestmark = pytest.mark.slow


def test_the_wheel_holds_every_template_and_asset(tmp_path):
    package = PROJECT_DIR / "governor"
    wanted = {p.relative_to(PROJECT_DIR).as_posix() for p in package.rglob("*")
              if p.is_file() and p.suffix not in (".py", ".pyc") and p.name != "README.md"
              and "__pycache__" not in p.parts}
    assert {"governor/api/templates/apidoc.html", "governor/console/templates/console/base.html",
            "governor/console/static/console.css"} <= wanted
    clone = tmp_path / "clone"  # as a fresh checkout: no egg-info or build folder to take a file list from
    shutil.copytree(package, clone / "governor", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", *(p.name for p in PROJECT_DIR.glob("LICEN[CS]E*"))):
        shutil.copy(PROJECT_DIR / name, clone / name)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(clone)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    [wheel] = tmp_path.glob("governor-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    assert sorted(wanted - names) == []
    assert "governor/console/views.py" in names and "governor/api/apidoc.py" in names
