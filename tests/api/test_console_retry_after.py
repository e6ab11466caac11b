"""The console's refusals that ask to come back later say when, as the API's do: its 429 page (the
admin scope's rate limit) and its 503 page (the database unreachable) carry Retry-After."""
from __future__ import annotations

from governor import create_app
from governor.service import admin_users
from governor.store.database import DatabaseUnavailable
from tests.api.conftest import assert_problem
from tests.api.test_console import sign_in
from tests.conftest import settings_for


def test_the_consoles_429_page_says_when_to_come_back(db_url, clock, token):
    app = create_app(settings_for(db_url, rate_limit_admin_per_minute=2), clock=clock)
    now = [1000.0]
    app.extensions["governor.limits"].now = lambda: now[0]  # the limiter's own (monotonic) clock
    try:
        client, admin = app.test_client(), token("admin", sub="console-bob")
        assert sign_in(client, admin["Authorization"].removeprefix("Bearer ")).status_code == 302  # 1
        assert client.get("/admin/").status_code == 200  # 2
        now[0] += 15
        page = client.get("/admin/")
        assert page.status_code == 429 and "text/html" in page.content_type
        assert page.headers["Retry-After"] == "45"  # the window's end, as the API says it
        assert assert_problem(client.get("/v1/admin/policy", headers=admin), 429)
        assert client.get("/v1/admin/policy", headers=admin).headers["Retry-After"] == "45"
        now[0] += 45
        assert client.get("/admin/").status_code == 200  # it was true: the window is over
    finally:
        app.extensions["governor"].db.dispose()


def test_the_consoles_503_page_says_when_to_retry(client, token, monkeypatch):
    assert sign_in(client, token("admin")["Authorization"].removeprefix("Bearer ")).status_code == 302

    def unreachable(*args, **kwargs):
        raise DatabaseUnavailable("connection refused")
    monkeypatch.setattr(admin_users, "search", unreachable)
    page = client.get("/admin/users?q=kid-1")
    assert page.status_code == 503 and page.headers["Retry-After"] == "2"
    assert "Database unavailable" in page.get_data(as_text=True)
