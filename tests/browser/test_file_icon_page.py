"""The page shows a file-type icon where a document has no thumbnail (the e2e stack allows PDFs)."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.cloud import LocalCloud
from tests.browser.test_upload_page import PIPELINE_TIMEOUT_MS, card, new_user, sign_in_on_page
from tests.support import documents

pytestmark = pytest.mark.e2e


def test_a_pdf_shows_a_file_icon_instead_of_a_thumbnail(cloud: LocalCloud, page: Any) -> None:
    email = new_user(cloud)
    sign_in_on_page(page, cloud, email)
    page.locator("#account-email", has_text=email).wait_for()
    page.locator("#file-input").set_input_files(
        [{"name": "minutes.pdf", "mimeType": "application/pdf", "buffer": documents.pdf()}]
    )
    ready = card(page, "minutes.pdf", "ready")
    icon = ready.locator("svg.file-icon")
    icon.wait_for(timeout=PIPELINE_TIMEOUT_MS)
    assert icon.get_attribute("data-kind") == "PDF"
    assert icon.get_attribute("aria-label") == "PDF file (no thumbnail)"
    assert ready.locator("img").count() == 0
    # After a reload the listed record (no thumbnail URLs) shows the icon too.
    page.reload()
    card(page, "minutes.pdf", "ready").locator('svg.file-icon[data-kind="PDF"]').wait_for(
        timeout=PIPELINE_TIMEOUT_MS
    )
