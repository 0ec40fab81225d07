"""The page where it lives on AWS: at the (local) CloudFront front, under the template's response headers
policy, its CSP enforced by Chromium with the AWS hosts mapped to the local ones. It signs in and uploads
a JPEG and a HEIC photo (the session's AllowedContentTypes include image/heic) with no CSP violation
(the page fixture fails a test on any), and a call the CSP refuses, or that fails, is named as such,
not taken for an expired session."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from localcloud.cdn.csp import HostMap
from localcloud.cfn._cloudfront import STORE
from localcloud.cloud import LocalCloud
from tests.browser.test_upload_page import PIPELINE_TIMEOUT_MS, card, new_user, sign_in_on_page
from tests.support import heif, images

pytestmark = pytest.mark.e2e


def template_csp(cloud: LocalCloud) -> str:
    """The deployed SecurityHeadersPolicy's CSP, as the template's Fn::Sub resolved it."""
    with STORE.lock:
        policy = STORE.response_headers_policies[cloud.deployment.resources["SecurityHeadersPolicy"]]  # type: ignore[union-attr]
    return str(policy["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"])


def test_the_page_has_the_templates_csp_with_local_hosts(cloud: LocalCloud, page: Any) -> None:
    response = page.goto(cloud.cdn_url)
    served = response.headers["content-security-policy"]
    deployed = template_csp(cloud)
    assert "amazonaws.com" in deployed and "*" not in deployed
    assert served == HostMap.for_stack(
        api_id=cloud.deployment.resources["Api"],  # type: ignore[union-attr]
        upload_bucket=cloud.outputs["UploadBucketName"],
        api_url=cloud.api_url,
        endpoint=cloud.endpoint,
    ).policy(deployed)
    connect = next(d for d in served.split(";") if d.split()[0] == "connect-src").split()[1:]
    assert connect == ["'self'", cloud.api_url, cloud.endpoint]
    # The API front sends the page's visitors to the CloudFront front (the WebOrigin CORS admits).
    moved = requests.get(cloud.api_url + "/", allow_redirects=False, timeout=30)
    assert (moved.status_code, moved.headers["Location"]) == (302, cloud.cdn_url + "/")


def test_jpeg_and_heic_upload_at_the_cloudfront_front(cloud: LocalCloud, page: Any) -> None:
    assert "image/heic" in cloud.parameters.get("AllowedContentTypes", ""), "the session allows HEIC"
    email = new_user(cloud)
    sign_in_on_page(page, cloud, email)
    page.locator("#account-email", has_text=email).wait_for()
    assert page.url.startswith(cloud.cdn_url)
    page.locator("#file-input").set_input_files(
        [
            {"name": "sunset.jpg", "mimeType": "image/jpeg", "buffer": images.jpeg(640, 480)},
            {"name": "phone.heic", "mimeType": "image/heic", "buffer": heif.encode(heif.halves(), "HEIF")},
        ]
    )
    for name in ("sunset.jpg", "phone.heic"):
        ready = card(page, name, "ready")
        ready.locator("img").wait_for(timeout=PIPELINE_TIMEOUT_MS)
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=ready.locator("img").element_handle()
        )


def _config_with(page: Any, cloud: LocalCloud, **changes: str) -> None:
    """Serve the page a config.js with `changes` (as a deploy that named another endpoint would)."""
    config = json.loads(
        requests.get(cloud.cdn_url + "/config.js", timeout=30).text.split("=", 1)[1].strip().rstrip(";")
    )
    body = f"window.INTAKE_CONFIG = {json.dumps(config | changes)};"
    page.route(
        f"{cloud.cdn_url}/config.js",
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=body),
    )


@pytest.mark.csp_violations_expected
def test_sign_in_refused_by_the_csp_says_so(cloud: LocalCloud, page: Any) -> None:
    _config_with(page, cloud, cognitoEndpoint="http://127.0.0.1:9/")  # a host the CSP does not admit
    sign_in_on_page(page, cloud, new_user(cloud))
    error = page.locator("#error")
    error.wait_for()
    assert error.inner_text() == (
        "Could not reach the sign-in service at http://127.0.0.1:9: "
        "refused by this page's Content Security Policy."
    )


def test_sign_in_with_cognito_down_says_what_failed(cloud: LocalCloud, page: Any) -> None:
    page.route(f"{cloud.endpoint}/", lambda route: route.abort("connectionrefused"))
    sign_in_on_page(page, cloud, new_user(cloud))
    error = page.locator("#error")
    error.wait_for()
    text = error.inner_text()
    assert text.startswith(f"Could not reach the sign-in service at {cloud.endpoint}: the connection failed")
    assert "session" not in text


def test_an_unreachable_cognito_at_refresh_is_not_an_expired_session(cloud: LocalCloud, page: Any) -> None:
    email = new_user(cloud)
    sign_in_on_page(page, cloud, email)
    page.locator("#account-email", has_text=email).wait_for()
    # The ID token has run out (as an hour later) and Cognito cannot be reached to refresh it.
    page.evaluate(
        """() => {
          const key = "intake.session";
          const tokens = JSON.parse(sessionStorage.getItem(key));
          const claims = JSON.parse(atob(tokens.idToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
          claims.exp = 1;
          const body = btoa(JSON.stringify(claims)).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
          const parts = tokens.idToken.split(".");
          tokens.idToken = [parts[0], body, parts[2]].join(".");
          sessionStorage.setItem(key, JSON.stringify(tokens));
        }"""
    )
    page.route(f"{cloud.endpoint}/", lambda route: route.abort("connectionrefused"))
    page.reload()
    error = page.locator("#error")
    error.wait_for()
    text = error.inner_text()
    assert "Could not reach the sign-in service" in text and "expired" not in text
    assert page.locator("#account-email", has_text=email).is_visible()  # still signed in
