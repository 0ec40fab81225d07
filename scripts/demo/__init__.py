"""The top of the tooling: `make up` (the local cloud in the foreground) and `make demo` (a walkthrough).

It builds the artifacts (intake_build) and runs them on the local cloud (localcloud), and the demo
uploads as a user would (intake_cli): the one place that puts those three together.
"""
