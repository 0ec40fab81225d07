"""Bad and odd files, each with the verdict it must get: the three stages' real work functions run on
it (S3 replaced by a dict, no AWS) and the record's status and reasons are derived as the table does.

Every case ends with a clear verdict: `ready`, or `rejected` with exactly the listed reasons, each a
sentence for people and each said once (validate and thumbnail may both judge a file: one problem
gives one sentence, which status.derive lists once). Nothing raises, so nothing is retried or dead-
lettered. tests/e2e/test_bad_inputs.py sends a few of these through the local cloud.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from intake import stages, storage
from intake.events import ObjectCreated
from intake.keys import UploadKey
from intake.metadata import UploadMetadata, encode_metadata
from intake.settings import IndexSettings, ThumbnailSettings, ValidateSettings
from intake.status import Outcome, StageResult, derive
from tests.support import documents, images

MB = 1024 * 1024
KEY = UploadKey(owner="alice", upload_id="u-1", filename="upload.bin")
COMMON = {
    "INDEX_TABLE": "index",
    "FINISHED_TOPIC_ARN": "arn:aws:sns:us-east-1:1:finished",
    "MAX_UPLOAD_BYTES": str(25 * MB),  # the stack's default is 5 GiB: a 30 MB object must be too large here
    "MAX_IMAGE_BYTES": str(20 * 1024 * 1024),  # under MaxUploadBytes (25 MB), as 200 MiB is under 5 GiB
}
VALIDATE = ValidateSettings.from_env(COMMON)
# An operator who allows documents and media too (intake.signatures).
DOCUMENTS = "image/jpeg,image/png,image/webp,image/gif,application/pdf,application/zip,video/mp4,audio/mpeg"
VALIDATE_DOCUMENTS = ValidateSettings.from_env(COMMON | {"ALLOWED_CONTENT_TYPES": DOCUMENTS})
THUMBNAIL = ThumbnailSettings.from_env(COMMON | {"THUMBNAIL_BUCKET": "thumbs"})
INDEX = IndexSettings.from_env(COMMON)

# The sentences, spelled out: a test that used the product's constants would pass whatever they said.
PIXEL_BOMB = "image has more than 179.0 MP, the limit is 40.0 MP"
DAMAGED = "file starts like a {} image but is not one (damaged or another kind of file)"
TRUNCATED = "image data is truncated (incomplete or damaged file)"
NOT_AN_IMAGE = "content is not a JPEG, PNG, GIF, WebP, HEIC/HEIF or AVIF image"
EMPTY = "file is empty"
METADATA_TOO_LARGE = "image holds compressed metadata that is too large once decompressed"


def metadata(**change: Any) -> dict[str, str]:
    fields = {"owner": KEY.owner, "upload_id": KEY.upload_id, "filename": KEY.filename} | change
    return encode_metadata(UploadMetadata(**fields))


@dataclass(frozen=True)
class Upload:
    """One object as it lands in the bucket, and the verdict it must get."""

    body: Callable[[], bytes]
    content_type: str | None = "image/jpeg"
    reasons: tuple[str, ...] = ()  # none: ready
    meta: dict[str, str] | None = None  # S3 user metadata (default: the upload's own, as the API signs it)
    size: int | None = None  # what S3 reports, when not len(body) (an object over the limit)
    largest: tuple[int, int] | None = None  # the 1024 thumbnail's size, when it matters
    documents: bool = False  # the operator allows documents and media (VALIDATE_DOCUMENTS)

    @property
    def status(self) -> str:
        return "rejected" if self.reasons else "ready"


def jpeg(**kwargs: Any) -> Callable[[], bytes]:
    return lambda: images.jpeg(**kwargs)


CASES: dict[str, Upload] = {
    # --- bombs: a header that promises more pixels than we decode, or metadata that inflates ---------
    "png pixel bomb (30000x30000 in 100 bytes)": Upload(
        images.decompression_bomb_png, "image/png", (PIXEL_BOMB,)
    ),
    "jpeg frame header claiming 65500x65500": Upload(
        lambda: images.jpeg_declaring(65500, 65500), "image/jpeg", (PIXEL_BOMB,)
    ),
    "gif screen claiming 65535x65535": Upload(
        lambda: images.gif_declaring(65535, 65535), "image/gif", (PIXEL_BOMB,)
    ),
    "webp canvas of 16384x16384": Upload(
        lambda: images.webp_declaring(16384, 16384),
        "image/webp",
        ("image is 16384x16384 = 268.4 MP, the limit is 40.0 MP",),
    ),
    "real png just over the pixel limit": Upload(
        lambda: images.png_pixel_flood(7000, 6000),
        "image/png",
        ("image is 7000x6000 = 42.0 MP, the limit is 40.0 MP",),
    ),
    "png zTXt chunk inflating to 64 MB": Upload(images.png_text_bomb, "image/png", (METADATA_TOO_LARGE,)),
    "real png of 36 MP that compresses to almost nothing": Upload(
        lambda: images.png_pixel_flood(6000, 6000), "image/png", largest=(1024, 1024)
    ),
    # --- truncation -----------------------------------------------------------------------------------
    "jpeg cut in half": Upload(lambda: images.cut(images.noisy_jpeg()), "image/jpeg", (TRUNCATED,)),
    "png cut in half": Upload(lambda: images.cut(images.noisy_png()), "image/png", (TRUNCATED,)),
    "gif cut in half": Upload(lambda: images.cut(images.noisy_gif()), "image/gif", (TRUNCATED,)),
    "webp cut in half": Upload(lambda: images.cut(images.webp(300, 200)), "image/webp", (TRUNCATED,)),
    "png signature and header, no data": Upload(
        images.png_header_only, "image/png", (DAMAGED.format("PNG"),)
    ),
    "png signature only": Upload(lambda: b"\x89PNG\r\n\x1a\n", "image/png", (DAMAGED.format("PNG"),)),
    "jpeg start marker only": Upload(lambda: b"\xff\xd8\xff", "image/jpeg", (DAMAGED.format("JPEG"),)),
    "empty file": Upload(lambda: b"", "image/jpeg", (EMPTY,)),
    "object over the size limit": Upload(
        jpeg(), "image/jpeg", ("file is 30.0 MB, the limit is 25.0 MB",), size=30 * MB
    ),
    # --- type confusion: the declared type against the content ------------------------------------------
    "png declared as jpeg": Upload(
        images.png, "image/jpeg", ("content is image/png but was declared image/jpeg",)
    ),
    "jpeg declared as png": Upload(
        jpeg(), "image/png", ("content is image/jpeg but was declared image/png",)
    ),
    "gif declared as webp": Upload(
        images.gif, "image/webp", ("content is image/gif but was declared image/webp",)
    ),
    "webp declared as gif": Upload(
        images.webp, "image/gif", ("content is image/webp but was declared image/gif",)
    ),
    "html declared as jpeg": Upload(images.html, "image/jpeg", (NOT_AN_IMAGE,)),
    "svg with a script declared as png": Upload(images.svg, "image/png", (NOT_AN_IMAGE,)),
    "pdf declared as jpeg": Upload(
        images.pdf, "image/jpeg", ("content is application/pdf but was declared image/jpeg",)
    ),
    "bmp declared as jpeg": Upload(images.bmp, "image/jpeg", (NOT_AN_IMAGE,)),
    "tiff declared as png": Upload(images.tiff, "image/png", (NOT_AN_IMAGE,)),
    "jpeg declared as text/html": Upload(
        jpeg(),
        "text/html",
        (
            "content type 'text/html' is not allowed (allowed: image/gif, image/jpeg, image/png, image/webp)",
            "content is image/jpeg but was declared text/html",
        ),
    ),
    "jpeg with no content type": Upload(jpeg(), None, ("content type is missing",)),
    "jpeg declared with parameters and capitals": Upload(jpeg(), "IMAGE/JPEG; charset=binary"),
    # --- polyglots ----------------------------------------------------------------------------------
    "gif header followed by html": Upload(images.gif_then_html, "image/gif", (DAMAGED.format("GIF"),)),
    "html with a png inside": Upload(lambda: images.html() + images.png(), "image/png", (NOT_AN_IMAGE,)),
    "jpeg with a zip appended": Upload(images.jpeg_then_zip, "image/jpeg", largest=(200, 100)),
    "png with html after its end": Upload(images.png_then_html, "image/png", largest=(64, 48)),
    "jpeg with a script in its comment": Upload(
        lambda: images.with_jpeg_comment(b"<script>alert(1)</script>"), "image/jpeg"
    ),
    # --- odd but valid images -------------------------------------------------------------------------
    "cmyk jpeg": Upload(images.cmyk_jpeg, largest=(300, 200)),
    "greyscale jpeg": Upload(images.grey_jpeg, largest=(300, 200)),
    "progressive jpeg": Upload(images.progressive_jpeg, largest=(640, 480)),
    "exif-rotated jpeg (orientation 6)": Upload(images.exif_rotated_jpeg, largest=(200, 400)),
    "exif-rotated jpeg (orientation 8)": Upload(
        lambda: images.exif_rotated_jpeg(orientation=8), largest=(200, 400)
    ),
    "exif-flipped jpeg (orientation 3)": Upload(
        lambda: images.exif_rotated_jpeg(orientation=3), largest=(400, 200)
    ),
    "jpeg with 390 KB of metadata before its frame": Upload(
        images.jpeg_with_large_metadata, largest=(320, 240)
    ),
    "1x1 jpeg": Upload(jpeg(width=1, height=1), largest=(1, 1)),
    "1x1 png": Upload(lambda: images.png(1, 1), "image/png", largest=(1, 1)),
    "1x1 gif": Upload(lambda: images.gif(1, 1), "image/gif", largest=(1, 1)),
    "1x1 webp": Upload(lambda: images.webp(1, 1), "image/webp", largest=(1, 1)),
    "16-bit rgb png": Upload(images.png_16bit_rgb, "image/png", largest=(120, 80)),
    "16-bit greyscale png": Upload(images.png_16bit_grey, "image/png", largest=(120, 80)),
    "palette png with a transparent colour": Upload(images.palette_png_with_transparency, "image/png"),
    "rgba png": Upload(images.png_with_alpha, "image/png", largest=(300, 200)),
    "interlaced png": Upload(images.interlaced_png, "image/png", largest=(120, 80)),
    "animated gif": Upload(images.animated_gif, "image/gif", largest=(120, 80)),
    "animated webp": Upload(images.animated_webp, "image/webp", largest=(120, 80)),
    "lossless webp with alpha": Upload(lambda: images.png_with_alpha_as("WEBP", lossless=True), "image/webp"),
    "10000x1 png": Upload(lambda: images.png(10000, 1), "image/png", largest=(1024, 1)),
    "1x10000 png": Upload(lambda: images.png(1, 10000), "image/png", largest=(1, 1024)),
    # --- metadata that did not come from our API (a direct PutObject) ----------------------------------
    "metadata naming another owner": Upload(
        jpeg(),
        meta=metadata(owner="mallory"),
        reasons=("metadata owner 'mallory' does not match the key's owner 'alice'",),
    ),
    "no metadata at all": Upload(
        jpeg(),
        meta={},
        reasons=("missing metadata 'owner'", "missing metadata 'upload-id'", "missing metadata 'filename'"),
    ),
    "metadata filename not percent-encoded utf-8": Upload(
        jpeg(),
        meta=metadata() | {"filename": "%FF%FE.bin"},
        reasons=("metadata 'filename' is not valid percent-encoded UTF-8",),
    ),
    "metadata with a malformed rfc 2047 word": Upload(
        jpeg(),
        meta=metadata() | {"filename": "=?no-such-charset?Q?upload.bin?="},
        reasons=("metadata 'filename' is not readable: its RFC 2047 encoded text is malformed",),
    ),
    "metadata title over 200 characters": Upload(
        jpeg(),
        meta=metadata() | {"title": "t" * 201},
        reasons=("metadata 'title' is longer than 200 characters",),
    ),
    "metadata title with control and bidi characters": Upload(
        jpeg(), meta=metadata(title="evil\u202e\r\nBcc: x@example.com")
    ),
    # --- documents and media, when the operator allows them: ready without thumbnails -----------------
    "pdf, allowed": Upload(documents.pdf, "application/pdf", documents=True),
    "zip, allowed": Upload(documents.zip_archive, "application/zip", documents=True),
    "mp4, allowed": Upload(documents.mp4, "video/mp4", documents=True),
    "mp3, allowed": Upload(documents.mp3, "audio/mpeg", documents=True),
    "large pdf (its end read apart)": Upload(
        lambda: documents.pdf(pages=20000), "application/pdf", documents=True
    ),
    "pdf, not allowed": Upload(
        documents.pdf,
        "application/pdf",
        (
            "content type 'application/pdf' is not allowed (allowed: image/gif, image/jpeg, image/png,"
            " image/webp)",
        ),
    ),
    "quicktime, not allowed by this operator": Upload(
        documents.quicktime,
        "video/quicktime",
        (
            "content type 'video/quicktime' is not allowed (allowed: application/pdf, application/zip,"
            " audio/mpeg, image/gif, image/jpeg, image/png, image/webp, video/mp4)",
        ),
        documents=True,
    ),
    "jpeg declared as pdf": Upload(
        jpeg(), "application/pdf", ("content is image/jpeg but was declared application/pdf",), documents=True
    ),
    "pdf declared as jpeg, documents allowed": Upload(
        documents.pdf,
        "image/jpeg",
        ("content is application/pdf but was declared image/jpeg",),
        documents=True,
    ),
    "text declared as pdf": Upload(
        lambda: b"just text\n",
        "application/pdf",
        ("content is not a PDF document (a PDF starts with %PDF-)",),
        documents=True,
    ),
    "truncated pdf": Upload(
        lambda: documents.pdf()[:-10],
        "application/pdf",
        ("the PDF document is truncated or has other data after its end (it does not end with %%EOF)",),
        documents=True,
    ),
    "pdf with a zip appended": Upload(
        lambda: documents.pdf() + documents.zip_archive(),
        "application/pdf",
        ("the PDF document is truncated or has other data after its end (it does not end with %%EOF)",),
        documents=True,
    ),
    "pdf over the upload limit (not read)": Upload(
        documents.pdf,
        "application/pdf",
        ("file is 30.0 MB, the limit is 25.0 MB",),
        size=30 * MB,
        documents=True,
    ),
    "empty pdf": Upload(lambda: b"", "application/pdf", (EMPTY,), documents=True),
    # --- MaxImageBytes: an image over it is never read whole -----------------------------------------
    "jpeg over the image size limit": Upload(
        jpeg(), "image/jpeg", ("image is 21.0 MB, the limit for images is 20.0 MB",), size=21 * MB
    ),
}


@dataclass
class FakeBucket:
    """storage's reads and writes, on one object and a dict of thumbnails."""

    upload: Upload
    body: bytes
    thumbnails: dict[str, bytes] = field(default_factory=dict)

    def head(self, bucket: str, key: str) -> storage.Head:
        meta = metadata() if self.upload.meta is None else self.upload.meta
        size = len(self.body) if self.upload.size is None else self.upload.size
        return storage.Head(self.upload.content_type, size, "etag", "2026-11-21T10:00:00+00:00", meta)

    def read(
        self, bucket: str, key: str, *, first_bytes: int | None = None, last_bytes: int | None = None
    ) -> bytes:
        if last_bytes:
            return self.body[-last_bytes:]
        if first_bytes:
            return self.body[:first_bytes]
        if self.upload.size is not None:
            raise AssertionError("an object over a limit was read whole")
        return self.body

    def put_thumbnail(self, bucket: str, key: str, data: bytes) -> None:
        self.thumbnails[key] = data


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Upload], FakeBucket]]:
    def install(upload: Upload) -> FakeBucket:
        fake = FakeBucket(upload, upload.body())
        for name in ("head", "read", "put_thumbnail"):
            monkeypatch.setattr(storage, name, getattr(fake, name))
        return fake

    yield install


