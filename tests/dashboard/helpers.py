"""Helpers for testing Dash component trees without a server."""

from __future__ import annotations

from typing import Any

from dash.development.base_component import Component


def text_of(node: Any) -> str:
    """All text in a component tree, words separated by single spaces."""
    return " ".join(_text(node).split())


def _text(node: Any) -> str:
    if node is None:
        return ""
    if isinstance(node, str | int | float):
        return str(node)
    if isinstance(node, list | tuple):
        return " ".join(_text(n) for n in node)
    if isinstance(node, Component):
        return _text(getattr(node, "children", None))
    return ""


def find_all(node: Any, predicate: Any) -> list[Component]:
    """Every component in the tree for which ``predicate(component)`` is true."""
    found: list[Component] = []
    if isinstance(node, list | tuple):
        for n in node:
            found += find_all(n, predicate)
    elif isinstance(node, Component):
        if predicate(node):
            found.append(node)
        found += find_all(getattr(node, "children", None), predicate)
    return found
