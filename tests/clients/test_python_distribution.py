"""The Python client is its own distribution (clients/python: `governor-client`, module
`governor_client`, httpx its one dependency): its wheel holds the client alone, works without any
part of the server, and the server package no longer carries a client."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from email.parser import Parser

from governor.config import PROJECT_DIR

CLIENT = PROJECT_DIR / "clients" / "python"
SERVER_PACKAGES = ["flask", "werkzeug", "sqlalchemy", "alembic", "apscheduler", "jwt", "pydantic", "gunicorn",
                   "psycopg", "prometheus_client", "governor"]


def run_python(code: str, *args: str, **kw) -> str:
    r = subprocess.run([sys.executable, *args, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                       timeout=120, **kw)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_importing_it_loads_httpx_and_nothing_of_the_server():
    """In a fresh interpreter: after httpx (and what httpx loads) is imported, importing the client
    adds no module outside the standard library but its own."""
    out = run_python(f"""
        import sys
        def loaded():
            return {{m.split(".")[0] for m in sys.modules}} - set(sys.stdlib_module_names)
        import httpx
        before = loaded()
        import governor_client
        from governor_client import GovernorClient, GovernorSession, WeekSummary
        print(sorted(loaded() - before), sorted(m for m in {SERVER_PACKAGES!r} if m in sys.modules))
    """, cwd=CLIENT)
    assert out == "['governor_client'] []"


def test_its_wheel_holds_the_client_alone_and_works_with_httpx_only(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(CLIENT)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    [wheel] = tmp_path.glob("governor_client-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = Parser().parsestr(z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode())
        z.extractall(tmp_path / "unpacked")
    assert meta["Name"] == "governor-client"
    assert [req.split("<")[0].split(">")[0] for req in meta.get_all("Requires-Dist")] == ["httpx"]
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"governor_client"}
    # The unpacked wheel on a path of its own, with every server package (and Governor) unimportable:
    # no .pth is read (-S), so neither the editable client nor the server can be found by accident.
    out = run_python(f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {SERVER_PACKAGES!r}:
                    raise ImportError(f"blocked in this test: {{name}}")
        sys.meta_path.insert(0, Block())
        import httpx, governor_client
        assert governor_client.__file__.startswith({str(tmp_path / "unpacked")!r}), governor_client.__file__
        ok = {{"user_id": "u-1", "allowed": True, "reason": "ok", "warnings": []}}
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json=ok))
        with governor_client.GovernorClient("http://t", "tok", transport=transport) as c:
            print(c.status("u-1").allowed)
    """, "-S", cwd=tmp_path, env={**os.environ,
                                 "PYTHONPATH": os.pathsep.join([str(tmp_path / "unpacked"),
                                                                sysconfig.get_paths()["purelib"]])})
    assert out == "True"


def test_the_server_package_carries_no_client():
    assert importlib.util.find_spec("governor.client") is None
    assert not (PROJECT_DIR / "governor" / "client.py").exists()
    assert importlib.util.find_spec("governor_client").origin.startswith(str(CLIENT / "src"))
