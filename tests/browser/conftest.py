"""Browser fixtures: a real ``frontiersec serve`` on a free port, Debian Chromium through
Playwright (sync API), and a per-page watcher for console errors and failed requests.

The server runs in a subprocess against a fresh data folder: migrations and
``frontiersec demo load`` (the real KEV catalog from ``shared_data``) run first, through
the CLI, exactly as an operator would run them. Everything is session-scoped so the
whole suite pays for one server and one browser.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    sync_playwright,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("FRONTIERSEC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_PASSWORD = "frontiersec-demo"
ANALYST = "analyst@cisa.example"
OPERATOR = "operator@frontiersec.example"


def _cli() -> str:
    exe = VENV_BIN / "frontiersec"
    return str(exe) if exe.exists() else "frontiersec"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_env(data_dir: Path, shared_data: Path) -> dict[str, str]:
    # Start from a clean FRONTIERSEC_* slate so a developer's own settings (a PostgreSQL URL,
    # a Redis URL) never leak into the browser run.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTIERSEC_")}
    env["FRONTIERSEC_DATA_DIR"] = str(data_dir)
    env["FRONTIERSEC_DEMO_DATA"] = str(shared_data)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class ServerError(RuntimeError):
    """The server could not be prepared or did not become healthy."""


@contextmanager
def running_server(data_dir: Path, shared_data: Path) -> Iterator[str]:
    """Migrate, load the demo and serve from ``data_dir``; yield the base URL, then stop."""
    env = _server_env(data_dir, shared_data)
    for args in (["db", "upgrade"], ["demo", "load"]):
        done = subprocess.run(
            [_cli(), *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180, check=False
        )
        if done.returncode != 0:
            raise ServerError(f"frontiersec {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")

    port = _free_port()
    log_path = data_dir / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [_cli(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise ServerError(f"server exited with {proc.returncode}:\n{log_path.read_text()}")
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise ServerError(f"server did not become healthy in 60 s:\n{log_path.read_text()}")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def launch_chromium(pw: Playwright) -> Browser:
    """Debian Chromium, headless; Playwright never downloads a browser."""
    if not Path(CHROMIUM).exists():
        raise ServerError(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    return pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[str]:
    """Base URL of a live server with migrations applied and the demo loaded."""
    try:
        with running_server(tmp_path_factory.mktemp("browser-data"), shared_data) as url:
            yield url
    except ServerError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    """The Playwright driver (sync API)."""
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Debian Chromium, headless; Playwright never downloads a browser."""
    try:
        b = launch_chromium(playwright_instance)
    except ServerError as exc:
        pytest.fail(str(exc))
    yield b
    b.close()


@dataclass
class PageProblems:
    """What went wrong on a page while a test drove it."""

    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.console_errors.clear()
        self.failed_requests.clear()

    def assert_clean(self, where: str = "") -> None:
        problems = [*self.console_errors, *self.failed_requests]
        assert not problems, f"browser problems{' on ' + where if where else ''}:\n" + "\n".join(problems)


def _watch(page: Page, problems: PageProblems) -> None:
    # Chromium logs "Failed to load resource" for any 4xx document, including a deliberate
    # 401 on a wrong password or a 403 page; tests check document statuses themselves.
    documents_4xx: set[str] = set()

    def on_console(msg: ConsoleMessage) -> None:
        where = msg.location.get("url", "")
        if msg.text.startswith("Failed to load resource") and where in documents_4xx:
            return
        if msg.type == "error":
            problems.console_errors.append(f"console error: {msg.text} ({msg.location.get('url', '')})")

    def on_failed(req: Request) -> None:
        problems.failed_requests.append(f"request failed: {req.method} {req.url} ({req.failure})")

    def on_response(resp: Response) -> None:
        # A page is allowed to answer 4xx to a wrong password or a missing record; a
        # sub-resource (CSS, JS, htmx fragment) that fails is a bug.
        if resp.request.resource_type == "document" and 400 <= resp.status < 500:
            documents_4xx.add(resp.url)
        if resp.status >= 500 or (resp.status >= 400 and resp.request.resource_type != "document"):
            problems.failed_requests.append(f"HTTP {resp.status}: {resp.request.method} {resp.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.console_errors.append(f"page error: {exc}"))
    page.on("requestfailed", on_failed)
    page.on("response", on_response)


@pytest.fixture
def context(browser: Browser, server_url: str) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) per test, at 1280x800."""
    ctx = browser.new_context(base_url=server_url, viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def problems() -> PageProblems:
    """Console errors and failed requests seen by ``page``."""
    return PageProblems()


@pytest.fixture
def page(context: BrowserContext, problems: PageProblems) -> Page:
    """A page whose console errors and failed requests are collected in ``problems``."""
    p = context.new_page()
    _watch(p, problems)
    return p


def login(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form, as a user would."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


@pytest.fixture
def analyst_page(page: Page) -> Page:
    """``page``, signed in as the CISA analyst."""
    login(page, ANALYST)
    assert "/login" not in page.url, "sign-in as the analyst failed"
    return page
