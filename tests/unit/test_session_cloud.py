"""The e2e session's local cloud stops right after the last test on it (tests/e2e/conftest.py), not when
pytest ends: the mock_aws tests that follow reset the moto it shares, and its pollers would retry
'queue does not exist' through them (printed after the summary of `make test`).

A pytest run of its own, with the e2e conftest's hooks and fixture on a fake cloud that notes when it
starts and stops."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CONFTEST = """
import os
from pathlib import Path

import pytest

import tests.e2e.conftest as e2e
from tests.e2e.conftest import cloud, pytest_collection_modifyitems  # noqa: F401  the code under test

EVENTS = Path(os.environ["SESSION_CLOUD_EVENTS"])


def note(event):
    with EVENTS.open("a") as out:
        out.write(event + "\\n")


class FakeCloud:
    def __init__(self, *args, **kwargs):
        pass

    def start(self):
        note("start")
        return self

    def stop(self):
        note("stop")


e2e.LocalCloud = FakeCloud
e2e.build = lambda: None


@pytest.fixture(autouse=True)
def _note_test(request):
    note(request.node.name)
"""

TESTS = {
    "browser/test_page.py": "def test_page(cloud):\n    pass\n",
    "e2e/test_api.py": "def test_api(cloud):\n    pass\n",
    "e2e/test_grants.py": "def test_grants(cloud):\n    pass\n",
    "e2e/test_zz.py": "def test_zz(cloud):\n    pass\n",
    "integration/test_mock_aws.py": "def test_mock_aws():\n    pass\n",
}


def test_the_session_cloud_stops_after_the_last_test_on_it_and_once(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    for name, text in TESTS.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    events = tmp_path / "events.txt"
    path = os.pathsep.join(str(p) for p in (ROOT, ROOT / "scripts", ROOT / "shared"))
    env = {**os.environ, "PYTHONPATH": path, "SESSION_CLOUD_EVENTS": str(events)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # Started on first use (a session fixture, set up before the test's own); the grants test moved after the other e2e tests; stopped once, after it and
    # before the tests that reset moto, not again when pytest ends.
    assert events.read_text().split() == [
        "start",
        "test_page",
        "test_api",
        "test_zz",
        "test_grants",
        "stop",
        "test_mock_aws",
    ]
