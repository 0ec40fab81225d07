"""CloudFront for the local cloud: each distribution of the stack, served on http://127.0.0.1:3001.

moto keeps distributions, key groups and public keys but serves nothing. This package serves them as
CloudFront does, one module per concern:

- :mod:`.signed_urls`: CloudFront's signed URL check (canned and custom policies, expiry, key pair id,
  the exact resource) and its 403 error documents;
- :mod:`.distribution`: the deployed distribution, its behaviours, trusted keys and policies;
- :mod:`.origin`: the origin access control's read of the bucket (bucket and key policy evaluated by
  localcloud.authz as a delivery from this distribution);
- :mod:`.headers`: the response headers policy;
- :mod:`.csp`: its Content-Security-Policy with the AWS hosts mapped to the local ones;
- :mod:`.front`: :class:`CdnFront`, the HTTP server that puts them together.
"""

from .csp import HostMap
from .front import CDN_PORT, CdnFront

__all__ = ["CDN_PORT", "CdnFront", "HostMap"]
