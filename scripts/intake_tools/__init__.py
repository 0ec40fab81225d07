"""Tooling shared by the CLI, the build and the local cloud: where to talk to (one boto3 session, local
or AWS), the stack's outputs, and the upload page's config. It imports only `intake` and libraries."""
