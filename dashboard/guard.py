"""The door of the dashboard server: every request is checked before any work.

- **Dash callbacks** (``POST /_dash-update-component``): the body must be the JSON object the
  Dash renderer sends for a callback of this app (known output, the callback's own inputs and
  state, changed properties among them), and every value must match the type the callback
  declares in its signature (:mod:`dashboard.inputs`, checked strictly as JSON). Callbacks are
  read from the app's callback map, so a callback added later is checked the same way.
- **Data routes**: a view decorated with :func:`query_args` receives its query parameters parsed
  and checked; an unknown or repeated parameter is refused.
- **Every request**: a body over ``MAX_BODY_BYTES`` (413), a query string over
  ``MAX_QUERY_BYTES`` or a path over ``MAX_PATH_CHARS`` (414).

Each refusal is a :class:`~dashboard.errors.ClientError`: a 4xx answer in the one error shape and
one log line, never a traceback.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import threading
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import flask
from dash import Dash
from dash._utils import stringify_id
from pydantic import TypeAdapter, ValidationError
from werkzeug.exceptions import BadRequest

from dashboard import inputs
from dashboard.errors import ClientError

log = logging.getLogger(__name__)

#: Largest request body (a callback request is a few kilobytes).
MAX_BODY_BYTES = 1024 * 1024
#: Longest query string and path of a request.
MAX_QUERY_BYTES = 4096
MAX_PATH_CHARS = 2048
#: Deepest nesting of a callback request body (the envelope itself takes four levels).
MAX_JSON_DEPTH = 32
_WILDCARDS = {"ALL", "MATCH", "ALLSMALLER"}

#: Types of the inputs of Dash's own callbacks, whose signatures we do not write.
DASH_INTERNAL: dict[tuple[str, str], Any] = {
    # The router fires only once the location set its props (prevent_initial_call): a browser
    # always sends a path. A null path broke Dash's path-template matching (a 500 once a page
    # had a template, /bcp/<code>).
    ("_pages_location", "pathname"): inputs.Pathname,
    ("_pages_location", "search"): inputs.Search | None,
}


@dataclass(frozen=True)
class Dependency:
    """One input, state or output of a callback: a component id (a dict for pattern-matching
    ids, with ``["ALL"]``-style wildcards) and a property."""

    id: str | dict[str, Any]
    prop: str

    @classmethod
    def parse(cls, spec: dict[str, Any] | str) -> Dependency:
        """From a callback map entry (``{"id", "property"}``) or an output string (``id.prop``)."""
        if isinstance(spec, str):
            ident, prop = spec.rsplit(".", 1)
            spec = {"id": ident, "property": prop}
        ident = spec["id"]
        return cls(json.loads(ident) if ident.startswith("{") else ident, spec["property"].split("@")[0])

    @property
    def name(self) -> str:
        """``component.property`` as messages name it."""
        ident = self.id if isinstance(self.id, str) else str(self.id.get("type", "pattern"))
        return f"{ident}.{self.prop}"

    @property
    def many(self) -> bool:
        """Whether the body carries a list of entries (an ``ALL`` / ``ALLSMALLER`` pattern)."""
        return isinstance(self.id, dict) and any(
            v in (["ALL"], ["ALLSMALLER"]) for v in self.id.values())

    def matches(self, ident: Any) -> bool:
        """Whether a concrete id sent by the browser is this dependency's id."""
        if isinstance(self.id, str):
            return ident == self.id
        if not isinstance(ident, dict) or set(ident) != set(self.id):
            return False
        for key, want in self.id.items():
            got = ident[key]
            if isinstance(want, list) and want and want[0] in _WILDCARDS:
                if not (isinstance(got, str) and len(got) <= 200 or isinstance(got, int | float)):
                    return False
            elif got != want:
                return False
        return True


@dataclass(frozen=True)
class CallbackCheck:
    """What a request for one callback must look like."""

    outputs: tuple[Dependency, ...]
    multi: bool
    inputs: tuple[Dependency, ...]
    state: tuple[Dependency, ...]
    #: The declared type of each input, then each state (None: not declared).
    types: tuple[TypeAdapter[Any] | None, ...]
    on_server: bool


