"""A supervisor enrols an authenticator app in a real browser (reading the key
from the page, computing codes with pyotp as a phone would), then logs in in
two steps: password, then code."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from tests.browser.conftest import add_user, log_in, shoot

pytestmark = pytest.mark.browser


def test_a_supervisor_enrols_and_then_logs_in_with_password_and_code(page, live):
    base, clock = live["url"], live["clock"]
    live["app"].config["TOTP_REQUIRED"] = True
    add_user(live["db"], "sup01", "supervisor", display="李督查")
    live["db"].commit()

    log_in(page, base, "sup01")
    assert page.url.endswith("/account/two-factor")
    assert page.locator("img.totp-qr").get_attribute("src").startswith("data:image/svg+xml")
    page.goto(f"{base}/supervision")  # nothing else opens before the factor
    assert page.url.endswith("/account/two-factor")
    secret = page.locator("code[data-secret]").inner_text().strip()
    shoot(page, "two-factor-enrol")
    # The app's clock is the test's: the phone computes the code for that moment.
    page.fill("form[data-form=enrol] input[name=code]", pyotp.TOTP(secret).at(clock.moment))
    with page.expect_navigation():
        page.click("form[data-form=enrol] button[type=submit]")
    codes = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    with page.expect_navigation():
        page.click("text=我已保存，继续")
    assert "/supervision" in page.url

    with page.expect_navigation():
        page.click("header form:has-text('退出') button")
    clock.moment += timedelta(minutes=1)
    log_in(page, base, "sup01")
    assert page.url.endswith("/login/code")
    page.fill("input[name=code]", "000000")
    with page.expect_navigation():
        page.click("form[data-form=code] button[type=submit]")
    assert page.locator(".flash.error").count() == 1
    page.fill("input[name=code]", pyotp.TOTP(secret).at(clock.moment))
    with page.expect_navigation():
        page.click("form[data-form=code] button[type=submit]")
    assert "/supervision" in page.url
    assert page.locator("header").inner_text().count("李督查") == 1
