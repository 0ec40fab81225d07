"""Each function's settings: exactly its variables, checked when its handler is imported (cold start)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from intake.settings import (
    ApiSettings,
    FunctionSettings,
    IndexSettings,
    NotifySettings,
    ThumbnailSettings,
    ValidateSettings,
)
from tests.support.aws import load_handler

# What each function needs to have set; the template sets these (and the limits) for it.
REQUIRED: dict[str, tuple[type[FunctionSettings], set[str]]] = {
    "validate": (ValidateSettings, {"INDEX_TABLE", "FINISHED_TOPIC_ARN"}),
    "thumbnail": (ThumbnailSettings, {"INDEX_TABLE", "FINISHED_TOPIC_ARN", "THUMBNAIL_BUCKET"}),
    "index": (IndexSettings, {"INDEX_TABLE", "FINISHED_TOPIC_ARN"}),
    "notify": (NotifySettings, {"INDEX_TABLE", "SENDER_EMAIL", "IDEMPOTENCY_TABLE", "USER_SETTINGS_TABLE"}),
    "api": (
        ApiSettings,
        {
            "INDEX_TABLE",
            "UPLOAD_BUCKET",
            "THUMBNAIL_BUCKET",
            "USER_SETTINGS_TABLE",
            # downloads are signed CloudFront URLs only (the API role cannot read the buckets)
            "CDN_URL",
            "SIGNING_KEY_PAIR_ID",
            "SIGNING_KEY_PARAMETER",
            "FINISHED_TOPIC_ARN",  # a multipart upload refused at completion is announced by the API
        },
    ),
}
READS: dict[str, set[str]] = {
    # every stage may delete a rejected upload's thumbnails (THUMBNAIL_BUCKET: optional but validate and index)
    "validate": {
        "MAX_RECEIVE_COUNT",
        "ALLOWED_CONTENT_TYPES",
        "MAX_UPLOAD_BYTES",
        "MAX_IMAGE_PIXELS",
        "MAX_IMAGE_BYTES",
        "THUMBNAIL_BUCKET",
    },
    "thumbnail": {"MAX_RECEIVE_COUNT", "MAX_UPLOAD_BYTES", "MAX_IMAGE_PIXELS", "MAX_IMAGE_BYTES"},
    "index": {"MAX_RECEIVE_COUNT", "THUMBNAIL_BUCKET"},
    "notify": {"MAX_RECEIVE_COUNT"},
    "api": {
        "ALLOWED_CONTENT_TYPES",
        "MAX_UPLOAD_BYTES",
        "WEB_ORIGIN",
        "ABANDONED_UPLOAD_GRACE_S",
        "MULTIPART_THRESHOLD_BYTES",
        "MULTIPART_MIN_PART_BYTES",
    },
}


def complete(function: str) -> dict[str, str]:
    return {name: f"{name.lower()}-value" for name in REQUIRED[function][1]}


def variables(model: type[FunctionSettings]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


@pytest.mark.parametrize("function", sorted(REQUIRED))
def test_each_model_reads_exactly_its_functions_variables(function: str) -> None:
    model, required = REQUIRED[function]
    assert variables(model) == required | READS[function]
    model.from_env(complete(function))  # the required ones are enough: the rest have defaults


@pytest.mark.parametrize(
    ("function", "missing"), [(f, name) for f in sorted(REQUIRED) for name in sorted(REQUIRED[f][1])]
)
def test_a_missing_or_empty_required_variable_is_named(function: str, missing: str) -> None:
    model = REQUIRED[function][0]
    env = complete(function) | {"AWS_SECRET_ACCESS_KEY": "do-not-print-me"}
    for broken in ({k: v for k, v in env.items() if k != missing}, env | {missing: ""}):
        with pytest.raises(ValidationError) as raised:
            model.from_env(broken)
        message = str(raised.value)
        assert missing in message
        assert "do-not-print-me" not in message  # the environment never lands in the log


def test_values_are_parsed_and_checked() -> None:
    env = complete("validate") | {
        "ALLOWED_CONTENT_TYPES": " image/PNG, image/jpeg ,",
        "MAX_UPLOAD_BYTES": "1000",
        "MAX_RECEIVE_COUNT": "7",
    }
    cfg = ValidateSettings.from_env(env)
    assert cfg.allowed_content_types == {"image/png", "image/jpeg"} and cfg.max_receive_count == 7
    assert cfg.limits.max_bytes == 1000 and cfg.limits.max_pixels == 40_000_000
    with pytest.raises(ValidationError, match="MAX_RECEIVE_COUNT"):
        ValidateSettings.from_env(env | {"MAX_RECEIVE_COUNT": "0"})
    assert ApiSettings.from_env(complete("api")).cors_origin == "*"
    assert ApiSettings.from_env(complete("api") | {"WEB_ORIGIN": "https://x.example"}).cors_origin == (
        "https://x.example"
    )


@pytest.mark.parametrize("function", sorted(REQUIRED))
def test_a_handler_fails_its_cold_start_when_a_variable_is_missing(
    function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in {n for _, names in REQUIRED.values() for n in names} | READS[function]:
        monkeypatch.delenv(name, raising=False)
    for name, value in complete(function).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("INDEX_TABLE")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with pytest.raises(ValidationError, match="INDEX_TABLE"):
        load_handler(function)


def test_documents_and_media_may_be_allowed_and_images_have_a_size_limit() -> None:
    env = complete("validate") | {
        "ALLOWED_CONTENT_TYPES": "image/jpeg,application/pdf,application/zip,video/mp4,video/quicktime,audio/mpeg",
        "MAX_IMAGE_BYTES": "1000",
    }
    cfg = ValidateSettings.from_env(env)
    assert "application/pdf" in cfg.limits.allowed_content_types and cfg.limits.max_image_bytes == 1000
    assert ThumbnailSettings.from_env(complete("thumbnail")).max_image_bytes == 200 * 1024 * 1024


@pytest.mark.parametrize("function", ["validate", "api"])
@pytest.mark.parametrize("listed", ["image/jpeg,text/plain", "text/plain,application/x-msdownload", " , "])
def test_an_allowlist_naming_a_type_without_a_signature_fails_the_cold_start(
    function: str, listed: str
) -> None:
    model = REQUIRED[function][0]
    with pytest.raises(ValidationError) as raised:
        model.from_env(complete(function) | {"ALLOWED_CONTENT_TYPES": listed})
    message = str(raised.value)
    assert "ALLOWED_CONTENT_TYPES" in message
    if "text/plain" in listed:
        assert "text/plain" in message and "no file signature to check such content against" in message
        assert "image/jpeg" in message.split("types it can check:")[1]  # says what may be listed
    else:
        assert "at least one content type must be allowed" in message
