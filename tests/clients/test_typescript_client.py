"""The TypeScript client (clients/typescript): its OpenAPI document and generated types are the
app's, it builds with tsc, and its node tests (the session loop, guardians and time requests; one
file after another, as they share the server's clock), and those of the example chat frontend
(examples/chat-frontend) that uses it, pass against the real app served on a free port.
Skipped, saying why, when node or npm is not on the machine (a failure instead when
GOVERNOR_TEST_REQUIRE_NODE=1, as in CI)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from governor.config import PROJECT_DIR

TS = PROJECT_DIR / "clients" / "typescript"
EXAMPLE = PROJECT_DIR / "examples" / "chat-frontend"
NODE_MISSING = shutil.which("node") is None or shutil.which("npm") is None
REQUIRE_NODE = os.environ.get("GOVERNOR_TEST_REQUIRE_NODE") == "1"


def test_the_committed_openapi_document_is_the_apps(client):
    committed = json.loads((TS / "openapi.json").read_text())
    assert committed == client.get("/openapi.json").get_json(), \
        "clients/typescript/openapi.json is stale: run `npm run generate` in clients/typescript"


def npm(*args: str, cwd=TS, env: dict[str, str] | None = None, timeout: int = 120) -> None:
    r = subprocess.run(["npm", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"npm {' '.join(args)} failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"


def install(folder) -> None:
    """`npm ci` when node_modules is missing or older than the lock file (not on every run)."""
    installed = folder / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < (folder / "package-lock.json").stat().st_mtime:
        npm("ci", "--no-audit", "--no-fund", cwd=folder, timeout=300)


def test_typescript_client_against_the_real_app(live, bearer):
    if NODE_MISSING:
        why = "node and npm are needed for the TypeScript client's tests (Debian: apt-get install nodejs npm)"
        pytest.fail(why + "; GOVERNOR_TEST_REQUIRE_NODE=1") if REQUIRE_NODE else pytest.skip(why)
    install(TS)
    npm("run", "check-types")  # src/schema.ts is what openapi-typescript makes of openapi.json
    npm("run", "build")
    env = {**os.environ, "GOVERNOR_URL": live.url, "GOVERNOR_TOKEN": bearer(),
           "GOVERNOR_GUARDIAN_TOKEN": bearer("guardian"), "GOVERNOR_AGE_TOKEN": bearer("age")}
    npm("test", env=env)
    install(EXAMPLE)
    npm("test", cwd=EXAMPLE, env=env)
