"""Real Chromium (Playwright) against the local cloud. The page is opened at the CloudFront front, where
it lives on AWS, with the template's response headers policy (its CSP, hosts mapped to the local ones);
Chromium enforces the CSP (no bypass_csp), and a test during which the page hits a CSP violation fails,
unless it is marked `csp_violations_expected`.

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
# Every securitypolicyviolation the page sees goes to the console, which the fixture reads (Chromium's
# own "Refused to ..." message says "Content Security Policy" too).
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.effectiveDirective} refused ${event.blockedURI}`);
});
"""


def is_csp_violation(text: str) -> bool:
    return text.startswith("CSP violation:") or "Content Security Policy" in text


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
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    opened = context.new_page()
    log: list[str] = []
    violations: list[str] = []
    opened.on("console", lambda message: log.append(f"{message.type}: {message.text}"))
    opened.on("console", lambda m: violations.append(m.text) if is_csp_violation(m.text) else None)
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
    if not request.node.get_closest_marker("csp_violations_expected"):
        assert not violations, "the page hit CSP violations:\n" + "\n".join(violations)
