"""The upload page from `web/`, on paths that are not API resources, and `/config.js`
(`window.INTAKE_CONFIG`, the same shape the deploy step writes for AWS).

Given a `home` (the local cloud gives the CloudFront front), the page itself (`/`, `/index.html`)
redirects there: the page lives where it does on AWS, at the distribution, under the template's CSP,
and its origin is the WebOrigin the API's and the buckets' CORS rules admit (a page opened here could
not upload). The CLI still reads `/config.js` here."""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote

from intake_tools.webconfig import config_js

from .messages import Reply

__all__ = ["WEB_ROOT", "WebPage"]

WEB_ROOT = Path(__file__).resolve().parents[3] / "web"
_NO_STORE = ("Cache-Control", "no-store")


class WebPage:
    """The page's files under ``root`` and its config."""

    def __init__(self, root: Path, config: Mapping[str, str], home: str | None = None) -> None:
        self.root = root.resolve()
        self.config = dict(config)
        self.home = home

    def reply(self, path: str) -> Reply | None:
        """The file at the (raw) request path; None if there is none (or it is outside the root)."""
        if self.home and path in ("", "/", "/index.html"):
            return Reply(302, [("Location", self.home.rstrip("/") + "/"), _NO_STORE], b"")
        if path == "/config.js":
            return Reply(
                200, [("Content-Type", "text/javascript"), _NO_STORE], config_js(self.config).encode()
            )
        relative = "index.html" if path in ("", "/") else unquote(path).lstrip("/")
        target = (self.root / relative).resolve()
        if not target.is_relative_to(self.root) or not target.is_file():
            return None
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type.endswith("javascript"):
            content_type += "; charset=utf-8"
        return Reply(200, [("Content-Type", content_type), _NO_STORE], target.read_bytes())
