"""The web app as a user clicks through it, in Debian Chromium against a live server."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ANALYST, OPERATOR, PageProblems, login

pytestmark = pytest.mark.browser


def _kev(shared_data: Path) -> list[dict[str, Any]]:
    doc = json.loads((shared_data / "cisa-kev" / "known_exploited_vulnerabilities.json").read_text())
    return list(doc["vulnerabilities"])


def _open(page: Page, problems: PageProblems, where: str) -> None:
    """The page just loaded: it has an h1, and nothing failed on the way."""
    page.wait_for_load_state("load")
    expect(page.locator("h1").first).to_be_visible()
    problems.assert_clean(where)


# Links the dashboard offers to roles that the page then refuses (see
# test_dashboard_offers_only_pages_the_user_may_open). Remove an entry once the app is fixed.


def _click_every_card_link(page: Page, problems: PageProblems) -> dict[str, int]:
    """Click every link of every dashboard card; return each link's HTTP status.

    A page that answers 200 must show an h1 and load with no console error and no failed
    request; a page that refuses must still render the error page cleanly.
    """
    page.goto("/")
    expect(page.locator("h1")).to_have_text("Dashboard")
    cards = page.locator("section.card")
    n = cards.count()
    titles = [cards.nth(i).locator("h3").inner_text().strip() for i in range(n)]
    assert n >= 2, "the dashboard shows one card per area"
    assert len(set(titles)) == n, f"one card per area, no duplicates: {titles}"
    _open(page, problems, "dashboard")

    statuses: dict[str, int] = {}
    for i, title in enumerate(titles):
        page.goto("/")
        links = page.locator("section.card").nth(i).locator("a")
        hrefs = [links.nth(j).get_attribute("href") or "" for j in range(links.count())]
        for j, href in enumerate(hrefs):
            if href in statuses:  # the title and "Open ... →" lead to the same page
                continue
            page.goto("/")
            problems.clear()
            with page.expect_navigation() as nav:
                page.locator("section.card").nth(i).locator("a").nth(j).click()
            resp = nav.value
            assert resp is not None
            statuses[href] = resp.status
            assert resp.status == 200, f"card {title!r} link {href} answered {resp.status}"
            _open(page, problems, f"card {title!r} link {href} ({resp.status})")
    return statuses


def test_dashboard_cards_all_open(analyst_page: Page, problems: PageProblems) -> None:
    statuses = _click_every_card_link(analyst_page, problems)
    assert {"/kev", "/jobs"} <= statuses.keys()
    assert "/audit" not in statuses, "the audit log is for organisation admins; analysts are not offered it"


def test_dashboard_cards_all_open_for_operator(page: Page, problems: PageProblems) -> None:
    login(page, OPERATOR)
    statuses = _click_every_card_link(page, problems)
    assert all(status == 200 for status in statuses.values()), statuses


def test_dashboard_offers_only_pages_the_user_may_open(analyst_page: Page, problems: PageProblems) -> None:
    page = analyst_page
    hrefs = page.eval_on_selector_all(
        "section.card a, header nav a", "els => els.map(e => e.getAttribute('href'))"
    )
    refused = {}
    for href in sorted(set(hrefs)):
        resp = page.goto(href)
        assert resp is not None
        if resp.status != 200:
            refused[href] = resp.status
    assert not refused, f"the analyst is offered links that refuse them: {refused}"


def test_kev_real_entries_search_sort_page(
    analyst_page: Page, problems: PageProblems, shared_data: Path
) -> None:
    page = analyst_page
    kev = _kev(shared_data)
    newest_date = max(e["dateAdded"] for e in kev)
    newest = sorted(e["cveID"] for e in kev if e["dateAdded"] == newest_date)

    page.get_by_role("link", name="Open Clearinghouse →").click()
    expect(page.locator("h1")).to_have_text("Known Exploited Vulnerabilities")
    expect(page.locator(".sub").first).to_contain_text(f"{len(kev)} entries")
    # default order is newest dateAdded first: the newest real entries are on page one
    for cve in newest:
        expect(page.get_by_role("link", name=cve, exact=True)).to_be_visible()
    _open(page, problems, "/kev")

    # search narrows to the one entry
    target = newest[0]
    page.get_by_label("Search").fill(target)
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr").first).to_contain_text(target)
    expect(page.get_by_text("1 matching")).to_be_visible()

    # clear, then sort by dueDate: first click sorts descending, second ascending
    page.get_by_role("link", name="Clear").click()
    page.get_by_role("link", name="Sort by dueDate").click()
    expect(page.get_by_role("link", name="Sort by dueDate")).to_contain_text("▼")
    due = [page.locator("tbody tr").nth(i).locator("td").nth(5).inner_text()[:10] for i in range(5)]
    assert due == sorted(due, reverse=True), due
    assert due[0] == max(e["dueDate"] for e in kev)
    page.get_by_role("link", name="Sort by dueDate").click()
    expect(page.get_by_role("link", name="Sort by dueDate")).to_contain_text("▲")
    due = [page.locator("tbody tr").nth(i).locator("td").nth(5).inner_text()[:10] for i in range(5)]
    assert due == sorted(due), due
    assert due[0] == min(e["dueDate"] for e in kev)
    first_page = set(page.locator("tbody td.mono a").all_inner_texts())

    # next page: 50 new entries, still ascending
    page.get_by_role("link", name="Next page →").click()
    expect(page).to_have_url(re.compile(r"cursor="))
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(50)
    second_page = set(page.locator("tbody td.mono a").all_inner_texts())
    assert second_page
    assert not (first_page & second_page)
    due2 = [rows.nth(i).locator("td").nth(5).inner_text()[:10] for i in range(rows.count())]
    assert due2 == sorted(due2)
    assert due2[0] >= due[-1]
    _open(page, problems, "/kev sorted and paged")

    # open one entry
    entry = next(e for e in kev if e["cveID"] == target)
    page.goto(f"/kev?q={target}")
    page.get_by_role("link", name=target, exact=True).click()
    expect(page).to_have_url(re.compile(f"/kev/{target}$"))
    expect(page.locator("h1")).to_contain_text(target)
    expect(page.locator("dl.kv")).to_contain_text(entry["vendorProject"])
    expect(page.locator("dl.kv")).to_contain_text(entry["dueDate"])
    _open(page, problems, f"/kev/{target}")


def test_reload_kev_job_reaches_succeeded(analyst_page: Page, problems: PageProblems) -> None:
    page = analyst_page
    page.goto("/kev")
    page.get_by_role("button", name="Reload KEV").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]+$"))
    expect(page.locator("h1")).to_have_text("clearinghouse.load_kev")
    # htmx polls the progress fragment until the job is done
    expect(page.locator("#job-status")).to_have_text("succeeded", timeout=45_000)
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    page.wait_for_load_state("networkidle")
    problems.assert_clean("job page")


def test_wrong_password_shows_error(page: Page, problems: PageProblems) -> None:
    login(page, ANALYST, "not-the-password")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value(ANALYST)
    # the page itself answers 401; nothing else may fail
    problems.assert_clean("wrong password")


def test_sign_out(analyst_page: Page, problems: PageProblems) -> None:
    page = analyst_page
    expect(page.get_by_text(ANALYST).first).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto("/kev")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    problems.assert_clean("sign out")


def test_operator_audit_log_verifies(page: Page, problems: PageProblems) -> None:
    login(page, OPERATOR)
    page.get_by_role("link", name="Audit", exact=False).first.click()
    expect(page.locator("h1")).to_have_text("Audit log")
    expect(page.locator("tbody tr").first).to_be_visible()
    page.get_by_role("link", name="Verify the whole chain").click()
    expect(page.get_by_role("status")).to_contain_text("Chain intact")
    _open(page, problems, "/audit?verify=1")


def test_login_with_keyboard_only(page: Page, problems: PageProblems) -> None:
    page.goto("/login")
    # the email field has autofocus; from there on, only Tab / typing / Enter
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(ANALYST)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type("frontiersec-demo")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Dashboard")
    problems.assert_clean("keyboard login")


def test_dashboard_narrow_viewport_no_horizontal_overflow(analyst_page: Page) -> None:
    page = analyst_page
    page.set_viewport_size({"width": 400, "height": 800})
    for path in ("/", "/kev", "/login"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        # a wide table may scroll inside its own box, never the whole page
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 400px"
