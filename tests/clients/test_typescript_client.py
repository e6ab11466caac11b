"""The TypeScript client (clients/typescript): its OpenAPI document and generated types are the
app's, it builds with tsc, and its node tests pass against the real app served on a free port.
Skipped, saying why, when node or npm is not on the machine."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from governor.config import PROJECT_DIR

TS = PROJECT_DIR / "clients" / "typescript"
NODE_MISSING = shutil.which("node") is None or shutil.which("npm") is None


def test_the_committed_openapi_document_is_the_apps(client):
    committed = json.loads((TS / "openapi.json").read_text())
    assert committed == client.get("/openapi.json").get_json(), \
        "clients/typescript/openapi.json is stale: run `npm run generate` in clients/typescript"


def npm(*args: str, env: dict[str, str] | None = None, timeout: int = 120) -> None:
    r = subprocess.run(["npm", *args], cwd=TS, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"npm {' '.join(args)} failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"


def install() -> None:
    """`npm ci` when node_modules is missing or older than the lock file (not on every run)."""
    installed = TS / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < (TS / "package-lock.json").stat().st_mtime:
        npm("ci", "--no-audit", "--no-fund", timeout=300)


@pytest.mark.skipif(NODE_MISSING, reason="node and npm are needed for the TypeScript client's tests")
def test_typescript_client_against_the_real_app(live, bearer):
    install()
    npm("run", "check-types")  # src/schema.ts is what openapi-typescript makes of openapi.json
    npm("run", "build")
    npm("test", env={**os.environ, "GOVERNOR_URL": live.url, "GOVERNOR_TOKEN": bearer()})
