"""Hostile requests for the dashboard server, built from the app itself (its callback map and
its routes), so callbacks and routes added later are covered without touching the tests.

- :func:`callback_request` builds a ``/_dash-update-component`` body the way the Dash renderer
  does for one callback, with each input's value from a strategy;
- :func:`valid_values` draws values from the JSON schema of a declared input type, and
  :data:`json_values` draws anything JSON can carry (huge numbers, NaN, long text, deep lists);
- :func:`send` runs one request in a thread with a time limit (a hang fails the test instead of
  hanging it) and returns the status, the body and the log records it caused.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dash._utils import stringify_id
from hypothesis import strategies as st
from pydantic import TypeAdapter

from dashboard.guard import CallbackCheck, Dependency
from dashboard.inputs import CrossingState

#: Anything JSON (as Python's parser reads it, NaN and Infinity included) may carry.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats() | st.just(1e308) | st.just(2**63) | st.text(max_size=30)
    | st.just("x" * 10_000) | st.just("9999-12-31"),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)

LINK_KEYS = ["from", "to", "cat", "sub", "country", "pair", "lat", "lon", "z", "layers", "live", "sel",
             "code", "period", "x", "side", "flow", "wait", "r", "near"]
LINK_VALUES = st.sampled_from([
    "9999-12-31", "0001-01-01", "2024-02-30", "2024-05-01", "nope", "crisis,bogus", "RS,hr,x1",
    "HR-RS", "1e308", "-1", "nan", "inf", "99", "5", "44.8", "sections,nope", "1", "²", "x" * 3000,
    "<script>alert(1)</script>", "%00", "😀", "RS", "trucks", "section", "0.4", "100",
]) | st.text(max_size=20)
#: Crossing pages: a BCP of the test warehouse (``tests/dashboard/seed.py``), codes that are none.
CROSSING_PATHS = st.sampled_from(["/bcp/RS-HR-BATROVCI", "/bcp/rs-hr-batrovci", "/bcp/BA-RS-RACA",
                                  "/bcp/NO-SUCH", "/bcp/", "/bcp/%00", "/bcp/" + "x" * 300])
#: The page router's inputs: paths and links with the parameters pages read.
ROUTER = {
    ("_pages_location", "pathname"): st.sampled_from(["/", "/not-found", "/nope", "//x", "/a/b/c"])
    | CROSSING_PATHS | st.text(max_size=40).map(lambda t: "/" + t),
    ("_pages_location", "search"): st.lists(st.tuples(st.sampled_from(LINK_KEYS), LINK_VALUES), max_size=6)
    .map(lambda kv: "?" + "&".join(f"{k}={v}" for k, v in kv)),
}


def schema_values(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of the subset of JSON Schema that pydantic writes for the input types."""
    if "$ref" in schema:
        return st.deferred(lambda: schema_values(defs[schema["$ref"].split("/")[-1]], defs))
    if "anyOf" in schema:
        return st.one_of([schema_values(s, defs) for s in schema["anyOf"]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "string":
        most = schema.get("maxLength", 40)
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: len(s) <= most)
        return st.text(max_size=min(most, 40)) | st.just("x" * most)
    if kind == "array":
        if "prefixItems" in schema:
            return st.tuples(*[schema_values(s, defs) for s in schema["prefixItems"]]).map(list)
        items = schema_values(schema.get("items", {}), defs)
        low = schema.get("minItems", 0)
        return st.lists(items, min_size=low, max_size=max(low, min(schema.get("maxItems", 4), 4)))
    if kind == "object":
        props = {k: schema_values(v, defs) for k, v in schema.get("properties", {}).items()}
        required = set(schema.get("required", []))
        fixed = st.fixed_dictionaries({k: v for k, v in props.items() if k in required},
                                      optional={k: v for k, v in props.items() if k not in required})
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            return st.dictionaries(st.text(max_size=12), schema_values(extra, defs), max_size=3)
        return fixed
    return json_values


def valid_values(declared: Any) -> st.SearchStrategy[Any]:
    """Values of a declared input type (from its JSON schema; custom checks may still refuse)."""
    schema = TypeAdapter(declared).json_schema()
    return schema_values(schema, schema.get("$defs", {}))


def _crossing_state() -> st.SearchStrategy[dict[str, Any]]:
    """The crossing page's view store with a BCP of the test warehouse and real days (values
    drawn from the declared type alone would almost never be a day, nor a BCP)."""
    day = st.dates(date(2023, 1, 1), date(2026, 12, 31)).map(date.isoformat)
    return st.builds(lambda state, code, first, last: {**state, "code": code, "from": first, "to": last},
                     valid_values(CrossingState),
                     st.sampled_from(["RS-HR-BATROVCI", "BA-RS-RACA", "NO-SUCH"]), day, day)


#: The crossing page's view store (``bcp-state.data``): fed to every callback of the page.
ROUTER[("bcp-state", "data")] = _crossing_state()


def _concrete(dep: Dependency, index: int) -> Any:
    if isinstance(dep.id, str):
        return dep.id
    return {k: (index if isinstance(v, list) else v) for k, v in dep.id.items()}


def _entry(dep: Dependency, value: Any, index: int = 0) -> dict[str, Any]:
    return {"id": _concrete(dep, index), "property": dep.prop, "value": value}


def _entries(dep: Dependency, value: Any) -> Any:
    if not dep.many:
        return _entry(dep, value)
    return [_entry(dep, v, i) for i, v in enumerate(value if isinstance(value, list) else [value])]


def callback_request(output: str, check: CallbackCheck, values: list[Any], changed: list[int]) -> dict:
    """The body the renderer sends for the callback of ``output`` with these input/state values;
    ``changed`` are the positions of the inputs that triggered it."""
    outs = [{"id": _concrete(d, 0), "property": d.prop} for d in check.outputs]
    deps = [*check.inputs, *check.state]
    sent = [_entries(d, v) for d, v in zip(deps, values, strict=True)]
    fired = []
    for i in changed:
        for e in sent[i] if isinstance(sent[i], list) else [sent[i]]:
            fired.append(f"{stringify_id(e['id'])}.{e['property']}")
    return {
        "output": output,
        "outputs": outs if check.multi else outs[0],
        "inputs": sent[: len(check.inputs)],
        "state": sent[len(check.inputs):],
        "changedPropIds": fired,
    }


@dataclass
class Answer:
    """What one request produced."""

    status: int
    body: bytes
    seconds: float
    records: list[logging.LogRecord] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def send(client: Any, limit_s: float, method: str, path: str, **kwargs: Any) -> Answer:
    """One request through the Flask test client, in a thread; fails if it takes over ``limit_s``."""
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["response"] = client.open(path, method=method, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            result["error"] = exc

    start = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(limit_s)
    seconds = time.monotonic() - start
    root.removeHandler(handler)
    assert not worker.is_alive(), f"{method} {path[:80]} still running after {limit_s} s"
    if "error" in result:
        raise result["error"]
    response = result["response"]
    return Answer(response.status_code, response.get_data(), seconds, handler.records)
