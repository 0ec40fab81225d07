"""The page's Content Security Policy (the template's SecurityHeadersPolicy) against the URLs the API
hands out, made by the product's own code: presigned POST, PUT and UploadPart (presigning is offline)
and the CloudFront URLs of thumbnails and downloads. Each must be admitted, and no source may be broader
than needed. Also: the API's id in the CSP must not close a dependency cycle through openapi.yaml,
which cfn-lint and the local cloud cannot see (the Api's Body is an AWS::Include).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from intake import aws, storage
from intake.signing import CloudFrontUrls
from tests.support.signing import private_pem
from tests.support.templates import effective_template, load

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "cloudformation" / "intake.yaml"
OPENAPI = ROOT / "infra" / "cloudformation" / "openapi.yaml"
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
API_ID = "a1b2c3d4e5"
BUCKET = "intake-uploadbucket-1x2y3z4w5v6u"
CDN = "https://d111111abcdef8.cloudfront.net"  # the page's own origin: the distribution serves it
KEYWORDS = {"'self'", "'none'"}


# --- a small CSP source matcher (CSP Level 3, "Does url match source list") ------------------------


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        tokens = part.split()
        if tokens:
            parsed.setdefault(tokens[0].lower(), tokens[1:])
    return parsed


def _default_port(scheme: str) -> int | None:
    return {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(scheme)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname or "", parts.port or _default_port(parts.scheme)


def _host_matches(pattern: str, name: str) -> bool:
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return name.endswith(pattern[1:].lower())
    return name == pattern.lower()


def _path_matches(pattern: str | None, path: str) -> bool:
    if not pattern or pattern == "/":
        return True
    return path.startswith(pattern) if pattern.endswith("/") else path == pattern


def source_matches(source: str, url: str, self_origin: str) -> bool:
    """Whether one source expression admits `url` on a page whose origin is `self_origin`."""
    if source == "'self'":
        return _origin(url) == _origin(self_origin)
    match = re.fullmatch(r"(?:([a-z][a-z0-9+.-]*):)?(?://)?([^/:']*)(?::(\d+|\*))?(/.*)?", source, re.I)
    if source.startswith("'") or not match:
        return False
    scheme, host, port, path = match.groups()
    target = urlsplit(url)
    if scheme and not host:  # scheme-only source
        return target.scheme == scheme.lower()
    wanted_scheme = scheme.lower() if scheme else urlsplit(self_origin).scheme
    wanted_port = port if port == "*" else int(port) if port else _default_port(target.scheme)
    return (
        target.scheme == wanted_scheme
        and _host_matches(host, target.hostname or "")
        and (wanted_port == "*" or _origin(url)[2] == wanted_port)
        and _path_matches(path, target.path)
    )


def admitted(policy: str, directive: str, url: str, self_origin: str = CDN) -> bool:
    found = directives(policy)
    sources = found.get(directive, found.get("default-src", []))
    return any(source_matches(source, url, self_origin) for source in sources)


def test_the_matcher_follows_csp() -> None:
    assert source_matches("'self'", CDN + "/thumbnails/a.jpg", CDN)
    assert not source_matches("'self'", "https://other.example/x", CDN)
    assert source_matches("https://*.example.com", "https://a.example.com/x", CDN)
    assert not source_matches("https://a.example.com", "https://b.example.com/x", CDN)
    assert not source_matches("https://a.example.com", "http://a.example.com/x", CDN)
    assert source_matches("https:", "https://anything.example/x", CDN)
    assert not source_matches("http://127.0.0.1:4566", "http://127.0.0.1:3000/x", CDN)
    assert source_matches("http://127.0.0.1:4566", "http://127.0.0.1:4566/bucket/k?x=1", CDN)


# --- the template's CSP, rendered as CloudFormation would ------------------------------------------


def rendered_csp(region: str, template: Mapping[str, Any] | None = None) -> str:
    """SecurityHeadersPolicy's CSP with its Fn::Sub resolved for a plausible stack in `region`."""
    loaded = template if template is not None else load(TEMPLATE)
    policy = loaded["Resources"]["SecurityHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    sub = policy["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    text = sub["Fn::Sub"] if isinstance(sub, dict) else sub
    assert isinstance(text, str), "the CSP is one Fn::Sub string"
    values = {
        "AWS::Region": region,
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::Partition": "aws",
        "AWS::AccountId": "123456789012",
        "AWS::StackName": "intake",
        "Api": API_ID,
        "UploadBucket": BUCKET,
        "UserPool": f"{region}_AbCdEfGhI",
    }

    def resolve(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, f"the CSP names ${{{name}}}: give this test a plausible value for it"
        return values[name]

    return re.sub(r"\$\{([^}!][^}]*)\}", resolve, text)


@pytest.fixture
def product_clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The product's clients as on AWS: no endpoint configured, fake (offline) credentials."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    aws._client.cache_clear()
    aws._session.cache_clear()
    yield
    aws._client.cache_clear()
    aws._session.cache_clear()


def upload_urls(region: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every URL kind the page sends an upload to, made by intake.storage in `region`."""
    monkeypatch.setenv("AWS_REGION", region)
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    aws._client.cache_clear()
    key = "uploads/0000-sub/0123456789abcdef/photo.jpg"
    post = storage.presigned_post(BUCKET, key, fields={}, conditions=[], expires_in=300)
    put = storage.presigned_put(
        BUCKET, key, content_type="image/jpeg", content_length=1234, metadata={}, expires_in=300
    )
    part = storage.presigned_upload_part(
        BUCKET, key, upload_id="upload-id", part_number=1, content_length=1234, expires_in=300
    )
    return {"POST": str(post["url"]), "PUT": put, "UploadPart": part}


@pytest.mark.parametrize("region", REGIONS)
def test_every_presigned_upload_is_admitted_by_connect_src(
    region: str, product_clients: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = rendered_csp(region)
    for kind, url in upload_urls(region, monkeypatch).items():
        assert urlsplit(url).hostname == f"{BUCKET}.s3.{region}.amazonaws.com", (kind, url)
        assert admitted(policy, "connect-src", url), f"{region}: the CSP refuses the {kind} to {url}"


@pytest.mark.parametrize("region", REGIONS)
def test_the_api_and_cognito_are_admitted(region: str) -> None:
    policy = rendered_csp(region)
    api = f"https://{API_ID}.execute-api.{region}.amazonaws.com/v1/uploads"
    assert admitted(policy, "connect-src", api)
    assert admitted(policy, "connect-src", f"https://cognito-idp.{region}.amazonaws.com/")
    # Another API of the same region, or another bucket, is not.
    assert not admitted(policy, "connect-src", f"https://zzzzzzzzzz.execute-api.{region}.amazonaws.com/v1")
    assert not admitted(policy, "connect-src", f"https://other-bucket.s3.{region}.amazonaws.com/k")


def test_cloudfront_urls_are_the_pages_own_origin() -> None:
    """Thumbnails (img) and downloads (navigation) are signed URLs on the distribution serving the page."""
    urls = CloudFrontUrls(CDN, "K2JCJMDEHXQW5F", private_pem)
    expires = datetime.now(UTC) + timedelta(hours=1)
    thumbnail = urls.url("thumbnails/0000-sub/0123/512.jpg", expires_at=expires)
    download = urls.url("uploads/0000-sub/0123/photo.jpg", expires_at=expires, download_name="phôto.jpg")
    for region in REGIONS:
        policy = rendered_csp(region)
        assert admitted(policy, "img-src", thumbnail)
        assert admitted(policy, "img-src", download)  # an original that is an image, if the page shows it


@pytest.mark.parametrize("region", REGIONS)
def test_no_source_is_broader_than_needed(region: str) -> None:
    policy = directives(rendered_csp(region))
    assert policy["default-src"] == ["'none'"]
    for directive, sources in policy.items():
        for source in sources:
            assert "*" not in source, f"{directive} has a wildcard: {source}"
            assert not re.fullmatch(r"[a-z][a-z0-9+.-]*:", source, re.I), f"{directive}: scheme-only {source}"
            assert source in KEYWORDS or source.startswith("https://"), f"{directive}: {source}"
    assert policy["img-src"] == ["'self'"]
    assert policy["connect-src"] == [
        "'self'",
        f"https://{API_ID}.execute-api.{region}.amazonaws.com",
        f"https://cognito-idp.{region}.amazonaws.com",
        f"https://{BUCKET}.s3.{region}.amazonaws.com",
    ]


def test_page_loads_nothing_the_csp_refuses() -> None:
    """The page's own HTML: no inline script or style and no data: icon (img-src is 'self' only)."""
    html = (ROOT / "web" / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert "style=" not in html and "<style" not in html, "inline style"
    assert "data:" not in html, "a data: URL (img-src admits 'self' only)"


# --- no dependency cycle through the included openapi.yaml -----------------------------------------


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt":
                yield (value[0] if isinstance(value, list) else str(value).split(".", 1)[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                for name in re.findall(r"\$\{([^}!][^}]*)\}", text):
                    yield name.split(".", 1)[0]
                if isinstance(value, list):
                    yield from _references(value[1])
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def dependencies(template: Mapping[str, Any], included: Any) -> dict[str, set[str]]:
    """Resource -> the resources it depends on, with the Api's included Body (openapi.yaml) inlined."""
    resources = template["Resources"]
    graph: dict[str, set[str]] = {}
    for name, resource in resources.items():
        node = dict(resource)
        if name == "Api":
            node = {**node, "Included": included}
        found = {r for r in _references(node) if r in resources}
        depends = resource.get("DependsOn") or []
        found |= {depends} if isinstance(depends, str) else set(depends)
        graph[name] = found
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for after in sorted(graph.get(node, ())):
            if state.get(after) == 1:
                return [*stack[stack.index(after) :], after]
            if after not in state and (cycle := visit(after)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_dependency_cycle_through_the_included_api() -> None:
    graph = dependencies(effective_template(), yaml.safe_load(OPENAPI.read_text()))
    assert "Api" in graph["SecurityHeadersPolicy"], "the CSP names this stack's API"
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_api_names_its_function_as_the_template_does() -> None:
    """openapi.yaml builds the function's ARN from its name: the name must be the template's."""
    resources = load(TEMPLATE)["Resources"]
    assert resources["ApiFunction"]["Properties"]["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-api"}
    # Nothing references the function any more on the API's side: the stage waits for it explicitly.
    assert "ApiFunction" in resources["ApiDeployment"].get("DependsOn", [])
    assert ":function:${AWS::StackName}-api/invocations" in OPENAPI.read_text()
    assert "ApiFunction" not in json.dumps(yaml.safe_load(OPENAPI.read_text()))


# --- the local cloud's copy of it ---------------------------------------------------------------------


def test_the_local_cloud_maps_the_aws_hosts_to_its_own() -> None:
    from localcloud.cdn.csp import HostMap

    hosts = HostMap.for_stack(
        api_id=API_ID,
        upload_bucket=BUCKET,
        api_url="http://127.0.0.1:3000",
        endpoint="http://127.0.0.1:4566/",
    )
    local = directives(hosts.policy(rendered_csp("us-east-1")))
    # Cognito and S3 are both the emulator's endpoint: one source.
    assert local["connect-src"] == ["'self'", "http://127.0.0.1:3000", "http://127.0.0.1:4566"]
    assert local == directives(rendered_csp("us-east-1")) | {"connect-src": local["connect-src"]}
    # A host the local cloud does not stand in for stays as the template names it.
    assert hosts.policy("connect-src https://example.com") == "connect-src https://example.com"
