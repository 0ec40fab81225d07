"""Parameter Store access: SecureString values, decrypted by SSM, read once per execution environment.

A parameter is read on first use and kept for the life of the process (Lambda reuses it across
invocations), so a warm function makes no SSM call. A new value reaches new execution environments;
a rotation changes the parameter's name (its key slot) with the function's configuration, which
starts fresh environments (see docs/runbook.md).
"""

from __future__ import annotations

import functools

from intake import aws


@functools.cache
def secure_string(name: str) -> str:
    """The decrypted value of SecureString parameter `name` (GetParameter WithDecryption)."""
    return aws.ssm().get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
