"""The file signatures of the non-image types an operator may allow (intake.signatures), and what the
validate rules say about each: good, not of its type, truncated, and polyglots."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from intake import signatures, verdicts
from intake.metadata import UploadMetadata, encode_metadata
from intake.uploads import BadRequest, parse_new_upload
from intake.validation import HEAD_BYTES, TAIL_BYTES, Limits, ObjectFacts, validate
from tests.support import documents, images
from tests.support.templates import PARENT_PATH, load

MB = 1024 * 1024
EVERYTHING = Limits(allowed_content_types=signatures.KNOWN_TYPES, max_bytes=100 * MB, max_pixels=40_000_000)

# The template's default allowlist (HEIC/HEIF/AVIF are options).
DEFAULT_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def verdict(data: bytes, declared: str | None, limits: Limits = EVERYTHING) -> tuple[str, ...]:
    """validate's reasons for `data` declared as `declared`, read as the validate stage reads it."""
    meta = encode_metadata(UploadMetadata(owner="alice", upload_id="u-1", filename="file.bin"))
    facts = ObjectFacts(
        key="uploads/alice/u-1/file.bin",
        content_type=declared,
        size=len(data),
        metadata=meta,
        head=data[:HEAD_BYTES],
        tail=data[-TAIL_BYTES:] if len(data) > HEAD_BYTES else b"",
    )
    return validate(facts, limits).reasons


GOOD: dict[str, tuple[str, Any]] = {
    "pdf": ("application/pdf", documents.pdf),
    "pdf 2.0": ("application/pdf", lambda: documents.pdf().replace(b"%PDF-1.7", b"%PDF-2.0")),
    "pdf with an incremental update": ("application/pdf", lambda: documents.pdf() + documents.pdf()[9:]),
    "pdf larger than the head (end read apart)": (
        "application/pdf",
        lambda: documents.pdf(pages=20000),
    ),
    "zip": ("application/zip", documents.zip_archive),
    "empty zip": ("application/zip", lambda: documents.zip_archive({})),
    "zip with a comment": ("application/zip", lambda: documents.zip_archive(comment=b"PK\x05\x06 inside")),
    "zip larger than the head": ("application/zip", lambda: documents.zip_archive({"a": bytes(400_000)})),
    "mp4 (isom)": ("video/mp4", documents.mp4),
    "mp4 (mp42)": ("video/mp4", lambda: documents.iso_media(b"mp42")),
    "m4v": ("video/mp4", lambda: documents.iso_media(b"M4V ")),
    "quicktime": ("video/quicktime", documents.quicktime),
    "mp3 with an id3 tag": ("audio/mpeg", documents.mp3),
    "mp3 without a tag": ("audio/mpeg", lambda: documents.mp3(tagged=False)),
    "mp3 whose cover art runs past the head": (
        "audio/mpeg",
        lambda: documents.id3_tag(HEAD_BYTES + 1000) + documents.mp3_frames(),
    ),
}


@pytest.mark.parametrize("name", list(GOOD))
def test_each_type_is_recognised_and_accepted(name: str) -> None:
    content_type, make = GOOD[name]
    data = make()
    assert verdicts.sniff_content_type(data[:HEAD_BYTES]) == content_type
    assert verdict(data, content_type) == ()


def _cut(data: bytes, keep: int) -> bytes:
    return data[:keep]


