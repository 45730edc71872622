#!/usr/bin/env python3
"""The web console in a real browser: a real ledgerd (manual clock, its own data directory,
loopback ports), a support and an auditor token, headless Chromium driven by Selenium.
Walks the pages a support person and an auditor use, asserts what they would see, and
writes one screenshot per page under SCREENSHOT_DIR (look at them).

  LEDGERD=build/dev/server/ledgerd SCREENSHOT_DIR=build/dev/console-screens \
    python3 tests/console/console_test.py
"""
import json
import os
import shutil
import sys
import tempfile
import traceback

from selenium import webdriver
from selenium.common.exceptions import (NoAlertPresentException, StaleElementReferenceException,
                                        TimeoutException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ledgerd_fixture import EVIL_NAME, EVIL_REASON, TOKENS, Ledgerd, fail, request, seed  # noqa: E402

class Console:
    """The browser, with helpers that wait for what a person would wait for."""

    def __init__(self, base, shots):
        options = webdriver.ChromeOptions()
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    "--window-size=1280,1100", "--disable-gpu", "--no-first-run"):
            options.add_argument(arg)
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=shutil.which("chromedriver")
                                          or "/usr/bin/chromedriver")
        self.driver = webdriver.Chrome(options=options, service=service)
        self.base = base
        self.shots = shots

    def go(self, fragment):
        self.driver.get(self.base + "/console/" + fragment)

    def wait_text(self, css, needle, timeout=10):
        """The text of the first element matching `css` once it contains `needle`."""
        def found(d):
            for e in d.find_elements(By.CSS_SELECTOR, css):
                if needle in e.text:
                    return e.text
            return False
        try:
            # The page replaces what it shows when an answer comes: retry on stale elements.
            return WebDriverWait(self.driver, timeout,
                                 ignored_exceptions=[StaleElementReferenceException]).until(found)
        except TimeoutException:
            texts = [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, css)]
            fail(f"no '{css}' shows '{needle}' within {timeout}s; they show {texts!r}; "
                 f"page: {self.driver.find_element(By.TAG_NAME, 'main').text[:800]!r}")

    def fill(self, css, value):
        e = self.driver.find_element(By.CSS_SELECTOR, css)
        e.clear()
        e.send_keys(value)

    def click(self, css):
        self.driver.find_element(By.CSS_SELECTOR, css).click()

    def shot(self, name):
        path = os.path.join(self.shots, name + ".png")
        self.driver.save_screenshot(path)
        print(f"screenshot {path}")

    def sign_in(self, token):
        self.go("")
        self.wait_text("main h1", "Sign in")
        self.fill("#token", token)
        self.click("#sign-in button")
        self.wait_text("main h1", "Tenants")

    def sign_out(self):
        self.click("#sign-out")
        self.wait_text("main h1", "Sign in")

    def check_token_not_in_url(self):
        for token in TOKENS:
            if token in self.driver.current_url:
                fail(f"the token is in the URL: {self.driver.current_url}")

    def check_no_script_ran(self):
        try:
            alert = self.driver.switch_to.alert.text
            fail(f"text from the ledger ran as script: an alert says {alert!r}")
        except NoAlertPresentException:
            pass
        if self.driver.title == "pwned":
            fail("text from the ledger ran as HTML: the title was changed by an injected handler")
        if self.driver.find_elements(By.CSS_SELECTOR, "main img"):
            fail("text from the ledger became an <img> element")


def check_headers(base):
    status, headers, body = request(base + "/console/")
    if status != 200 or "console.js" not in body:
        fail(f"GET /console/ answered {status}: {body[:200]}")
    csp = headers.get("Content-Security-Policy", "")
    for part in ("script-src 'self'", "frame-ancestors 'none'", "default-src 'none'"):
        if part not in csp:
            fail(f"Content-Security-Policy lacks {part!r}: {csp!r}")
    if headers.get("X-Content-Type-Options") != "nosniff":
        fail("X-Content-Type-Options is not nosniff")
    status, headers, _ = request(base + "/console/console.js")
    if status != 200 or not headers.get("Content-Type", "").startswith("text/javascript"):
        fail(f"console.js: {status} {headers.get('Content-Type')}")
    status, _, body = request(base + "/console/../v1/tenants")
    if status == 200:
        fail("a console path reached an API route without a token")
    status, _, body = request(base + "/console/nope.js")
    if status != 404 or "not_found" not in body:
        fail(f"/console/nope.js answered {status}: {body}")


