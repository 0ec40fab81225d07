"""One RSA key pair for the tests that sign CloudFront URLs or deploy the template (made once: slow)."""

from __future__ import annotations

import functools

from intake_tools.signing_key import new_private_key_pem, public_key_pem


@functools.cache
def private_pem() -> str:
    return new_private_key_pem()


@functools.cache
def public_pem() -> str:
    return public_key_pem(private_pem())


@functools.cache
def other_private_pem() -> str:
    return new_private_key_pem()
