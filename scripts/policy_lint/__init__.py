"""Offline IAM policy checks of the templates (`make lint`): render, then audit with parliament."""