def support_walk(c):
    """What support staff do: overview, a person, a subscription, diff, what-if."""
    c.sign_in("tok-support")
    tenants = c.wait_text("main table", "acme")
    if "globex" in tenants:
        fail("the support token for acme sees globex in the tenant list")
    c.check_token_not_in_url()
    stored = c.driver.execute_script("return sessionStorage.getItem('ledger.token')")
    if stored != "tok-support":
        fail(f"the token is not in sessionStorage: {stored!r}")
    c.shot("01-tenants")

    c.go("#/t/acme")
    subs = c.wait_text("#subscriptions table", "L10427")
    if "2 / 2" not in subs:
        fail(f"the overview does not show 2 of 2 seats used on L10427: {subs!r}")
    if "renews 2027-01-01T00:00:00Z" not in subs:
        fail(f"the overview does not show the renewal date: {subs!r}")
    c.wait_text("#members table", "bob@acme.test")
    groups = c.wait_text("#groups table", "designers")
    if EVIL_NAME not in groups:
        fail(f"the group's name is not shown as typed: {groups!r}")
    c.check_no_script_ran()
    c.shot("02-overview")

    c.go("#/t/acme/user/bob")
    c.wait_text("main h1", "Person bob")
    access = c.wait_text("#access table", "pcon.planner")
    if "denied: no_seat" not in access:
        fail(f"bob's access to pcon.planner is not shown as denied (no_seat): {access!r}")
    timeline = c.wait_text("#timeline table", "seat_revoked")
    for needle in ("seat of L10427 revoked from bob by olga", "seat_assigned", "member_invited"):
        if needle not in timeline:
            fail(f"bob's timeline lacks {needle!r}: {timeline!r}")
    # Explain at a past date: allowed on 15 February, through the seat olga assigned.
    c.fill("#explain-at", "2026-02-15T00:00:00Z")
    c.click("#explain-form button")
    explained = c.wait_text("#explain-result p", "at 2026-02-15T00:00:00Z")
    if "allowed" not in explained or "L10427" not in explained:
        fail(f"explain on 15 February does not say allowed through L10427: {explained!r}")
    chain = c.wait_text("#explain-result ol.chain", "assigned to bob by olga")
    if "revoked" in chain:
        fail(f"the chain on 15 February holds the later revocation: {chain!r}")
    # And on 5 March: denied, the revocation the last link of the chain.
    c.fill("#explain-at", "2026-03-05T00:00:00Z")
    c.click("#explain-form button")
    explained = c.wait_text("#explain-result p", "at 2026-03-05T00:00:00Z")
    if "denied: no_seat" not in explained:
        fail(f"explain on 5 March does not say denied (no_seat): {explained!r}")
    links = c.driver.find_elements(By.CSS_SELECTOR, "#explain-result ol.chain li")
    if not links or "revoked from bob by olga" not in links[-1].text:
        fail(f"the revocation is not the last link of the chain: {[li.text for li in links]!r}")
    c.check_token_not_in_url()
    c.shot("03-person-bob")

    c.go("#/t/acme/user/olga")
    story = c.wait_text("#timeline table", "rejected")
    for needle in ("seat_limit_reached", "backdated", "reason: " + EVIL_REASON):
        if needle not in story:
            fail(f"olga's timeline lacks {needle!r}: {story!r}")
    c.check_no_script_ran()
    c.shot("04-person-olga")

    c.go("#/t/acme/sub/L10427")
    holders = c.wait_text("#holders table", "carol")
    if "via group designers" not in holders or "direct" not in holders:
        fail(f"the seat holders do not say how they hold their seat: {holders!r}")
    c.fill("#usage-from", "2026-01-30T00:00:00Z")
    c.fill("#usage-to", "2026-03-15T00:00:00Z")
    c.click("#usage-form button")
    summary = c.wait_text("#usage-summary", "peak 2")
    bars = c.driver.find_elements(By.CSS_SELECTOR, "#usage-chart rect.peak")
    if len(bars) != 44:
        fail(f"the usage chart has {len(bars)} days, expected 44 (30 Jan to 15 Mar): {summary!r}")
    c.wait_text("#timeline table", "seat_limit_reached")
    c.shot("05-subscription")

    c.go("#/t/acme/diff")
    c.fill("#diff-from", "2026-02-15T00:00:00Z")
    c.fill("#diff-to", "2026-03-05T00:00:00Z")
    c.click("#diff-form button")
    diff = c.wait_text("#diff-result table", "lost")
    if "bob lost pcon.planner no_seat" not in diff or "olga gained pcon.planner L10427" not in diff:
        fail(f"the diff does not show bob losing and olga gaining pcon.planner: {diff!r}")
    c.shot("06-diff")

    c.go("#/t/acme/what-if")
    c.wait_text("main h1", "What if")
    c.fill("#what-if-commands", json.dumps([{"type": "remove_group_member", "tenant": "acme",
                                              "actor": "olga", "group": "designers",
                                              "user": "carol"}]))
    c.click("#what-if-form button[type=submit]")
    what_if = c.wait_text("#what-if-result", "Nothing was recorded")
    if "accepted" not in what_if or "carol lost pcon.planner" not in what_if:
        fail(f"what-if does not show the accepted removal and carol's lost access: {what_if!r}")
    c.shot("07-what-if")
    # A command the rules cannot read is a rejected result; a body that is not JSON, an error.
    c.fill("#what-if-commands", "[{\"type\": 1}]")
    c.click("#what-if-form button[type=submit]")
    c.wait_text("#what-if-result table", "bad_request: type: must be a string")
    c.fill("#what-if-commands", "[{")
    c.click("#what-if-form button[type=submit]")
    c.wait_text("#what-if-result .error", "bad_request")

    # Support reads no digest: the audit page says so instead of showing one.
    c.go("#/t/acme/audit")
    c.wait_text("#digest .error", "forbidden")
    c.go("#/t/globex")
    c.wait_text("main .error", "forbidden")
    c.sign_out()
    stored = c.driver.execute_script("return sessionStorage.getItem('ledger.token')")
    if stored is not None:
        fail("signing out left the token in sessionStorage")


