"""CloudFront signed URLs: botocore's CloudFrontSigner with an RSA key (cryptography), canned policy.

A signed URL is `<cdn url>/<key>[?response-content-disposition=...]` plus Expires, Signature and
Key-Pair-Id; CloudFront checks the signature over exactly that resource and the expiry, with the public
key `Key-Pair-Id` names in the behaviour's trusted key group. The private key (PEM) comes from
`load_key` on first use and is kept for the life of the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from botocore.signers import CloudFrontSigner

from intake.keys import content_disposition

if TYPE_CHECKING:  # cryptography is imported on the first signature, not at the API's cold start (~10 ms)
    from cryptography.hazmat.primitives.asymmetric import rsa


class CloudFrontUrls:
    """Signs URLs of objects behind one distribution, with one key pair."""

    def __init__(self, base_url: str, key_pair_id: str, load_key: Callable[[], str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.key_pair_id = key_pair_id
        self._load_key = load_key
        self._key: rsa.RSAPrivateKey | None = None
        self._lock = threading.Lock()

    def _private_key(self) -> rsa.RSAPrivateKey:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        with self._lock:
            if self._key is None:
                key = serialization.load_pem_private_key(self._load_key().encode(), password=None)
                if not isinstance(key, rsa.RSAPrivateKey):
                    raise TypeError("the CloudFront signing key is not an RSA private key")
                self._key = key
            return self._key

    def _rsa_sign(self, message: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        # CloudFront's canned and custom policies are signed RSA-SHA1 (PKCS #1 v1.5), as botocore expects.
        return self._private_key().sign(message, padding.PKCS1v15(), hashes.SHA1())

    def url(self, key: str, *, expires_at: datetime, download_name: str | None = None) -> str:
        """The signed URL of object `key`, valid until `expires_at`; `download_name` makes it a download."""
        url = f"{self.base_url}/{quote(key, safe='/')}"
        if download_name:
            url += "?" + urlencode({"response-content-disposition": content_disposition(download_name)})
        signer = CloudFrontSigner(self.key_pair_id, self._rsa_sign)
        return str(signer.generate_presigned_url(url, date_less_than=expires_at))
