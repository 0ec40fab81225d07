"""MaxImageBytes in the template: what the thumbnail function reads, and that /tmp holds the largest image."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.templates import PARENT_PATH, effective_template, load

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return effective_template()


def test_max_image_bytes_defaults_to_200_mib_and_reaches_the_content_stages(template: dict[str, Any]) -> None:
    parameter = load(PARENT_PATH)["Parameters"]["MaxImageBytes"]
    assert parameter["Default"] == 200 * MIB
    for function in ("ValidateFunction", "ThumbnailFunction"):
        variables = template["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert variables["MAX_IMAGE_BYTES"] == {"Fn::Sub": "${MaxImageBytes}"}


def test_the_thumbnail_functions_tmp_holds_the_largest_allowed_image(template: dict[str, Any]) -> None:
    """The stage streams an image above 32 MiB to /tmp: the parameter's MaxValue must fit in it."""
    largest = load(PARENT_PATH)["Parameters"]["MaxImageBytes"]["MaxValue"]
    tmp_mb = template["Resources"]["ThumbnailFunction"]["Properties"]["EphemeralStorage"]["Size"]
    assert largest <= 0.8 * tmp_mb * MIB  # a fifth left for anything else in /tmp