EVENT = ObjectCreated("uploads-bucket", KEY.key, 1, "etag", "2026-11-21T10:00:00.000Z", None)


def run_stages(validate: ValidateSettings = VALIDATE) -> tuple[Outcome, dict[str, StageResult]]:
    """Each stage's work on the object, as the consumers do it; the outcome the record settles on."""
    results: dict[str, StageResult] = {
        spec.stage: spec.work(EVENT, KEY, cfg)[0]  # type: ignore[arg-type]
        for spec, cfg in ((stages.VALIDATE, validate), (stages.THUMBNAIL, THUMBNAIL), (stages.INDEX, INDEX))
    }
    return derive(results), results


@pytest.mark.parametrize("name", list(CASES))
def test_every_bad_input_gets_a_clear_verdict(name: str, bucket: Callable[[Upload], FakeBucket]) -> None:
    upload = CASES[name]
    fake = bucket(upload)
    outcome, results = run_stages(VALIDATE_DOCUMENTS if upload.documents else VALIDATE)
    assert (outcome.status, outcome.reasons) == (upload.status, upload.reasons)
    made = results["thumbnail"].details.get("thumbnails", [])
    if upload.status == "ready" and upload.content_type in DOCUMENTS.split(",")[4:]:
        # nothing to draw: the thumbnail stage says so, and its result counts as done
        assert results["thumbnail"].state == "done" and made == [] and fake.thumbnails == {}
        assert results["thumbnail"].details["nothing_to_do"] == f"{upload.content_type} has no thumbnails"
    elif upload.status == "ready":
        assert sorted(t["size"] for t in made) == [128, 512, 1024] and len(fake.thumbnails) == 3
    if upload.largest:
        assert next((t["width"], t["height"]) for t in made if t["size"] == 1024) == upload.largest