BAD: dict[str, tuple[bytes | Any, str, tuple[str, ...]]] = {
    # --- not of the declared type ---------------------------------------------------------------------
    "text declared as pdf": (
        b"hello, world\n",
        "application/pdf",
        ("content is not a PDF document (a PDF starts with %PDF-)",),
    ),
    "pdf signature not at the start": (
        b" " + documents.pdf(),
        "application/pdf",
        ("content is not a PDF document (a PDF starts with %PDF-)",),
    ),
    "%PDF- without a version": (
        b"%PDF-x\n%%EOF\n",
        "application/pdf",
        ("content is not a PDF document (a PDF starts with %PDF-)",),
    ),
    "random bytes declared as zip": (
        bytes(range(256)),
        "application/zip",
        ("content is not a ZIP archive (a ZIP archive starts with PK)",),
    ),
    "canon raw declared as mp4": (
        documents.iso_media(b"crx ", (b"isom",)),
        "video/mp4",
        ("content is not an MP4 video (an MP4 video starts with an ftyp box of a video brand)",),
    ),
    "ftyp box longer than the file": (
        b"\x00\x01\x00\x00ftypisom\x00\x00\x02\x00isom",
        "video/mp4",
        ("content is not an MP4 video (an MP4 video starts with an ftyp box of a video brand)",),
    ),
    "a lone mp3 sync word": (
        documents.MP3_FRAME_HEADER + bytes(range(256)) * 4,
        "audio/mpeg",
        ("content is not an MP3 audio file (an MP3 file starts with an ID3 tag or MPEG audio frames)",),
    ),
    "id3 tag with a broken size": (
        b"ID3\x03\x00\x00\x80\x00\x00\x00" + documents.mp3_frames(),
        "audio/mpeg",
        ("content is not an MP3 audio file (an MP3 file starts with an ID3 tag or MPEG audio frames)",),
    ),
    # --- the other type's bytes -----------------------------------------------------------------------
    "jpeg declared as pdf": (
        images.jpeg(),
        "application/pdf",
        ("content is image/jpeg but was declared application/pdf",),
    ),
    "pdf declared as jpeg": (
        documents.pdf(),
        "image/jpeg",
        ("content is application/pdf but was declared image/jpeg",),
    ),
    "mp4 declared as quicktime": (
        documents.mp4(),
        "video/quicktime",
        ("content is video/mp4 but was declared video/quicktime",),
    ),
    "zip declared as pdf": (
        documents.zip_archive(),
        "application/pdf",
        ("content is application/zip but was declared application/pdf",),
    ),
    # --- truncated ------------------------------------------------------------------------------------
    "pdf cut before its end": (
        _cut(documents.pdf(), 60),
        "application/pdf",
        ("the PDF document is truncated or has other data after its end (it does not end with %%EOF)",),
    ),
    "large pdf cut before its end": (
        documents.pdf(pages=20000)[:-200],
        "application/pdf",
        ("the PDF document is truncated or has other data after its end (it does not end with %%EOF)",),
    ),
    "zip cut before its central directory": (
        documents.zip_archive()[:-30],
        "application/zip",
        (
            "the ZIP archive is truncated or has other data after its end (no end of central directory record)",
        ),
    ),
    "zip cut inside its first header": (
        b"PK\x03\x04\x14\x00",
        "application/zip",
        ("content is not a ZIP archive (a ZIP archive starts with PK)",),
    ),
    "pdf header only": (
        b"%PDF-1",
        "application/pdf",
        ("content is not a PDF document (a PDF starts with %PDF-)",),
    ),
    "ftyp box cut short": (
        documents.mp4()[:12],
        "video/mp4",
        ("content is not an MP4 video (an MP4 video starts with an ftyp box of a video brand)",),
    ),
    # --- polyglots --------------------------------------------------------------------------------------
    "pdf with a zip appended": (
        documents.pdf() + documents.zip_archive(),
        "application/pdf",
        ("the PDF document is truncated or has other data after its end (it does not end with %%EOF)",),
    ),
    "pdf with a zip appended, declared as zip": (
        documents.pdf() + documents.zip_archive(),
        "application/zip",
        (
            "content is application/pdf but was declared application/zip",
            "the PDF document is truncated or has other data after its end (it does not end with %%EOF)",
        ),
    ),
    "zip with data appended": (
        documents.zip_archive() + b"<script>alert(1)</script>",
        "application/zip",
        (
            "the ZIP archive is truncated or has other data after its end (no end of central directory record)",
        ),
    ),
    "jpeg with a pdf appended, declared as pdf": (
        images.jpeg() + documents.pdf(),
        "application/pdf",
        ("content is image/jpeg but was declared application/pdf",),
    ),
    "html with a pdf inside": (
        b"<html>" + documents.pdf(),
        "application/pdf",
        ("content is not a PDF document (a PDF starts with %PDF-)",),
    ),
}


@pytest.mark.parametrize("name", list(BAD))
def test_content_that_is_not_what_it_claims_is_refused_with_a_sentence(name: str) -> None:
    data, declared, reasons = BAD[name]
    assert verdict(data, declared) == reasons


