"""The admin console in a real headless Chromium (Selenium), against the real server (gunicorn, two
workers): sign in, find a user, grant time, see the remaining time change, see the user's guardians and
pending time requests, read the API's /docs page; screenshots are saved in the test's temp folder
(and copied to GOVERNOR_TEST_SCREENSHOTS when it names a folder), and the browser's log must hold
no error.

Needs Debian's `chromium` and `chromium-driver`; `.ci/run` installs them. Elsewhere the test is
skipped, with the reason, when they are missing (GOVERNOR_TEST_REQUIRE_BROWSER=1 makes that a
failure, as CI sets it)."""
from __future__ import annotations

import os
import shutil

import pytest

from governor.clock import SystemClock
from governor.security.tokens import Authenticator
from tests.conftest import SECRET
from tests.e2e.conftest import call

pytestmark = pytest.mark.slow
KID = "pupil-browser-12"


def _binaries() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    reason = "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
    if os.environ.get("GOVERNOR_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(f"GOVERNOR_TEST_REQUIRE_BROWSER=1 but this machine lacks them: {reason}")
    pytest.skip(reason)


@pytest.fixture
def browser(tmp_path):
    chromium, driver_path = _binaries()
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extra: .[test]")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1400", f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=driver_path, log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def token(scope: str, sub: str) -> str:
    return Authenticator(SECRET, "governor", "governor", 0).mint(sub, [scope], 3600, SystemClock().now())


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sign_in_find_a_user_and_grant_time(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    status, _ = call("PUT", f"{server.url}/v1/users/{KID}/age-verification", token("age", "kyc"),
                     {"status": "verified", "birth_date": "2014-03-01"})
    assert status == 200

    def testid(name: str):
        return browser.find_element(By.CSS_SELECTOR, f'[data-testid="{name}"]')

    def arrived(suffix: str) -> None:
        """A form's answer is a redirect: wait (at most 10 s) until the browser has followed it."""
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(browser, 10).until(lambda b: b.current_url.endswith(suffix))

    def shot(name: str) -> None:
        assert browser.save_screenshot(str(tmp_path / f"{name}.png"))

    browser.get(f"{server.url}/admin/")
    assert browser.current_url.endswith("/admin/login")
    testid("login-token").send_keys(token("admin", "console-e2e"))
    shot("1-sign-in")
    testid("login-submit").click()
    arrived("/admin/")

    search = testid("user-search")
    search.send_keys(KID)
    search.send_keys(Keys.ENTER)  # Enter submits the search
    assert browser.current_url.endswith(f"/admin/users/{KID}")
    assert testid("user-band").text == "age_8_15"
    assert testid("usage-chart").is_displayed()
    before = int(testid("user-remaining").get_attribute("data-seconds"))
    shot("2-user")

    testid("grant-minutes").send_keys("25")
    testid("grant-reason").send_keys("exam week")
    testid("grant-submit").click()
    arrived(f"/admin/users/{KID}?done=granted")
    after = int(testid("user-remaining").get_attribute("data-seconds"))
    assert after == before + 25 * 60
    shot("3-granted")

    for gid in ("g-mum-browser", "g-dad-browser"):
        assert call("PUT", f"{server.url}/v1/users/{KID}/guardians/{gid}", token("age", "kyc"))[0] == 200
    status, _ = call("PUT", f"{server.url}/v1/guardians/g-mum-browser/children/{KID}/controls",
                     token("guardian", "app"),
                     {"daily_limit_minutes": 45, "quiet_hours": ["21:00-07:00"], "rest_reminder_minutes": 20})
    assert status == 200
    status, asked = call("POST", f"{server.url}/v1/users/{KID}/time-requests", token("sessions", "chat-web"),
                         {"minutes": 20, "note": "finishing my essay"})
    assert status == 201
    browser.get(f"{server.url}/admin/users/{KID}")
    rows = browser.find_elements(By.CSS_SELECTOR, '[data-testid="guardian-row"]')
    assert sorted(r.get_attribute("data-guardian") for r in rows) == ["g-dad-browser", "g-mum-browser"]
    request_row = testid("time-request-row")
    assert request_row.get_attribute("data-id") == asked["id"] and request_row.is_displayed()
    browser.set_window_size(1280, 2400)  # the whole page, the guardians section at its foot included
    shot("4-guardians")
    browser.set_window_size(1280, 1400)

    testid("lock-submit").click()
    arrived(f"/admin/users/{KID}?done=locked")
    assert testid("user-lock").text.startswith("locked until unlocked")
    browser.get(f"{server.url}/admin/complaints")
    browser.get(f"{server.url}/admin/reports/daily")
    assert testid("report-chart").is_displayed()
    shot("5-report")
    browser.get(f"{server.url}/docs")
    assert browser.find_element(By.ID, "heartbeat").is_displayed()
    shot("6-api-docs")

    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == [], errors
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["1-sign-in.png", "2-user.png", "3-granted.png",
                                                              "4-guardians.png", "5-report.png", "6-api-docs.png"]
    if os.environ.get("GOVERNOR_TEST_SCREENSHOTS"):  # a folder to keep them in, to look at
        for png in tmp_path.glob("*.png"):
            shutil.copy(png, os.environ["GOVERNOR_TEST_SCREENSHOTS"])
    status, user = call("GET", f"{server.url}/v1/admin/users/{KID}", token("admin", "check"))
    assert status == 200 and user["lock"]["locked"] and user["grants"][0]["client"] == "console-e2e"