# Python reprs and programmer's text: `<_io.BytesIO object at 0x7f..>`, `b'..'`, `\x00`, `Error(`.
REPR = re.compile(
    r"<[^>]* at 0x[0-9a-f]+>|<class '|\bb'|\\x[0-9a-f]{2}|\\u[0-9a-f]{4}|\w+(Error|Exception)\b|\bNone\b"
)


def test_no_reason_is_a_python_repr(bucket: Callable[[Upload], FakeBucket]) -> None:
    """Reasons are sentences for people (the GIF+HTML case used to give one with a BytesIO repr)."""
    said = set()
    for upload in CASES.values():
        bucket(upload)
        outcome, results = run_stages(VALIDATE_DOCUMENTS if upload.documents else VALIDATE)
        said |= {r for result in results.values() for r in result.reasons} | set(outcome.reasons)
    assert len(said) >= 20  # every kind of verdict above
    assert [r for r in said if REPR.search(r)] == []
    assert all(r[:1].islower() and not r.endswith(".") for r in said)  # one style of sentence


def test_a_gif_header_followed_by_html_gets_one_sentence(bucket: Callable[[Upload], FakeBucket]) -> None:
    bucket(CASES["gif header followed by html"])
    outcome, results = run_stages()
    assert outcome.reasons == (
        "file starts like a GIF image but is not one (damaged or another kind of file)",
    )
    assert results["validate"].reasons == results["thumbnail"].reasons == outcome.reasons


@pytest.mark.parametrize(
    "name", ["html declared as jpeg", "png signature only", "empty file", "object over the size limit"]
)
def test_an_unreadable_file_gets_one_verdict_once(name: str, bucket: Callable[[Upload], FakeBucket]) -> None:
    """validate and thumbnail both reject it, with the same sentence: the record says it once."""
    bucket(CASES[name])
    outcome, results = run_stages()
    assert results["validate"].state == results["thumbnail"].state == "rejected"
    assert results["validate"].reasons == results["thumbnail"].reasons
    assert len(outcome.reasons) == 1


def test_no_reason_in_the_product_is_built_with_a_repr() -> None:
    """`{value!r}` puts Python's quoting and escapes into sentences; intake.text.quoted is for people."""
    sources = Path(__file__).resolve().parents[2] / "shared" / "intake"
    offenders = [
        f"{p.name}:{n}"
        for p in sources.glob("*.py")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if "!r}" in line
    ]
    assert offenders == []
