import pytest

from intake.keys import (
    THUMBNAIL_PREFIX,
    UPLOAD_PREFIX,
    InvalidKey,
    UploadKey,
    parse_upload_key,
    sanitize_filename,
    thumbnail_key,
)


def test_prefixes():
    assert UPLOAD_PREFIX == "uploads/"
    assert THUMBNAIL_PREFIX == "thumbnails/"


def test_upload_key_builds_key():
    assert UploadKey("alice", "u-1", "cat.png").key == "uploads/alice/u-1/cat.png"


@pytest.mark.parametrize(
    "filename",
    [
        "cat.png",
        "my cat.png",
        "a+b=c.png",
        "café ☕.png",
        "猫の写真 (1).jpg",
        "  spaced  .png",
        "no-extension",
    ],
)
def test_parse_round_trips_unusual_filenames(filename):
    key = f"uploads/alice/u-1/{filename}"
    parsed = parse_upload_key(key)
    assert parsed == UploadKey(owner="alice", upload_id="u-1", filename=filename)
    assert parsed.key == key


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("thumbnails/alice/u-1/cat.png", "not under 'uploads/'"),
        ("Uploads/alice/u-1/cat.png", "not under 'uploads/'"),
        ("uploads/alice/cat.png", "3 path segments"),
        ("uploads/alice/u-1/dir/cat.png", "5 path segments"),
        ("uploads/alice/u-1/", "empty filename"),
        ("uploads//u-1/cat.png", "empty owner"),
        ("uploads/alice//cat.png", "empty upload_id"),
        ("uploads/", "2 path segments"),
        ("", "not under"),
    ],
)
def test_parse_rejects_bad_layouts_with_readable_message(key, fragment):
    with pytest.raises(InvalidKey) as info:
        parse_upload_key(key)
    message = str(info.value)
    assert fragment in message
    assert "uploads/<owner>/<upload_id>/<filename>" in message
    assert isinstance(info.value, ValueError)


def test_thumbnail_key():
    assert thumbnail_key("alice", "u-1", 512) == "thumbnails/alice/u-1/512.jpg"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("cat.png", "cat.png"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\bob\\photo.jpg", "photo.jpg"),
        ("dir/sub/my photo (1).jpg", "my photo (1).jpg"),
        ("a+b_c-d.png", "a+b_c-d.png"),
        ("café 猫.png", "café 猫.png"),
        ("cafe\u0301.png", "café.png"),  # NFD input gives the NFC name
        ("evil\r\nX-Header: 1.png", "evilX-Header 1.png"),
        ("tab\there\x00.png", "tabhere.png"),
        ('"quoted";,<b>&%?*|.png', "quotedb.png"),
        ("non\u00a0breaking.png", "non breaking.png"),
        ("lots   of    space.png", "lots of space.png"),
        (".hidden", "hidden"),
        ("..", "file"),
        ("", "file"),
        ("///", "file"),
        ("☕☕☕", "file"),
        ("name.", "name"),
    ],
)
def test_sanitize_filename(raw, expected):
    assert sanitize_filename(raw) == expected


def test_sanitize_keeps_extension_when_truncating():
    out = sanitize_filename("x" * 300 + ".jpeg")
    assert len(out) == 200
    assert out.endswith("x.jpeg")


def test_sanitize_truncates_name_with_absurd_extension():
    out = sanitize_filename("a." + "b" * 300)
    assert len(out) == 200


def test_sanitized_name_is_a_valid_key_segment():
    name = sanitize_filename("we/ird\\na:me?.png")
    assert parse_upload_key(f"uploads/alice/u-1/{name}").filename == name
