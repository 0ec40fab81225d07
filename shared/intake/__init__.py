"""Intake: the code every Lambda function shares (shipped as the layer)."""
