"""The admin console through Flask's test client: sign-in, CSRF, pages, and changes audited as the
API's are. (tests/e2e/test_console_browser.py drives it in a real Chromium.)"""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from governor.store.tables import AuditEvent
from tests.conftest import shanghai

KID = "kid-12"


def by_testid(html: str, name: str) -> str:
    """The text inside the element carrying data-testid=name."""
    m = re.search(rf'data-testid="{name}"[^>]*>([^<]*)<', html)
    assert m, f"no data-testid={name}"
    return m.group(1).strip()


def attr(html: str, name: str, attribute: str) -> str:
    m = re.search(rf'data-testid="{name}"[^>]*?{attribute}="([^"]*)"', html)
    assert m, f"no {attribute} on data-testid={name}"
    return m.group(1)


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def sign_in(client, token_text: str):
    page = client.get("/admin/login").get_data(as_text=True)
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    return client.post("/admin/login", data={"nonce": nonce, "token": token_text})


@pytest.fixture
def admin_token(token):
    return token("admin", sub="console-alice")["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def console(client, admin_token, token):
    r = client.put(f"/v1/users/{KID}/age-verification", headers=token("age"),
                   json={"status": "verified", "birth_date": "2014-03-01"})
    assert r.status_code == 200
    r = sign_in(client, admin_token)
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/")
    return client


def test_sign_in_sets_a_strict_httponly_cookie_and_sign_out_clears_it(client, admin_token):
    assert client.get("/admin/").status_code == 302  # not signed in: to the sign-in page
    r = sign_in(client, admin_token)
    cookie = [h for h in r.headers.getlist("Set-Cookie") if h.startswith("governor_admin=")][0]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie
    home = client.get("/admin/")
    assert home.status_code == 200 and 'data-testid="user-search"' in home.get_data(as_text=True)
    assert "script-src" not in home.headers["Content-Security-Policy"]  # default-src 'none': no script runs
    assert home.headers["Cache-Control"] == "no-store" and home.headers["X-Frame-Options"] == "DENY"
    r = client.post("/admin/logout", data={"csrf": csrf(home.get_data(as_text=True))})
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/login")
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize("scope", ["sessions", "audit age"])
def test_only_an_admin_token_signs_in(client, token, scope):
    other = token(scope)["Authorization"].removeprefix("Bearer ")
    for bad in (other, "not-a-token", ""):
        r = sign_in(client, bad)
        assert r.status_code == 401 and "not a valid admin token" in r.get_data(as_text=True)
        assert not any(h.startswith("governor_admin=") for h in r.headers.getlist("Set-Cookie"))


def test_sign_in_needs_the_forms_nonce(client, admin_token):
    client.get("/admin/login")
    r = client.post("/admin/login", data={"nonce": "forged", "token": admin_token})
    assert r.status_code == 403 and not any(h.startswith("governor_admin=") for h in r.headers.getlist("Set-Cookie"))


def test_a_change_without_the_csrf_token_is_refused_and_changes_nothing(console, svc):
    for data in ({"minutes": "30"}, {"minutes": "30", "csrf": "0" * 64}):
        r = console.post(f"/admin/users/{KID}/grants", data=data)
        assert r.status_code == 403 and "another site" in r.get_data(as_text=True)
    with svc.db.read() as s:
        assert s.execute(select(AuditEvent).where(AuditEvent.action == "grant.added")).first() is None


def test_search_finds_a_user_by_id_or_its_beginning(console):
    r = console.get(f"/admin/users?q={KID}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/admin/users/{KID}")
    page = console.get("/admin/users?q=kid").get_data(as_text=True)
    assert by_testid(page, "search-result") == KID
    page = console.get("/admin/users?q=nobody").get_data(as_text=True)
    assert "No user id starts with" in page
    assert console.get("/admin/users/nobody").status_code == 404
    assert console.get("/admin/users?q=").headers["Location"].endswith("/admin/")


def test_the_user_page_and_a_grant_audited_as_the_apis(console, svc, clock, token):
    fe = token("sessions")
    sid = console.post("/v1/sessions", json={"user_id": KID}, headers=fe).json["session_id"]
    for step in [60] * 10 + [30]:  # 10 min 30 s of heartbeats
        clock.advance(seconds=step)
        console.post(f"/v1/sessions/{sid}/heartbeat", headers=fe)
    page = console.get(f"/admin/users/{KID}").get_data(as_text=True)
    assert by_testid(page, "user-band") == "age_8_15"
    assert attr(page, "user-remaining", "data-seconds") == str(3600 - 630)
    assert by_testid(page, "user-remaining") == "49 min 30 s"
    assert 'data-testid="usage-chart"' in page and 'data-label="12-02" data-value="10.5"' in page
    assert by_testid(page, "usage-chart-limit") == "- - daily limit: 60 min"  # age_8_15's, every day
    assert page.count('data-testid="session-row"') == 1 and 'data-action="session.started"' in page
    r = console.post(f"/admin/users/{KID}/grants", data={"csrf": csrf(page), "minutes": "15", "reason": "exam week"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/admin/users/{KID}?done=granted")
    page = console.get(f"/admin/users/{KID}?done=granted").get_data(as_text=True)
    assert attr(page, "user-remaining", "data-seconds") == str(3600 + 900 - 630)
    with svc.db.read() as s:
        (event,) = s.execute(select(AuditEvent).where(AuditEvent.action == "grant.added")).scalars()
    assert event.client == "console-alice"


def test_lock_unlock_settings_and_revoke_from_the_console(console, svc):
    page = console.get(f"/admin/users/{KID}").get_data(as_text=True)
    token_ = csrf(page)
    console.post(f"/admin/users/{KID}/lock", data={"csrf": token_, "until": "2026-12-02T12:00", "reason": "tired"})
    page = console.get(f"/admin/users/{KID}").get_data(as_text=True)
    assert by_testid(page, "user-lock") == "locked until 2026-12-02 12:00:00 (tired)"  # Shanghai wall time
    console.post(f"/admin/users/{KID}/unlock", data={"csrf": token_})
    console.post(f"/admin/users/{KID}/settings", data={"csrf": token_, "timezone": "Europe/Berlin",
                                                       "daily_limit_minutes": "30"})
    console.post(f"/admin/users/{KID}/grants", data={"csrf": token_, "minutes": "5"})
    page = console.get(f"/admin/users/{KID}").get_data(as_text=True)
    assert by_testid(page, "user-lock") == "not locked" and attr(page, "user-remaining", "data-seconds") == "2100"
    gid = re.search(rf"/admin/users/{KID}/grants/(\d+)/revoke", page).group(1)
    console.post(f"/admin/users/{KID}/grants/{gid}/revoke", data={"csrf": token_})
    page = console.get(f"/admin/users/{KID}").get_data(as_text=True)
    assert attr(page, "user-remaining", "data-seconds") == "1800"
    with svc.db.read() as s:
        got = [(a, c) for a, c in s.execute(select(AuditEvent.action, AuditEvent.client).order_by(AuditEvent.id))
               if c == "console-alice"]
    assert [a for a, _ in got] == ["user.locked", "user.unlocked", "settings.changed", "grant.added",
                                   "grant.revoked"]


def test_a_refused_change_shows_the_problem_on_the_page(console):
    token_ = csrf(console.get(f"/admin/users/{KID}").get_data(as_text=True))
    r = console.post(f"/admin/users/{KID}/settings", data={"csrf": token_, "daily_limit_minutes": "90"})
    assert r.status_code == 422 and "looser than the age_8_15 band" in by_testid(r.get_data(as_text=True), "form-error")
    r = console.post(f"/admin/users/{KID}/grants", data={"csrf": token_, "minutes": "0"})
    assert r.status_code == 422 and "minutes: a whole number from 1 to 1440" in r.get_data(as_text=True)
    r = console.post(f"/admin/users/{KID}/lock", data={"csrf": token_, "until": "2020-01-01T00:00"})
    assert r.status_code == 422 and "until: must be in the future" in r.get_data(as_text=True)
    r = console.post(f"/admin/users/{KID}/settings", data={"csrf": token_, "timezone": "Mars/Base"})
    assert r.status_code == 422 and "IANA time zone" in r.get_data(as_text=True)


def test_complaints_are_listed_and_resolved(console, svc, token):
    fe = token("sessions")
    cid = console.post("/v1/complaints", headers=fe, json={"user_id": KID, "category": "limit_dispute",
                                                            "text": "I was <b>cut off</b>"}).json["id"]
    page = console.get("/admin/complaints").get_data(as_text=True)
    assert page.count('data-testid="complaint-row"') == 1 and "I was &lt;b&gt;cut off&lt;/b&gt;" in page
    r = console.post(f"/admin/complaints/{cid}", data={"csrf": csrf(page), "status": "resolved"})
    assert r.status_code == 422 and "needs a resolution note" in r.get_data(as_text=True)
    r = console.post(f"/admin/complaints/{cid}", data={"csrf": csrf(page), "status": "resolved",
                                                       "resolution": "limit explained"})
    assert r.status_code == 302
    assert 'data-testid="complaint-row"' not in console.get("/admin/complaints").get_data(as_text=True)
    page = console.get("/admin/complaints?status=resolved").get_data(as_text=True)
    assert 'data-status="resolved"' in page and "limit explained" in page
    assert console.get(f"/v1/complaints/{cid}", headers=fe).json["status"] == "resolved"
    with svc.db.read() as s:
        (event,) = s.execute(select(AuditEvent).where(AuditEvent.action == "complaint.updated")).scalars()
    assert event.client == "console-alice"


def test_the_daily_report_with_its_chart(console, clock, token):
    fe = token("sessions")
    sid = console.post("/v1/sessions", json={"user_id": KID}, headers=fe).json["session_id"]
    for _ in range(12):
        clock.advance(minutes=1)
        console.post(f"/v1/sessions/{sid}/heartbeat", headers=fe)
    console.post(f"/v1/sessions/{sid}/end", headers=fe)
    page = console.get("/admin/reports/daily?date=2026-12-02").get_data(as_text=True)
    assert by_testid(page, "report-date") == "2026-12-02"
    assert 'data-testid="report-chart"' in page and 'data-label="age_8_15" data-value="12"' in page
    assert 'class="value">12<' in page and "12.0" not in page  # whole minutes read as whole numbers
    assert KID not in page  # a report names no one
    assert console.get("/admin/reports/daily?date=2026-13-01").status_code == 422
    clock.set(shanghai(2026, 12, 3, 9, 0))
    assert by_testid(console.get("/admin/reports/daily").get_data(as_text=True), "report-date") == "2026-12-03"


def test_the_stylesheet_is_served(client):
    r = client.get("/admin/static/console.css")
    assert r.status_code == 200 and r.mimetype == "text/css"


def test_the_chart_keeps_its_top_label_inside_and_draws_the_limit():
    from governor.console.charts import bar_chart, number

    chart = bar_chart([("a", 24.0, ""), ("b", 90.0, ""), ("c", 0.0, "")], "min", limits=[60, 60, None])
    tallest = chart.bars[1]
    assert tallest.y - 4 - 11 >= 0  # the value's 11 px label above the tallest bar stays in the picture
    assert [b.text for b in chart.bars] == ["24", "90", "0"] and number(10.46) == "10.5"
    assert chart.bars[0].limit_y == chart.bars[1].limit_y and chart.bars[2].limit_y is None
    assert tallest.y < chart.bars[0].limit_y < chart.baseline  # 60 drawn between 90 and 0
    higher = bar_chart([("a", 10.0, "")], "min", limits=[60])
    assert higher.bars[0].limit_y == higher.top  # a limit above every bar sets the scale
    assert higher.scale_label == "60 min" and higher.limit_label == "- - limit: 60 min"


def test_the_guardians_section_shows_links_controls_and_pending_requests(console, token):
    page = console.get(f"/admin/users/{KID}").get_data(as_text=True)
    assert 'data-testid="guardians"' in page and "No guardian linked." in page
    age, fe = token("age"), token("sessions")
    for gid in ("g-mum", "g-dad"):
        assert console.put(f"/v1/users/{KID}/guardians/{gid}", headers=age).status_code == 200
    r = console.put(f"/v1/guardians/g-mum/children/{KID}/controls", headers=token("guardian"),
                    json={"daily_limit_minutes": 45, "quiet_hours": ["21:00-07:00"], "rest_reminder_minutes": None})
    assert r.status_code == 200, r.json
    asked = console.post(f"/v1/users/{KID}/time-requests", headers=fe, json={"minutes": 20, "note": "essay <due>"})
    assert asked.status_code == 201, asked.json
    page = console.get(f"/admin/users/{KID}").get_data(as_text=True)
    rows = re.findall(r'data-testid="guardian-row" data-guardian="([^"]+)"', page)
    assert sorted(rows) == ["g-dad", "g-mum"]
    mum = page[page.index('data-guardian="g-mum"'):]
    assert by_testid(mum, "guardian-daily-limit") == "45 min"
    assert by_testid(mum, "guardian-quiet-hours") == "21:00-07:00"
    dad = page[page.index('data-guardian="g-dad"'):]
    assert by_testid(dad, "guardian-daily-limit") == "–"
    assert re.findall(r'data-testid="time-request-row" data-id="([^"]+)"', page) == [asked.json["id"]]  # once
    assert "essay &lt;due&gt;" in page
    r = console.patch(f"/v1/guardians/g-dad/time-requests/{asked.json['id']}", headers=token("guardian"),
                      json={"status": "denied"})
    assert r.status_code == 200, r.json
    assert 'data-testid="time-request-row"' not in console.get(f"/admin/users/{KID}").get_data(as_text=True)


def section(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}"')
    return page[start:page.index("</section>", start)]


def test_the_age_section_shows_band_basis_consent_and_signals_without_a_birth_date(console, token, clock):
    age = section(console.get(f"/admin/users/{KID}").get_data(as_text=True), "user-age")
    assert (by_testid(age, "age-band"), by_testid(age, "age-span"), by_testid(age, "age-basis"),
            by_testid(age, "age-consent")) == ("age_8_15", "12", "verification", "none said")
    assert re.findall(r'data-testid="age-signal-row" data-source="([^"]+)"', age) == ["verification"]
    adm = token("admin")
    doc = console.get("/v1/admin/policy", headers=adm).json
    bands = {"under_13": {"min_age": 0, "requires_parental_consent": True}, "age_13_15": {"min_age": 13},
             "age_16_17": {}, "adult": {}, "unverified": {}}
    assert console.put("/v1/admin/policy", json={**doc, "bands": bands}, headers=adm).status_code == 200
    signals = token("age", sub="chat-ios")
    r = console.put(f"/v1/users/{KID}/age-signals/os_age_signal", headers=signals,
                    json={"age_min": 10, "age_max": 12, "method": "guardian_declared", "assurance": "substantial",
                          "parental_consent": "pending"})
    assert r.status_code == 200, r.json
    r = console.put(f"/v1/users/{KID}/age-signals/estimation", headers=signals,
                    json={"age_min": 13, "age_max": 17, "method": "estimated", "assurance": "low",
                          "observed_at": "2025-10-01T12:00:00+08:00"})  # lapsed a year later
    assert r.status_code == 200, r.json
    page = console.get(f"/admin/users/{KID}").get_data(as_text=True)
    age = section(page, "user-age")
    assert (by_testid(age, "age-band"), by_testid(age, "age-span"), by_testid(age, "age-consent")) == (
        "under_13", "12", "pending (required in this band: may not chat)")
    assert by_testid(age, "age-basis") == "os_age_signal, verification"
    rows = {m[0]: m[1] for m in re.findall(r'data-source="([^"]+)"(.*?)</tr>', age, re.S)}
    assert sorted(rows) == ["estimation", "os_age_signal", "verification"]
    os_row = rows["os_age_signal"]
    assert (by_testid(os_row, "age-signal-span"), by_testid(os_row, "age-signal-consent")) == ("10-12", "pending")
    assert html.unescape(by_testid(os_row, "age-signal-until")) == "2027-12-02 07:00:00 (the policy's validity)"
    assert "guardian_declared" in os_row and "chat-ios" in os_row
    assert 'data-source="estimation" class="lapsed"' in age
    assert html.unescape(by_testid(rows["estimation"], "age-signal-until")) == \
        "2026-10-01 12:00:00 (the policy's validity), lapsed"
    assert "2014" not in age  # the verification's birth date is not in the age section
    # each guardian's own consent, and the one in force
    for gid in ("g-mum", "g-dad"):
        assert console.put(f"/v1/users/{KID}/guardians/{gid}", headers=token("age")).status_code == 200
    clock.advance(seconds=5)
    r = console.put(f"/v1/guardians/g-mum/children/{KID}/consent", json={"granted": True}, headers=token("guardian"))
    assert r.status_code == 200, r.json
    page = console.get(f"/admin/users/{KID}").get_data(as_text=True)
    assert by_testid(section(page, "user-age"), "age-consent") == "granted (required in this band)"
    family = section(page, "guardians")
    mum, dad = (family[family.index(f'data-guardian="{gid}"'):] for gid in ("g-mum", "g-dad"))
    assert by_testid(mum, "guardian-consent") == "granted at 2026-12-02 07:00:05"
    assert by_testid(dad, "guardian-consent") == "–"
