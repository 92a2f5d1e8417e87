"""Call every Dash callback and every data URL of the app directly, the way a browser (or an
attacker) would, without the layout: for tests that must cover pages added later too.

- :func:`server_callbacks`: every callback the server runs (from ``/_dash-dependencies``);
- :func:`page_values`: the component properties of each page's layout as the client gets it
  (through Dash Pages' own callback), so callbacks are called with the values they would get;
- :func:`call`: one callback, as Dash's renderer posts it;
- :func:`data_urls`: every URL rule of the Flask server that is neither public nor a page, with
  its variables filled from a small bank of plausible values.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import dash
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from dashboard.auth.gate import is_public

#: Values for route variables and for map inputs no layout sets (the browser's map does).
URL_VARIABLES = {"code": "RS-HR-BATROVCI", "bcp": "RS-HR-BATROVCI", "country": "RS", "pair": "HR-RS",
                 "iso2": "RS", "section_id": "HR-RS-01", "section": "HR-RS-01", "round": "2010"}
MAP_DEFAULTS = {"bounds": [[40.0, 12.0], [48.5, 24.0]], "zoom": 7, "center": [44.5, 18.0]}


def server_callbacks(client: FlaskClient) -> list[dict[str, Any]]:
    """Every callback the server runs (clientside ones excluded), as ``/_dash-dependencies`` lists them."""
    answer = client.get("/_dash-dependencies")
    assert answer.status_code == 200, answer.status_code
    return [d for d in answer.get_json() if not d.get("clientside_function")]


def pages_callback(deps: list[dict[str, Any]]) -> dict[str, Any]:
    """Dash Pages' own callback (``_pages_location.pathname`` -> the page's layout)."""
    return next(d for d in deps if "_pages_content.children" in d["output"])


def page_paths() -> list[str]:
    """The path of every registered page, route variables filled from ``URL_VARIABLES``."""
    paths = []
    for page in dash.page_registry.values():
        template = page.get("path_template")
        path = page["path"]
        if template:
            path = template
            for key, value in URL_VARIABLES.items():
                path = path.replace(f"<{key}>", value)
        paths.append(path)
    return paths


def _outputs(dep: dict[str, Any]) -> Any:
    parts = []
    for part in dep["output"].strip(".").split("..."):
        cid, prop = part.rsplit(".", 1)
        parts.append({"id": cid, "property": prop.split("@")[0]})
    return parts if dep["output"].startswith("..") else parts[0]


def _key(spec: dict[str, Any]) -> str:
    return f"{spec['id']}.{spec['property']}"


def _filled(specs: list[dict[str, Any]], values: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for spec in specs:
        if spec["id"].startswith("{"):  # pattern-matching (ALL): no such components in this call
            out.append([])
            continue
        value = values.get(_key(spec))
        if value is None and spec["property"] in MAP_DEFAULTS:
            value = MAP_DEFAULTS[spec["property"]]
        out.append({"id": spec["id"], "property": spec["property"], "value": value})
    return out


def call(client: FlaskClient, dep: dict[str, Any], values: dict[str, Any]) -> TestResponse:
    """POST one callback with ``values`` (``"id.property" -> value``; map defaults otherwise),
    every input marked as changed."""
    inputs = _filled(dep["inputs"], values)
    payload = {
        "output": dep["output"],
        "outputs": _outputs(dep),
        "inputs": inputs,
        "state": _filled(dep.get("state", []), values),
        "changedPropIds": [_key(i) for i in dep["inputs"] if not i["id"].startswith("{")],
    }
    return client.post("/_dash-update-component", json=payload)


def component_values(tree: Any) -> dict[str, Any]:
    """``"id.property" -> value`` of every component with a plain id in a layout (as JSON)."""
    found: dict[str, Any] = {}

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for n in node:
                walk(n)
        elif isinstance(node, dict):
            props = node.get("props") if "namespace" in node else None
            if isinstance(props, dict):
                cid = props.get("id")
                for prop, value in props.items():
                    if isinstance(cid, str) and prop not in ("id", "children"):
                        found[f"{cid}.{prop}"] = value
                    walk(value)
            else:
                for value in node.values():
                    walk(value)

    walk(tree)
    return found


def page_values(client: FlaskClient, deps: list[dict[str, Any]], path: str) -> tuple[TestResponse, dict]:
    """The layout of the page at ``path`` through Dash Pages' callback, and its component values."""
    answer = call(client, pages_callback(deps), {"_pages_location.pathname": path,
                                                 "_pages_location.search": ""})
    body = answer.get_json(silent=True) or {}
    return answer, component_values(body.get("response", {}))


def data_urls(server: Flask) -> Iterator[str]:
    """Every GET URL of ``server`` that is neither public nor a page (variables filled in)."""
    for rule in server.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or is_public(rule.endpoint):
            continue
        if rule.endpoint in ("/", "/<path:path>"):
            continue
        url = rule.rule
        for arg in rule.arguments:
            value = URL_VARIABLES.get(arg, "x")
            url = url.replace(f"<{arg}>", value)
            for conv in ("string", "path", "int", "float", "any"):
                url = url.replace(f"<{conv}:{arg}>", "1" if conv in ("int", "float") else value)
        yield url


def response_json(answer: TestResponse) -> Any:
    """The body as JSON, or as text when it is not JSON."""
    text = answer.get_data(as_text=True)
    try:
        return json.loads(text)
    except ValueError:
        return text
