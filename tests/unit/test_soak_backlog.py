"""The soak client's backlog: uploads wait while the pipeline holds `limit` unannounced ones."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))  # `soak` is not installed

from soak.client import Backlog


def test_an_upload_waits_until_the_pipeline_announces_one() -> None:
    backlog = Backlog(2)
    assert backlog.enter() and backlog.enter()
    assert not backlog.enter(timeout_s=0)  # full: a third upload would wait
    backlog.announced(1)
    assert backlog.enter(timeout_s=0)
    assert not backlog.enter(timeout_s=0)


def test_a_given_up_upload_frees_its_place_and_open_frees_everyone() -> None:
    backlog = Backlog(1)
    assert backlog.enter()
    backlog.give_back()
    assert backlog.enter(timeout_s=0)  # the place given back
    backlog.open()
    assert all(backlog.enter(timeout_s=0) for _ in range(100))
