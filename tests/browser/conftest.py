"""Real Chromium (Playwright) against the local cloud's API front, which serves the page from web/.

On failure each test leaves a screenshot, the page's HTML and its console log under tests/output/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.cloud import LocalCloud
from tests.e2e.conftest import session_cloud

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parents[1] / "output"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def cloud(pytestconfig: pytest.Config) -> LocalCloud:
    """The e2e session's local cloud (one per process: moto's state is global)."""
    return session_cloud(pytestconfig)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs it (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    log: list[str] = []
    opened.on("console", lambda message: log.append(f"{message.type}: {message.text}"))
    opened.on("pageerror", lambda error: log.append(f"pageerror: {error}"))
    opened.on("requestfailed", lambda r: log.append(f"requestfailed: {r.method} {r.url} {r.failure}"))
    yield opened
    failed = any(
        getattr(getattr(request.node, f"report_{when}", None), "failed", False) for when in ("setup", "call")
    )
    if failed:
        OUTPUT.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            opened.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)
            (OUTPUT / f"{name}.html").write_text(opened.content())
        except Exception as exc:  # a crashed page still leaves its log
            log.append(f"could not capture the page: {exc}")
        (OUTPUT / f"{name}.log").write_text("\n".join(log) + os.linesep)
    context.close()
