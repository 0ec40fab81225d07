"""The headers a response headers policy adds (ResponseHeadersPolicyConfig, as CloudFront applies it):
a header whose Override is true replaces the origin's, otherwise the origin's value is kept."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from localcloud.cfn._props import as_bool


def _hsts(config: Mapping[str, Any]) -> str:
    value = f"max-age={int(config['AccessControlMaxAgeSec'])}"
    if as_bool(config.get("IncludeSubdomains", False)):
        value += "; includeSubDomains"
    if as_bool(config.get("Preload", False)):
        value += "; preload"
    return value


def _security_headers(config: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    found: list[tuple[str, str, bool]] = []
    makers = {
        "StrictTransportSecurity": ("Strict-Transport-Security", _hsts),
        "ContentTypeOptions": ("X-Content-Type-Options", lambda c: "nosniff"),
        "FrameOptions": ("X-Frame-Options", lambda c: str(c["FrameOption"])),
        "ReferrerPolicy": ("Referrer-Policy", lambda c: str(c["ReferrerPolicy"])),
        "ContentSecurityPolicy": ("Content-Security-Policy", lambda c: str(c["ContentSecurityPolicy"])),
    }
    for key, (header, make) in makers.items():
        if key in config:
            found.append((header, make(config[key]), as_bool(config[key].get("Override", False))))
    xss = config.get("XSSProtection")
    if xss:
        value = "1" if as_bool(xss.get("Protection", True)) else "0"
        if as_bool(xss.get("ModeBlock", False)):
            value += "; mode=block"
        found.append(("X-XSS-Protection", value, as_bool(xss.get("Override", False))))
    return found


def apply(
    policy: Mapping[str, Any] | None,
    headers: list[tuple[str, str]],
    csp: Callable[[str], str] | None = None,
) -> list[tuple[str, str]]:
    """`headers` (the origin's) with the policy's headers added; `csp` maps the policy's
    Content-Security-Policy to the local hosts (localcloud.cdn.csp)."""
    if not policy:
        return headers
    added = _security_headers(policy.get("SecurityHeadersConfig") or {})
    if csp is not None:
        added = [(n, csp(v) if n == "Content-Security-Policy" else v, o) for n, v, o in added]
    for item in (policy.get("CustomHeadersConfig") or {}).get("Items") or []:
        added.append((str(item["Header"]), str(item["Value"]), as_bool(item.get("Override", False))))
    result = list(headers)
    for name, value, override in added:
        present = any(n.lower() == name.lower() for n, _ in result)
        if present and not override:
            continue
        result = [(n, v) for n, v in result if n.lower() != name.lower()] + [(name, value)]
    return result
