"""Builds the Lambda artifacts: one zip per function and one layer."""
