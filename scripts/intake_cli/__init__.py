"""The `intake` command line: uploads and queries (client) and operations (ops)."""
