import base64
from email.header import Header
from typing import Any

import pytest
from pydantic import ValidationError

from intake.metadata import InvalidMetadata, UploadMetadata, decode_metadata, encode_metadata


def meta(**over: Any) -> UploadMetadata:
    fields = {"owner": "alice", "upload_id": "u-1", "filename": "cat.png"} | over
    return UploadMetadata(**fields)


def reasons_for(raw: dict[str, str]) -> tuple[str, ...]:
    with pytest.raises(InvalidMetadata) as info:
        decode_metadata(raw)
    reasons: tuple[str, ...] = info.value.reasons
    assert isinstance(info.value, ValueError)
    return reasons


def test_round_trip_non_ascii():
    original = meta(
        filename="café ☕.png",
        title="猫の写真",
        description="100% cat,\nline two; ok?",
        tags=["été", "a b", "x/y"],
    )
    raw = encode_metadata(original)
    assert set(raw) == {"owner", "upload-id", "filename", "title", "description", "tags"}
    for key, value in raw.items():
        assert key.isascii() and key == key.lower()
        assert value.isascii()
        assert "\n" not in value
    assert decode_metadata(raw) == original


def test_encoding_is_percent_encoded_utf8():
    raw = encode_metadata(meta(filename="café ☕.png", tags=["a", "b"]))
    assert raw["filename"] == "caf%C3%A9%20%E2%98%95.png"
    assert raw["upload-id"] == "u-1"
    assert raw["tags"] == "a,b"


def test_optional_fields_are_omitted():
    raw = encode_metadata(meta(title=None, description="", tags=[]))
    assert raw == {"owner": "alice", "upload-id": "u-1", "filename": "cat.png"}
    decoded = decode_metadata(raw)
    assert decoded.title is None and decoded.description is None and decoded.tags == []


def test_decode_accepts_rfc2047_base64_and_q():
    name = "café ☕.png"
    raw = {
        "owner": "alice",
        "upload-id": "u-1",
        "filename": "=?UTF-8?B?" + base64.b64encode(name.encode()).decode() + "?=",
        "title": "=?UTF-8?Q?caf=C3=A9_au_lait?=",
        "description": Header("日本語の説明", "utf-8").encode(),
    }
    decoded = decode_metadata(raw)
    assert decoded.filename == name
    assert decoded.title == "café au lait"
    assert decoded.description == "日本語の説明"


def test_decode_is_lenient_about_key_case_and_prefix_and_ignores_unknown_keys():
    raw = {"Owner": "alice", "X-Amz-Meta-Upload-Id": "u-1", "FILENAME": "a%20b.png", "camera": "x"}
    assert decode_metadata(raw) == meta(filename="a b.png")


def test_decode_splits_and_trims_tags():
    assert decode_metadata(encode_metadata(meta()) | {"tags": "a, b,,%C3%A9t%C3%A9"}).tags == [
        "a",
        "b",
        "été",
    ]
    # a client that percent-encoded the whole comma-separated list
    assert decode_metadata(encode_metadata(meta()) | {"tags": "a%2Cb"}).tags == ["a", "b"]


def test_missing_fields_are_all_reported():
    reasons = reasons_for({"owner": "alice"})
    assert "missing metadata 'upload-id'" in reasons
    assert "missing metadata 'filename'" in reasons
    assert len(reasons) == 2


def test_invalid_values_become_sentences():
    raw = {
        "owner": "al%20ice",
        "upload-id": "u" * 129,
        "filename": "x" * 256,
        "title": "t" * 201,
        "description": "d" * 2001,
        "tags": ",".join(["t"] * 21),
    }
    reasons = reasons_for(raw)
    assert any(r.startswith("metadata 'owner' may only contain letters, digits") for r in reasons)
    assert any(r.startswith("metadata 'upload-id' may only contain") for r in reasons)
    assert "metadata 'filename' is longer than 255 characters" in reasons
    assert "metadata 'title' is longer than 200 characters" in reasons
    assert "metadata 'description' is longer than 2000 characters" in reasons
    assert "metadata 'tags' has more than 20 items" in reasons
    assert all("pydantic" not in r and "Field" not in r for r in reasons)


def test_long_tag_is_reported_by_position():
    reasons = reasons_for(encode_metadata(meta()) | {"tags": "ok," + "x" * 51})
    assert reasons == ("tag 2 is longer than 50 characters",)


def test_empty_filename_is_reported():
    assert reasons_for(encode_metadata(meta()) | {"filename": ""}) == (
        "metadata 'filename' must not be empty",
    )


def test_bad_percent_encoding_is_reported_once():
    reasons = reasons_for(encode_metadata(meta()) | {"filename": "%FF%FE.png"})
    assert reasons == ("metadata 'filename' is not valid percent-encoded UTF-8",)


def test_malformed_encoded_word_is_reported():
    reasons = reasons_for(encode_metadata(meta()) | {"title": "=?no-such-charset?B?AAAA?="})
    assert len(reasons) == 1 and "RFC 2047" in reasons[0]


def test_model_limits():
    with pytest.raises(ValidationError):
        meta(owner="")
    with pytest.raises(ValidationError):
        meta(owner="a/b")
    with pytest.raises(ValidationError):
        meta(tags=["a,b"])
    with pytest.raises(ValidationError):
        meta(tags=[""])
    with pytest.raises(ValidationError):
        meta(unexpected="x")
    assert meta(owner="A-z_0.9", upload_id="x" * 128).upload_id == "x" * 128


def test_encode_refuses_metadata_over_s3_2kb_limit():
    with pytest.raises(InvalidMetadata, match="S3 allows 2048"):
        encode_metadata(meta(description="é" * 1000))  # 6000 bytes once percent-encoded
