"""The local cloud enforces permissions: IAM identity policies, resource policies and KMS key policies,
evaluated as AWS does (policy.py), in a WSGI middleware in front of the emulator (middleware.py)."""