def test_a_document_type_the_operator_did_not_allow_is_refused() -> None:
    images_only = Limits(allowed_content_types=DEFAULT_IMAGES, max_bytes=100 * MB, max_pixels=40_000_000)
    assert verdict(documents.pdf(), "application/pdf", images_only) == (
        "content type 'application/pdf' is not allowed (allowed: image/gif, image/jpeg, image/png, image/webp)",
    )


def test_images_keep_their_own_verdicts_when_documents_are_allowed() -> None:
    assert verdict(images.jpeg(), "image/jpeg") == ()
    assert verdict(b"<html></html>", "image/jpeg") == (
        "content is not a JPEG, PNG, GIF, WebP, HEIC/HEIF or AVIF image",
    )


def test_an_image_over_max_image_bytes_is_refused_before_it_is_decoded() -> None:
    small = Limits(
        allowed_content_types=signatures.KNOWN_TYPES,
        max_bytes=100 * MB,
        max_pixels=40_000_000,
        max_image_bytes=1000,
    )
    data = images.jpeg() + bytes(2000)
    assert verdict(data, "image/jpeg", small) == ("image is 0.0 MB, the limit for images is 0.0 MB",)
    # documents are bounded by MaxUploadBytes only
    assert verdict(documents.pdf(pages=100), "application/pdf", small) == ()


def test_the_image_types_are_the_ones_verdicts_decodes() -> None:
    assert set(verdicts.PIL_FORMATS) == signatures.IMAGE_TYPES
    assert not signatures.IMAGE_TYPES & signatures.OTHER_TYPES


def test_images_are_sniffed_before_documents() -> None:
    """A JPEG's first bytes (FF D8) look like an MPEG audio sync word; the image checks come first."""
    assert verdicts.sniff_content_type(images.jpeg()) == "image/jpeg"
    assert signatures.sniff(images.jpeg()) is None  # and the reserved layer bits refuse it anyway


def test_the_template_allows_exactly_the_types_with_a_signature() -> None:
    """AllowedContentTypes' AllowedPattern refuses at deploy what the settings refuse at cold start."""
    parameter = load(PARENT_PATH)["Parameters"]["AllowedContentTypes"]
    pattern = re.compile(parameter["AllowedPattern"])
    alternatives = re.search(r"\^\(([^)]*)\)", parameter["AllowedPattern"])
    assert alternatives is not None
    assert set(alternatives.group(1).split("|")) == signatures.KNOWN_TYPES
    assert pattern.match(parameter["Default"])
    assert pattern.match(",".join(sorted(signatures.KNOWN_TYPES)))
    for refused in ("image/jpeg,text/plain", "text/plain", "image/jpeg, image/png", "image/svg+xml", ""):
        assert not pattern.match(refused), refused
    for name in signatures.KNOWN_TYPES:
        assert name in parameter["ConstraintDescription"]


def test_the_refusal_names_the_types_and_what_can_be_listed() -> None:
    message = signatures.refusal(frozenset({"image/jpeg", "text/plain", "text/csv"}))
    assert message.startswith("text/csv, text/plain cannot be allowed: Intake has no file signature")
    assert "application/pdf" in message and "image/jpeg" in message


def test_presign_refuses_a_document_the_stack_does_not_allow_and_a_type_without_a_signature() -> None:
    def refusal(content_type: str, allowed: frozenset[str]) -> str:
        body = json.dumps({"filename": "f", "content_type": content_type, "size": 10})
        with pytest.raises(BadRequest) as raised:
            parse_new_upload(body, allowed_content_types=allowed, max_bytes=100)
        return str(raised.value)

    images_only = DEFAULT_IMAGES
    assert refusal("application/pdf", images_only) == (
        "content_type 'application/pdf' is not allowed; allowed: image/gif, image/jpeg, image/png, image/webp"
    )
    assert refusal("text/plain", images_only | {"application/pdf"}) == (
        "content_type 'text/plain' is not allowed; allowed: application/pdf, image/gif, image/jpeg, image/png,"
        " image/webp (Intake accepts only types whose content it can check, and has no file signature for"
        " text/plain)"
    )
    body = json.dumps({"filename": "f.pdf", "content_type": "Application/PDF", "size": 10})
    parsed = parse_new_upload(body, allowed_content_types=images_only | {"application/pdf"}, max_bytes=100)
    assert parsed.content_type == "application/pdf"
