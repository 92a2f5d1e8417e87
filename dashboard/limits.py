"""How much free text a response may carry: what the warehouse holds is cut before it leaves.

Loaders limit free text on the way in (docs/formats.md); these limits hold whatever is stored
(rows loaded before the loader limits, or written by other tools), so no map load or detail
panel grows with one long value. Queries cut in SQL (``left(col, limit + 1)``: the long value
never leaves PostgreSQL) and builders cut again with an ellipsis (:func:`clip`).
"""

from __future__ import annotations

#: Impact-level reason of a border section (map layer, tooltip, incident detail).
REASON_CHARS = 300
#: Incident description in the detail panel.
DESCRIPTION_CHARS = 2000
#: Any other text shown: names, ids, sources, codes, the values of extra fields.
FIELD_CHARS = 200
#: Extra fields (``attrs``) listed in the detail panel, and the largest ``attrs`` (as JSON text)
#: the panel reads at all.
EXTRA_FIELDS = 40
EXTRA_BYTES = 64 * 1024
ELLIPSIS = "…"


def clip(value: object, limit: int = FIELD_CHARS) -> str:
    """``value`` as text of at most ``limit`` characters (cut ones end with an ellipsis)."""
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS
