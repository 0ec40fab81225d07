"""The API front's former module path, kept for ``scripts/demo`` (``API_PORT``); the code is in
:mod:`localcloud.api`. Remove once the demo imports from there."""

from localcloud.api import API_PORT, ApiFront

__all__ = ["API_PORT", "ApiFront"]
