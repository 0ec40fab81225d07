"""The local CloudFront front (filled in below)."""
