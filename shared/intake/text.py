"""Text that people read: user strings quoted safely inside our sentences, and names cleaned of the
characters that hide or reorder what a reader sees.

Reasons and error messages are sentences for people, so they never show Python reprs (`'x'`, `b'..'`,
`<object at 0x..>`): a user value goes in through `quoted`.
"""

from __future__ import annotations

import unicodedata

# Unicode's Bidi_Control characters: embeddings, overrides, isolates and the directional marks. They
# reorder how a name is displayed ("invoice\u202egpj.exe" shows as "invoiceexe.jpg").
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Categories that never belong in a quoted value: control, surrogate, line and paragraph breaks.
_UNSHOWN = frozenset({"Cc", "Cs", "Zl", "Zp"})
QUOTE_LIMIT = 80


def without_controls(text: str) -> str:
    """`text` without control characters (C0, DEL, C1), bidi controls and unpaired surrogates.

    Everything else stays, including the zero-width joiner that emoji sequences need.
    """
    return "".join(c for c in text if c not in BIDI_CONTROLS and unicodedata.category(c) not in ("Cc", "Cs"))


def quoted(value: str, limit: int = QUOTE_LIMIT) -> str:
    """`value` in single quotes for a sentence: invisible characters as U+FFFD, long values shortened."""
    shown = "".join(
        "\ufffd" if c in BIDI_CONTROLS or unicodedata.category(c) in _UNSHOWN else c for c in value
    )
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return f"'{shown}'"
