"""The upload page's `config.js` (`window.INTAKE_CONFIG`): made from the stack outputs by `make deploy`
and by the local API front, read back by the CLI. Its keys are the names web/app.js reads."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Stack output -> key of window.INTAKE_CONFIG.
WEB_CONFIG_KEYS = {
    "ApiUrl": "apiUrl",
    "UserPoolId": "userPoolId",
    "UserPoolClientId": "userPoolClientId",
    "CognitoEndpoint": "cognitoEndpoint",
    "UploadBucketName": "uploadBucket",
}
_CONFIG_JS = re.compile(r"INTAKE_CONFIG\s*=\s*(\{.*\})\s*;?", re.DOTALL)


class BadConfigJs(ValueError):
    """The text is not a config.js this module writes."""


def web_config(outputs: Mapping[str, str], region: str, **overrides: str) -> dict[str, str]:
    """window.INTAKE_CONFIG from the stack outputs (`overrides` for the local endpoints)."""
    config = {"region": region} | {key: outputs[o] for o, key in WEB_CONFIG_KEYS.items() if o in outputs}
    return config | overrides


def config_js(config: Mapping[str, str]) -> str:
    return f"window.INTAKE_CONFIG = {json.dumps(dict(config), indent=2)};\n"


def parse_config_js(text: str) -> dict[str, str]:
    """The string values of `window.INTAKE_CONFIG = {...};` (JSON inside), by their config.js keys."""
    match = _CONFIG_JS.search(text)
    if not match:
        raise BadConfigJs("config.js does not define window.INTAKE_CONFIG")
    try:
        data = json.loads(match.group(1))
    except ValueError as exc:
        raise BadConfigJs(f"config.js is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadConfigJs("window.INTAKE_CONFIG is not an object")
    return {k: v for k, v in data.items() if isinstance(v, str) and v}


PAGE_FILES = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "style.css": "text/css",
    "favicon.svg": "image/svg+xml",
}


def publish_page(s3: Any, bucket: str, root: Path, config: Mapping[str, str]) -> None:
    """Copy the upload page (`root`: web/) and its config.js into the stack's web bucket, which the
    CloudFront distribution serves (no-cache: each deploy may change them)."""
    files = {name: (root / name).read_bytes() for name in PAGE_FILES}
    files["config.js"] = config_js(config).encode()
    for name, body in files.items():
        content_type = PAGE_FILES.get(name, "text/javascript")
        if content_type.startswith("text/"):
            content_type += "; charset=utf-8"
        s3.put_object(Bucket=bucket, Key=name, Body=body, ContentType=content_type, CacheControl="no-cache")
