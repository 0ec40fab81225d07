"""AWS WAF at the CloudFront front: the CLOUDFRONT-scope web ACL a distribution names in its
WebACLId, evaluated as the API front evaluates its stage's (localcloud.api.waf: rate rules, the
managed groups' documented rules, statement rules). CloudFront runs it first, before the behaviour's
signed URL check; a blocked request gets CloudFront's 403 "Request blocked" page.

The ACL is read from moto's WAFv2 backend (the global store of CLOUDFRONT ACLs) in this process, at
most once a second per distribution, so an UpdateWebACL applies to the next requests.
"""

from __future__ import annotations

from collections.abc import Callable

from moto.wafv2.models import GLOBAL_REGION, wafv2_backends

from localcloud.api.waf import WebAcl
from localcloud.cfn._cloudfront import STORE

__all__ = ["BLOCKED_PAGE", "acl_reader"]

BLOCKED_PAGE = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">\n'
    b"<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD><BODY>\n"
    b'<H1>403 ERROR</H1>\n<H2>The request could not be satisfied.</H2>\n<HR noshade size="1px">\n'
    b"Request blocked.\n</BODY></HTML>\n"
)


def acl_reader(distribution_id: str) -> Callable[[], WebAcl | None]:
    """Reads the web ACL the distribution names (None: it names none)."""

    def read() -> WebAcl | None:
        with STORE.lock:
            distribution = STORE.distributions.get(distribution_id)
        arn = str((distribution.config.get("WebACLId") if distribution else "") or "")
        if distribution is None or not arn:
            return None
        acl = wafv2_backends[distribution.account_id][GLOBAL_REGION].get_web_acl(arn, None, None)
        return WebAcl.from_api({"ARN": acl.arn, "Name": acl.name, "Rules": [r.to_dict() for r in acl.rules]})

    return read