def declared_types(entry: dict[str, Any]) -> list[Any]:
    """The declared type of each input and state of a callback map entry (None: none).

    Read from the signature of the callback function (parameters in the order of the inputs,
    then the states; by name for callbacks declared with a dict of inputs), or, for Dash's own
    callbacks, from ``DASH_INTERNAL``.
    """
    deps = [Dependency.parse(d) for d in [*entry.get("inputs", []), *entry.get("state", [])]]
    found: list[Any] = [DASH_INTERNAL.get((str(d.id), d.prop)) for d in deps]
    func = getattr(entry.get("callback"), "__wrapped__", None)
    if func is None:
        return found
    hints = typing.get_type_hints(func, include_extras=True)
    params = [p.name for p in inspect.signature(func).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    indices = entry.get("inputs_state_indices")
    if isinstance(indices, int):
        indices = [indices]
    if isinstance(indices, list) and indices == list(range(len(deps))):
        names = params[: len(deps)]
    elif isinstance(indices, dict) and sorted(indices.values()) == list(range(len(deps))):
        names = [name for name, _ in sorted(indices.items(), key=lambda kv: kv[1])]
    else:
        return found
    for i, name in enumerate(names):
        hint = hints.get(name)
        if hint is not None and hint is not Any:
            found[i] = hint
    return found


def callback_checks(app: Dash) -> dict[str, CallbackCheck]:
    """A check for every callback of ``app`` (its callback map), by output key."""
    checks: dict[str, CallbackCheck] = {}
    for output, entry in app.callback_map.items():
        multi = output.startswith("..")
        parts = output[2:-2].split("...") if multi else [output]
        types = tuple(TypeAdapter(t) if t is not None else None for t in declared_types(entry))
        checks[output] = CallbackCheck(
            outputs=tuple(Dependency.parse(p) for p in parts),
            multi=multi,
            inputs=tuple(Dependency.parse(d) for d in entry.get("inputs", [])),
            state=tuple(Dependency.parse(d) for d in entry.get("state", [])),
            types=types,
            on_server="callback" in entry,
        )
    return checks


def _refuse(message: str, detail: str, status: int = 400) -> ClientError:
    return ClientError(message, detail=detail, status=status)


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a JSON value, stopping once it passes ``limit``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def _entries(dep: Dependency, got: Any, where: str) -> list[dict[str, Any]]:
    """The body's entries for ``dep`` (one, or a list for ALL patterns), checked."""
    items = got if dep.many else [got]
    if not isinstance(items, list) or len(items) > inputs.MAX_ITEMS:
        raise _refuse("Malformed callback request.", f"{where}: {dep.name} is not a list")
    for item in items:
        if (not isinstance(item, dict) or set(item) - {"id", "property", "value"}
                or not dep.matches(item.get("id"))
                or str(item.get("property", "")).split("@")[0] != dep.prop):
            raise _refuse("Malformed callback request.", f"{where}: expected {dep.name}")
    return items


def _list(body: dict[str, Any], key: str, length: int | None) -> list[Any]:
    value = body.get(key, [])
    if not isinstance(value, list) or (length is not None and len(value) != length):
        raise _refuse("Malformed callback request.", f"'{key}' does not fit the callback")
    return value


def check_callback_body(checks: dict[str, CallbackCheck], body: Any) -> None:
    """Refuse a ``/_dash-update-component`` body unless it fits one of ``checks``.

    Raises
    ------
    ClientError
        400: not an object, unknown output, a callback without server function, inputs or
        state that are not the callback's, or a value outside its declared type.
    """
    if not isinstance(body, dict):
        raise _refuse("Malformed callback request.", f"body is {type(body).__name__}, not an object")
    if _depth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise _refuse("Malformed callback request.", f"body nested deeper than {MAX_JSON_DEPTH}")
    output = body.get("output")
    check = checks.get(output) if isinstance(output, str) else None
    if check is None or not check.on_server:
        raise _refuse("Unknown callback.", f"no server callback for output {str(output)[:120]!r}")
    outputs = _list(body, "outputs", len(check.outputs)) if check.multi else [body.get("outputs")]
    for dep, got in zip(check.outputs, outputs, strict=True):
        _entries(dep, got, "outputs")
    sent = [*_list(body, "inputs", len(check.inputs)), *_list(body, "state", len(check.state))]
    known: set[str] = set()
    for i, (dep, got, adapter) in enumerate(
        zip((*check.inputs, *check.state), sent, check.types, strict=True)
    ):
        items = _entries(dep, got, "inputs" if i < len(check.inputs) else "state")
        if i < len(check.inputs):
            known.update(f"{stringify_id(e['id'])}.{e['property']}" for e in items)
        if adapter is not None:
            value = [e.get("value") for e in items] if dep.many else items[0].get("value")
            try:
                adapter.validate_json(json.dumps(value), strict=True)
            except (ValidationError, ValueError) as exc:
                first = exc.errors()[0] if isinstance(exc, ValidationError) else {"msg": str(exc)}
                where = ".".join(str(p) for p in first.get("loc", ()))
                raise _refuse(f"Invalid value for '{dep.name}'.",
                              f"{dep.name}{'.' + where if where else ''}: {first['msg']}") from None
    changed = _list(body, "changedPropIds", None)
    if any(not isinstance(c, str) or c not in known for c in changed):
        raise _refuse("Malformed callback request.", "changedPropIds names an unknown input")


def _json_body() -> Any:
    try:
        return flask.request.get_json()
    except RecursionError:
        raise _refuse("Malformed callback request.", "JSON nested too deep") from None
    except BadRequest as exc:
        if exc.code == 415:
            raise
        raise _refuse("Malformed callback request.", "body is not JSON") from None


_BUILT = "borderwatch.callback_checks"
_LOCK = threading.Lock()


def prepare(app: Dash) -> dict[str, CallbackCheck]:
    """The callback checks of ``app``, built on first use (about 0.3 s: type adapters for every
    input) and kept on its server. ``ready_for_workers`` builds them before any request."""
    with _LOCK:
        built = app.server.extensions.get(_BUILT)
        if built is None:
            # The callback map is complete once Dash's first-request setup ran (before us).
            built = app.server.extensions[_BUILT] = callback_checks(app)
        return built  # type: ignore[no-any-return]


def install_limits(server: flask.Flask) -> None:
    """Refuse requests too large to read (413) or with links too long (414), before anything
    else looks at them (the login gate included: a 6 kB link is a 414, not a login redirect)."""
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    @server.before_request
    def _limits() -> None:
        request = flask.request
        if len(request.query_string) > MAX_QUERY_BYTES or len(request.path) > MAX_PATH_CHARS:
            raise _refuse("URI Too Long.", f"{len(request.query_string)} bytes of query", 414)


def install(app: Dash) -> None:
    """Check every callback request of ``app``'s server against the callback's declared types
    (see the module docstring). ``create_app`` installs it after the login gate, so a caller
    who is not logged in learns nothing about the callbacks' types; :func:`install_limits`
    comes first of all."""
    dispatch = app.config.routes_pathname_prefix + "_dash-update-component"

    @app.server.before_request
    def _door() -> None:
        request = flask.request
        if request.endpoint == dispatch and request.method == "POST":
            check_callback_body(prepare(app), _json_body())


# -- query parameters of data routes --------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One query parameter: how to read it, its value when absent, and what it accepts."""

    parse: Callable[[str], Any]
    default: Any
    help: str


def query_args(**params: Param) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a Flask view: its query parameters are read and checked before it runs, and
    passed to it as keyword arguments. Unknown or repeated parameters are refused (400), as is
    a value ``Param.parse`` refuses. ``view.query_params`` lists them (for tests and docs)."""

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            given = flask.request.args
            unknown = [k for k in given if k not in params]
            if unknown:
                raise _refuse(f"Unknown parameter '{unknown[0][:40]}'.", f"unknown {unknown[:5]}")
            for name, param in params.items():
                values = given.getlist(name)
                if len(values) > 1:
                    raise _refuse(f"Parameter '{name}' is given more than once.", name)
                try:
                    kwargs[name] = param.parse(values[0]) if values else param.default
                except ValueError as exc:
                    raise _refuse(f"Invalid value for '{name}'.", f"{name}: {exc}") from None
            return view(*args, **kwargs)

        checked.query_params = params  # type: ignore[attr-defined]
        return checked

    return wrap
