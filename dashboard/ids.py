"""Page-prefixed component ids, so ids of different pages never collide."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageIds:
    """Builds the ids of one page: ``PageIds("situation")("map") == "situation-map"``.

    Parameters
    ----------
    page
        Short page name used as the prefix.
    """

    page: str

    def __call__(self, name: str) -> str:
        """The id of the component ``name`` on this page."""
        return f"{self.page}-{name}"

    def match(self, name: str, index: str | int) -> dict[str, str | int]:
        """A pattern-matching id (``{"type": ..., "index": ...}``) for repeated components."""
        return {"type": self(name), "index": index}