def auditor_walk(c):
    c.sign_in("tok-auditor")
    c.go("#/t/acme/audit")
    digest = c.wait_text("#digest table", "acme")
    if len([w for w in digest.split() if len(w) == 64]) != 1:
        fail(f"the digest does not show acme's head hash: {digest!r}")
    c.click("#verify")
    verified = c.wait_text("#verify-result", "OK")
    if "events checked" not in verified:
        fail(f"verify does not say what it checked: {verified!r}")
    c.shot("08-audit")
    c.sign_out()


def main():
    binary = os.environ.get("LEDGERD") or fail("LEDGERD: the ledgerd binary to test")
    shots = os.environ.get("SCREENSHOT_DIR") or os.path.join(os.getcwd(), "console-screens")
    os.makedirs(shots, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="console-test.")
    ledgerd = Ledgerd(binary, workdir)
    console = None
    try:
        check_headers(ledgerd.url)
        seed(ledgerd.url)
        console = Console(ledgerd.url, shots)
        support_walk(console)
        auditor_walk(console)
        severe = [e["message"] for e in console.driver.get_log("browser")
                  if e["level"] == "SEVERE" and " 403 " not in e["message"]
                  and "(Forbidden)" not in e["message"] and "400 (Bad Request)" not in e["message"]]
        if severe:
            fail(f"the browser reported errors: {severe}")
        print("console: all pages show what they should")
        return 0
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        if console:
            console.shot("failure")
        return 1
    except Exception:
        traceback.print_exc()
        if console:
            console.shot("failure")
        return 1
    finally:
        if console:
            console.driver.quit()
        ledgerd.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
