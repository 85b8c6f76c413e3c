"""Shoot the README screenshots into ``docs/screenshots/`` (1280x800, Debian Chromium).

Run by hand from the repository root::

    .venv/bin/python -m tests.browser.screenshots              # starts its own demo server
    .venv/bin/python -m tests.browser.screenshots --url URL    # or uses a running one
    .venv/bin/python -m tests.browser.screenshots --out DIR --width 400   # e.g. a phone-width check

It signs in as the demo users, as a person would, and saves login, dashboard, kev,
job (a "Reload KEV" job that has finished) and audit (operator, chain verified).
"""

from __future__ import annotations

import argparse
import re
import tempfile
from contextlib import ExitStack
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.conftest import (
    ANALYST,
    DEMO_PASSWORD,
    OPERATOR,
    REPO_ROOT,
    launch_chromium,
    running_server,
)
from tests.conftest import shared_data_dir


def _login(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Dashboard")


def shoot(browser: Browser, url: str, out: Path, width: int = 1280, height: int = 800) -> list[Path]:
    """Save the screenshots; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []

    def snap(page: Page, name: str) -> None:
        page.wait_for_load_state("load")
        path = out / f"{name}.png"
        page.screenshot(path=str(path))
        saved.append(path)

    ctx = browser.new_context(base_url=url, viewport={"width": width, "height": height})
    page = ctx.new_page()
    page.goto("/login")
    snap(page, "login")
    _login(page, ANALYST)
    snap(page, "dashboard")
    page.goto("/kev")
    snap(page, "kev")
    page.get_by_role("button", name="Reload KEV").click()
    expect(page).to_have_url(re.compile(r"/jobs/"))
    expect(page.locator("#job-status")).to_have_text("succeeded", timeout=60_000)
    snap(page, "job")
    ctx.close()

    ctx = browser.new_context(base_url=url, viewport={"width": width, "height": height})
    page = ctx.new_page()
    _login(page, OPERATOR)
    page.goto("/audit?verify=1")
    expect(page.get_by_role("status")).to_contain_text("Chain intact")
    snap(page, "audit")
    ctx.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running frontiersec with the demo loaded (default: start one)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screenshots")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    args = parser.parse_args()
    with ExitStack() as stack:
        url = args.url
        if not url:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="frontiersec-shots-")))
            url = stack.enter_context(running_server(tmp, shared_data_dir()))
        pw = stack.enter_context(sync_playwright())
        browser = launch_chromium(pw)
        stack.callback(browser.close)
        for path in shoot(browser, url, args.out, args.width, args.height):
            print(path)


if __name__ == "__main__":
    main()
