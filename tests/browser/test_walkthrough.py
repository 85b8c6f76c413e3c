"""The whole pre-release path, as four people click through it in Debian Chromium.

A developer (Example AI Lab) submits a new model version for review; an agency reviewer
(CISA) watches the evaluation run against it finish and hands back a report; the developer
answers the findings; a designation official (NSA) issues a signed determination under the
demo policy; the developer reads the notice and asks for reconsideration with a corrected
declaration; the official decides it; the developer nominates Example Regional Bank as a
trusted partner, the agency vets and approves it as the second side, the developer issues
a grant (waiving the open review window), the bank accepts the terms, the agency revokes
the grant, and the bank's page shows it revoked while the gateway's next check is denied.

The server is the real ``frontiersec serve`` of ``conftest.py`` (migrations, ``demo load``,
jobs in the server's own consumer). The evaluation model is Inspect's ``mockllm/model``: it
runs offline, answers every task with the same canned text, and so solves none.

Screenshots go to a temporary folder; set ``WALKTHROUGH_SCREENSHOTS=docs/screenshots`` to
refresh the ones that ``docs/walkthrough.md`` shows.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from frontiersec.evals.catalog import load_tasks
from tests.browser.conftest import REPO_ROOT, PageProblems, _watch, login

pytestmark = pytest.mark.browser

DEVELOPER = "security@ailab.example"  # Sam Security, Example AI Lab (admin)
REVIEWER = "analyst@cisa.example"  # Ana Analyst, CISA (analyst)
OFFICIAL = "evaluator@nsa.example"  # Eve Evaluator, NSA; a designation official in the demo
PARTNER = "soc@bank.example"  # Bo Bank, Example Regional Bank (member)

MODEL, VERSION = "ailab-frontier", "2.2"
EVAL_MODEL = "mockllm/model"
POLICY = "2026.1"  # the demo policy (designation/policies/cyber-2026.1.yaml)
RELEASE_IN_DAYS = 14
RUN_TIMEOUT_S = 150


@dataclass
class Person:
    """One signed-in user with a browser profile of their own."""

    email: str
    page: Page
    problems: PageProblems

    def clean(self, where: str) -> None:
        self.problems.assert_clean(f"{self.email}: {where}")
        self.problems.clear()


class Shots:
    """Numbered screenshots of the walkthrough (docs/screenshots/walkthrough-NN-step.png)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.n = 0
        out.mkdir(parents=True, exist_ok=True)

    def take(self, page: Page, step: str, *, full_page: bool = False) -> None:
        self.n += 1
        page.wait_for_load_state("load")
        page.screenshot(path=str(self.out / f"walkthrough-{self.n:02d}-{step}.png"), full_page=full_page)


@pytest.fixture
def shots(tmp_path: Path) -> Shots:
    """Where the screenshots go: a temporary folder unless WALKTHROUGH_SCREENSHOTS names one."""
    target = os.environ.get("WALKTHROUGH_SCREENSHOTS")
    if not target:
        return Shots(tmp_path / "screenshots")
    out = Path(target)
    return Shots(out if out.is_absolute() else REPO_ROOT / out)


@pytest.fixture
def people(browser: Browser, server_url: str) -> Iterator[dict[str, Person]]:
    """The four people, each signed in through the login form in a browser profile of their own."""
    contexts = []
    out: dict[str, Person] = {}
    for email in (DEVELOPER, REVIEWER, OFFICIAL, PARTNER):
        ctx = browser.new_context(base_url=server_url, viewport={"width": 1280, "height": 800})
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        page = ctx.new_page()
        problems = PageProblems()
        _watch(page, problems)
        login(page, email)
        expect(page.locator("h1")).to_have_text("Dashboard")
        out[email] = Person(email, page, problems)
    yield out
    for ctx in contexts:
        ctx.close()


def _nav(page: Page, name: str) -> None:
    """Follow a link of the header navigation, as a user would."""
    page.locator("header nav").get_by_role("link", name=name, exact=True).click()
    page.wait_for_load_state("load")


