"""The `intake` command line: uploads and queries (the client commands) and operations (`intake ops`)."""