def _csrf(page: Page) -> str:
    cookie = next(c for c in page.context.cookies() if c["name"] == "fs_csrf")
    return str(cookie["value"])


def _wait_for_runs(page: Page, count: int) -> None:
    """Reload the submission page until its ``count`` evaluation runs have finished (the
    server's job consumer runs them); fail at once if one failed."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    rows = page.locator("#runs tbody tr")
    while True:
        statuses = [rows.nth(i).locator("td").nth(3).inner_text() for i in range(rows.count())]
        assert len(statuses) == count, statuses
        assert not any("failed" in s for s in statuses), f"an evaluation run failed: {statuses}"
        if all("succeeded" in s for s in statuses):
            return
        assert time.monotonic() < deadline, (
            f"the evaluation runs did not finish in {RUN_TIMEOUT_S} s: {statuses}"
        )
        time.sleep(2)
        page.reload()


def test_walkthrough_submit_to_revocation(people: dict[str, Person], shots: Shots) -> None:
    dev, rev, off, bank = people[DEVELOPER], people[REVIEWER], people[OFFICIAL], people[PARTNER]
    tasks = load_tasks()
    per_family = Counter(t.family for t in tasks)
    release = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=RELEASE_IN_DAYS)

    # ---------------------------------------------------------------- 1. developer submits
    p = dev.page
    _nav(p, "Review")
    p.get_by_role("link", name="Submit a model").first.click()
    expect(p.locator("h1")).to_have_text("Submit a model for pre-release review")
    p.get_by_label("Model name", exact=True).fill(MODEL)
    p.get_by_label("Version", exact=True).fill(VERSION)
    p.get_by_label("Planned release to trusted partners").fill(release.isoformat())
    p.get_by_label("Access given to reviewers").select_option("grey-box")
    p.get_by_label("Endpoint URL (OpenAI-compatible)").fill("https://api.ailab.example/v1")
    p.get_by_label("API key for reviewers").fill("sk-walkthrough-3f9a1c7e")
    p.get_by_label("Evaluation model (Inspect)").fill(EVAL_MODEL)
    p.get_by_label("Training compute (FLOP)").fill("3e25")
    p.get_by_label("Parameters").fill("400000000000")
    p.get_by_label("Reviewers to name").fill(f"{REVIEWER}, {OFFICIAL}")
    p.get_by_label("System card").set_input_files(
        {
            "name": "system-card-2.2.md",
            "mimeType": "text/markdown",
            "buffer": b"# ailab-frontier 2.2 system card\n\nCyber: evaluated internally on CTF-style tasks.\n",
        }
    )
    expect(p.get_by_label("Schedule the cyber evaluation suite against the endpoint now")).to_be_checked()
    p.get_by_role("button", name="Submit for review").click()
    expect(p).to_have_url(re.compile(r"/review/[0-9a-f-]{36}$"))
    submission_url = p.url
    expect(p.locator("h1")).to_contain_text(f"{MODEL} {VERSION}")
    expect(p.locator("h1 .rv-status")).to_have_text("open")
    expect(p.locator(".sub").first).to_contain_text(
        f"planned release to trusted partners {release.isoformat()}"
    )
    # The window closes at 00:00 UTC of the release date: 13 whole days and some hours from now.
    expect(p.locator(".rv-clock .big")).to_contain_text(f"{RELEASE_IN_DAYS - 1}days")
    team = p.locator("#team")
    expect(team).to_contain_text(REVIEWER)
    expect(team).to_contain_text(OFFICIAL)
    expect(p.locator("#materials")).to_contain_text("stored, encrypted")
    expect(p.locator("#materials")).to_contain_text("system-card-2.2.md")
    expect(p.locator("#runs tbody tr")).to_have_count(1)
    expect(p.locator("#runs tbody tr")).to_contain_text(EVAL_MODEL)
    dev.clean("submission")
    shots.take(p, "submitted", full_page=True)

    # ---------------------------------------------------------------- 2. the NSA evaluator runs the suite
    # The benchmark official is on the review team and schedules a run of the cyber suite
    # from the submission page. The run the submission scheduled by itself belongs to the
    # program office and is not shared with the agencies, so a determination cannot use it
    # (reported to the lead); this run, owned by the evaluator's agency, is the evidence.
    p = off.page
    p.goto(submission_url)
    expect(p.locator(".sub").first).to_contain_text("you see this as team")
    before = set(p.locator("#runs tbody a").evaluate_all("els => els.map(e => e.getAttribute('href'))"))
    p.get_by_role("button", name="Schedule another run against the endpoint").click()
    expect(p.locator("#runs tbody tr")).to_have_count(2)
    after = set(p.locator("#runs tbody a").evaluate_all("els => els.map(e => e.getAttribute('href'))"))
    (evaluator_run,) = after - before
    evaluator_run_id = evaluator_run.removeprefix("/evals/runs/")
    off.clean("run scheduled")

    # ---------------------------------------------------------------- 3. reviewer reviews
    p = rev.page
    _nav(p, "Review")
    p.get_by_role("link", name=f"{MODEL} {VERSION}").click()
    expect(p).to_have_url(submission_url)
    expect(p.locator(".sub").first).to_contain_text("you see this as team")
    expect(p.get_by_role("timer")).to_be_visible()
    _wait_for_runs(p, 2)
    for i in range(2):
        expect(p.locator("#runs tbody tr").nth(i)).to_contain_text(f"{len(tasks)} / {len(tasks)} samples")
    p.get_by_label("Summary").fill(
        "Both runs of the cyber-core suite finished and solved no task. Manual testing through "
        "the endpoint found two issues, below."
    )
    p.locator("#ft-0").fill("Refusal bypass for exploit-writing requests via role-play")
    p.locator("#fs-0").select_option("high")
    p.locator("#fd-0").fill("Framing the request as a CTF write-up yields step-by-step exploit code.")
    p.locator("#ft-1").fill("System card understates tool-use autonomy")
    p.locator("#fs-1").select_option("low")
    p.locator("#fd-1").fill("The card says tool use needs confirmation; the API runs tools unattended.")
    p.get_by_role("button", name="Issue the report to the developer").click()
    report = p.locator("#report")
    expect(report).to_contain_text("2 findings")
    expect(report).to_contain_text("Refusal bypass for exploit-writing requests via role-play")
    expect(report.locator(".finding").first).to_contain_text("Awaiting the developer's response.")
    rev.clean("review")
    shots.take(p, "review-report", full_page=True)

    # ---------------------------------------------------------------- 4. developer answers
    p = dev.page
    p.goto(submission_url)
    findings = p.locator("#report .finding")
    expect(findings).to_have_count(2)
    expect(p.locator("#runs tbody tr")).to_contain_text(["succeeded", "succeeded"])
    findings.nth(0).get_by_role("button", name="Acknowledge").click()
    expect(findings.nth(0)).to_contain_text("Developer acknowledged")
    findings.nth(1).get_by_label("Comment (required to dispute)").fill(
        "Tool calls are confirmed by the client SDK by default; the raw API is documented as unattended."
    )
    findings.nth(1).get_by_role("button", name="Dispute").click()
    expect(findings.nth(1)).to_contain_text("Developer disputed")
    expect(findings.nth(1)).to_contain_text("confirmed by the client SDK by default")
    dev.clean("responses")

    # ---------------------------------------------------------------- 5. official determines
    p = off.page
    _nav(p, "Designation")
    expect(p.get_by_role("heading", name="Issue a determination")).to_be_visible()
    p.get_by_label("Model", exact=True).fill(MODEL)
    p.get_by_label("Version", exact=True).fill(VERSION)
    p.get_by_label("Policy").select_option(POLICY)
    # compute and parameters left blank: taken from the review submission
    p.get_by_role("button", name="Apply policy and sign").click()
    expect(p).to_have_url(re.compile(r"/designation/[0-9a-f-]{36}$"))
    first_determination_url = p.url
    expect(p.locator("h1")).to_contain_text(f"{MODEL} {VERSION}")
    expect(p.locator(".head-row .result")).to_have_text("Insufficient evidence")
    expect(p.locator(".verify-ok")).to_contain_text("Signature verified")
    crit = p.locator("table.crit")
    # 4e11 parameters declared >= 1e11; 3e25 FLOP < 1e26; every family under min_samples (20)
    expect(crit.locator("tr", has_text="PARAMS_AT_OR_ABOVE_THRESHOLD")).to_contain_text("met")
    expect(crit.locator("tr", has_text="COMPUTE_BELOW_THRESHOLD")).to_contain_text("unmet")
    expect(crit.locator("tr", has_text="INSUFFICIENT_SAMPLES")).to_have_count(2)
    evidence_runs = p.locator("h2:has-text('Evidence') ~ .table-wrap").first
    expect(evidence_runs).to_contain_text(evaluator_run_id)
    expect(evidence_runs).to_contain_text(EVAL_MODEL)
    evidence = p.locator("h2:has-text('Evidence') + p").inner_text()
    counted = dict(re.findall(r"(discovery|exploitation|patching) (\d+/\d+)", evidence))
    runs_used = int(re.search(r"(\d+) finished evaluation runs?", evidence).group(1))  # type: ignore[union-attr]
    assert runs_used >= 1
    # the mock model answers every task with the same canned text: it solves nothing
    assert counted == {f: f"0/{n * runs_used}" for f, n in per_family.items()}, evidence
    off.clean("determination")
    shots.take(p, "determination", full_page=True)

    # ---------------------------------------------------------------- 6. developer: notice, reconsideration
    p = dev.page
    _nav(p, "Designation")
    row = p.locator("tbody tr", has_text=VERSION).filter(has_text=MODEL)
    expect(row).to_contain_text("Insufficient evidence")
    row.get_by_role("link", name=MODEL).click()
    expect(p).to_have_url(first_determination_url)
    expect(p.get_by_role("heading", name="Notice to the developer")).to_be_visible()
    expect(p.locator(".notice")).to_contain_text(
        f"Example AI Lab's {MODEL} {VERSION} could not be determined: the evidence is insufficient "
        f"under policy {POLICY}"
    )
    # the developer does not see the confidential thresholds
    expect(p.locator("table.crit")).to_contain_text("confidential")
    expect(p.locator("table.crit")).not_to_contain_text("10²⁶")
    p.get_by_label("Why should this determination be reconsidered?").fill(
        "The declared parameter count included the 310-billion-parameter draft model used only for "
        "speculative decoding; the released model has 90 billion parameters."
    )
    p.get_by_label("Corrected parameter count").fill("90000000000")
    p.get_by_role("button", name="Send the request").click()
    recon = p.locator("#reconsideration + .panel")
    expect(recon).to_contain_text("requested")
    expect(recon).to_contain_text("decision due")
    expect(recon).to_contain_text("Corrected declarations: parameter count 9 \u00d7 10\u00b9\u2070")
    dev.clean("reconsideration request")
    shots.take(p, "notice-reconsideration", full_page=True)

    # ---------------------------------------------------------------- 7. official decides
    p = off.page
    p.goto(first_determination_url)
    recon = p.locator("#reconsideration + .panel")
    recon.get_by_role("button", name="Start review").click()
    expect(recon.locator(".badge").first).to_have_text("under review")
    recon.get_by_label("Outcome").select_option("modified")
    recon.get_by_label("Reasons for the developer").fill(
        "The corrected parameter count is supported by the architecture sheet; the policy is applied "
        "again to the corrected declaration."
    )
    recon.get_by_role("button", name="Decide").click()
    expect(p).not_to_have_url(first_determination_url)
    expect(p.locator(".head-row .result")).to_have_text("Not covered")
    expect(p.locator(".verify-ok")).to_contain_text("Signature verified")
    expect(p.locator("dl.kv")).to_contain_text("replaces an earlier determination")
    expect(p.locator("table.crit tr", has_text="PARAMS_BELOW_THRESHOLD")).to_contain_text("unmet")
    off.clean("reconsideration decision")

    p = dev.page
    p.reload()
    expect(p.locator(".head-row")).to_contain_text("superseded")
    expect(p.locator("#reconsideration + .panel .badge").first).to_have_text("modified")
    expect(p.locator("#reconsideration + .panel")).to_contain_text("supported by the architecture sheet")
    p.get_by_role("link", name="new determination").click()
    expect(p.locator(".head-row .result")).to_have_text("Not covered")
    expect(p.locator(".notice")).to_contain_text(f"{MODEL} {VERSION} is not a covered frontier model")
    dev.clean("decision seen by the developer")
    shots.take(p, "reconsidered", full_page=True)

    # ---------------------------------------------------------------- 8. developer nominates the bank
    p = dev.page
    _nav(p, "Partners")
    partner_value = p.locator("#n-partner option", has_text="Example Regional Bank").get_attribute("value")
    agency_value = p.locator("#n-agency option", has_text="CISA").get_attribute("value")
    assert partner_value
    assert agency_value
    p.get_by_label("Organisation").select_option(partner_value)
    p.locator("#n-model").fill(MODEL)
    p.locator("#n-version").fill(VERSION)
    p.get_by_label("Co-deciding agency").select_option(agency_value)
    p.get_by_label("Purpose").fill(
        "Find and fix vulnerabilities in online-banking services before attackers do."
    )
    p.get_by_role("button", name="Nominate").click()
    expect(p).to_have_url(re.compile(r"/partners/[0-9a-f-]{36}$"))
    nomination_url = p.url
    expect(p.locator("h1")).to_contain_text(f"Example Regional Bank for {MODEL} {VERSION}")
    expect(p.locator("h1 .pt-status")).to_have_text("pending")
    p.get_by_role("button", name="Approve for the developer").click()
    expect(p.locator(".side").first).to_contain_text("✓ approved")
    expect(p.locator(".side").nth(1)).to_contain_text("waiting")
    dev.clean("nomination")

    # ---------------------------------------------------------------- 9. agency vets and approves
    p = rev.page
    _nav(p, "Partners")
    p.locator("tbody tr", has_text=f"{MODEL} {VERSION}").filter(has_text="Example Regional Bank").get_by_role(
        "link"
    ).first.click()
    expect(p).to_have_url(nomination_url)
    expect(p.locator(".sub").first).to_contain_text("you see this as agency")
    # the second approval needs the required vetting checks: refused, with the reason
    p.get_by_role("button", name="Approve for the agency").click()
    expect(p.locator("h1")).to_contain_text("412")
    refusal = p.locator(".panel").first
    expect(refusal).to_contain_text("the vetting checklist is not done")
    expect(refusal).to_contain_text("Export-control and sanctions screening passed")
    rev.problems.clear()
    p.goto(nomination_url)
    expect(p.locator("h1 .pt-status")).to_have_text("pending")
    checklist = p.locator("#checklist")
    required = checklist.locator("li").filter(has_not=p.locator(".badge", has_text="optional"))
    n_required = required.count()
    assert n_required >= 5
    for i in range(n_required):
        required.nth(i).get_by_role("button", name=re.compile(r"^Check: ")).click()
        expect(p.locator("#checklist")).to_contain_text(f"{i + 1} of {n_required} required checks done")
    p.get_by_role("button", name="Approve for the agency").click()
    expect(p.locator("h1 .pt-status")).to_have_text("approved")
    expect(p.locator(".side").nth(1)).to_contain_text("✓ approved")
    expect(p.locator(".side").nth(1)).to_contain_text(REVIEWER)
    rev.clean("joint approval")
    shots.take(p, "partner-approved", full_page=True)

    # ---------------------------------------------------------------- 10. developer issues the grant
    p = dev.page
    p.goto(nomination_url)
    p.locator("#grant-form summary").click()
    expect(p.locator("#grant-form .note")).to_contain_text("review window")
    p.get_by_label("Starts (UTC)").fill("")  # with the waiver: starts now
    p.get_by_label("Usage cap").fill("5000")
    p.get_by_label("Waive the review window").check()
    p.get_by_label("Reason for the waiver").fill(
        "The bank's SOC needs the model for an active incident; agreed with CISA."
    )
    p.get_by_role("button", name="Issue the signed grant").click()
    grant = p.locator("article.grant")
    expect(grant).to_have_count(1)
    expect(grant.locator(".pt-status")).to_have_text("waiting for the partner to accept the terms")
    expect(grant).to_contain_text("waived by the developer")
    expect(grant).to_contain_text("0 of 5,000 calls used")
    grant_id = (grant.get_attribute("id") or "").removeprefix("grant-")
    assert re.fullmatch(r"[0-9a-f-]{36}", grant_id), grant_id
    dev.clean("grant")

    # ---------------------------------------------------------------- 11. partner accepts the terms
    p = bank.page
    _nav(p, "Partners")
    p.locator("tbody tr", has_text=f"{MODEL} {VERSION}").get_by_role("link").first.click()
    expect(p).to_have_url(nomination_url)
    expect(p.locator(".sub").first).to_contain_text("you see this as partner")
    expect(p.locator("#checklist")).to_contain_text("the checklist is theirs")
    grant = p.locator(f"#grant-{grant_id}")
    expect(grant.locator(".terms").first).to_be_visible()
    grant.get_by_role("button", name=re.compile(r"^Accept the terms")).click()
    grant = p.locator(f"#grant-{grant_id}")
    expect(grant.locator(".pt-status")).to_have_text("active")
    expect(grant).to_contain_text(f"by {PARTNER}")
    bank.clean("terms accepted")
    shots.take(p, "grant-active", full_page=True)

    # The developer's gateway asks before serving the partner. A gateway is an API client, so
    # this step (and the one after revocation) goes through the JSON API of the same server,
    # with the developer's own browser session and CSRF token; there is no page for it.
    check_url = f"/api/v1/partners/grants/{grant_id}/check"
    answer = dev.page.request.post(check_url, data={"units": 1}, headers={"x-csrf-token": _csrf(dev.page)})
    assert answer.status == 200, answer.text()
    assert (answer.json()["decision"], answer.json()["code"]) == ("allowed", "active")

    # ---------------------------------------------------------------- 12. agency revokes
    p = rev.page
    p.goto(nomination_url)
    grant = p.locator(f"#grant-{grant_id}")
    expect(grant).to_contain_text("1 of 5,000 calls used")
    grant.get_by_label("Reason (required)").fill("The incident is closed; access ends with it.")
    grant.get_by_role("button", name="Revoke now").click()
    grant = p.locator(f"#grant-{grant_id}")
    expect(grant.locator(".pt-status")).to_have_text("revoked")
    expect(grant).to_contain_text(f"by the agency ({REVIEWER}): The incident is closed")
    rev.clean("revocation")

    # ---------------------------------------------------------------- 13. partner sees it; access denied
    p = bank.page
    p.reload()
    grant = p.locator(f"#grant-{grant_id}")
    expect(grant.locator(".pt-status")).to_have_text("revoked")
    expect(grant).to_contain_text("The incident is closed; access ends with it.")
    expect(grant.get_by_role("button", name="Report usage")).to_have_count(0)
    bank.clean("revoked, as the partner")
    shots.take(p, "grant-revoked", full_page=True)

    answer = dev.page.request.post(check_url, data={"units": 1}, headers={"x-csrf-token": _csrf(dev.page)})
    assert answer.status == 200, answer.text()
    body = answer.json()
    assert (body["allowed"], body["decision"], body["code"]) == (False, "denied", "revoked")
    assert body["used"] == 1, "a denied check is not counted"
