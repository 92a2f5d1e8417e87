"""What a user may see of the incidents: the four roles' rules as SQL (pure; no database).

A :class:`Scope` is built from the logged-in user (``dashboard/auth``) and handed to every
query through the gateway (:func:`dashboard.queries.gateway.scope`). It offers two conditions,
and every statement that reads ``incident`` or a table derived from it (``incident_rollup``,
the hotspot tables, ``section_impact_suggestion``: ``gateway.SCOPED_TABLES``) must contain one
of them (the gateway refuses a statement that contains neither, so no query can forget the
scope):

``scope.detail``
    The incidents this user may see one by one (id, coordinates, description, feed entry,
    detail panel, export). ``true`` for admins and regional analysts; for a national officer,
    incidents reported by their own country, those shared ``regional``, and those shared
    ``bilateral`` by a country that shares a border with theirs; ``false`` for forum viewers.
``scope.everything``
    Every incident, *for aggregates only*: counts by area or time whose positions are the
    aggregate's own (a grid or H3 cell), never the mean or the box of the incidents in it.

An incident without ``sharing`` is treated as ``national``, and one without
``reporting_country`` as reported by nobody the officer's country knows: both only as
aggregates for a national officer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Boolean, ColumnElement, and_, bindparam, func, not_, or_

from etl.warehouse.schema import ROLES, incident

#: Prefix of the marker parameters the gateway looks for in every incident statement.
MARKER = "bw_scope_"

#: What each role may do besides reading (``Scope.can``).
#: ``hotspots.recompute``: run ``borderwatch analyse hotspots`` from the map (a job that writes
#: the warehouse): administrators and regional analysts, whose analysis it is.
CAPABILITIES: dict[str, frozenset[str]] = {
    "admin": frozenset({"incidents.detail", "incidents.export", "audit.read", "users.manage",
                        "hotspots.recompute"}),
    "regional_analyst": frozenset({"incidents.detail", "incidents.export", "hotspots.recompute"}),
    "national_officer": frozenset({"incidents.detail", "incidents.export"}),
    "forum_viewer": frozenset(),
}

#: How the briefing and the pages name what a role sees.
SHARING_LEVELS = {
    "admin": "all incidents of all countries (administrator)",
    "regional_analyst": "all incidents of all countries (regional analyst)",
    "national_officer": "incidents of {country} and those shared with it; the rest as aggregates",
    "forum_viewer": "aggregates only (forum)",
}


def _marker(name: str, value: bool) -> ColumnElement[bool]:
    """A boolean parameter the gateway recognises (``$n`` = true/false; folded by the planner)."""
    return bindparam(MARKER + name, value, type_=Boolean, unique=True)


@dataclass(frozen=True)
class Scope:
    """The incidents one user may see, and what else they may do.

    Attributes
    ----------
    role
        One of ``ROLES``.
    user
        The user name (for the audit log and messages).
    country
        A national officer's country (ISO alpha-2).
    neighbours
        Countries sharing a border line with ``country`` (the ``bilateral`` rule).
    """

    role: str
    user: str = ""
    country: str | None = None
    neighbours: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")
        if self.role == "national_officer" and not self.country:
            raise ValueError("a national officer's scope needs a country")

    @classmethod
    def full(cls, user: str = "system") -> Scope:
        """Everything (for commands and jobs run by an operator, and for tests)."""
        return cls(role="admin", user=user)

    @property
    def restricted(self) -> bool:
        """Some incidents are hidden from this user's detail (national officer, forum viewer)."""
        return self.role in ("national_officer", "forum_viewer")

    @property
    def sees_single_incidents(self) -> bool:
        """Whether any incident may be shown one by one (not for a forum viewer)."""
        return self.role != "forum_viewer"

    def can(self, capability: str) -> bool:
        """Whether this role may do ``capability`` (``incidents.export``, ``audit.read``, ...)."""
        return capability in CAPABILITIES[self.role]

    @property
    def detail(self) -> ColumnElement[bool]:
        """SQL: the incidents this user may see one by one (see the module docstring)."""
        if self.role in ("admin", "regional_analyst"):
            return _marker("detail", True)
        if self.role == "forum_viewer":
            return _marker("detail", False)
        return and_(_marker("detail", True), self._shared())

    @property
    def hidden(self) -> ColumnElement[bool]:
        """SQL: the incidents this user may *not* see one by one (only in aggregates)."""
        if self.role in ("admin", "regional_analyst"):
            return _marker("hidden", False)
        if self.role == "forum_viewer":
            return _marker("hidden", True)
        return and_(_marker("hidden", True), not_(self._shared()))

    def _shared(self) -> ColumnElement[bool]:
        """A national officer's rule, never NULL (so that its negation is exact)."""
        rc, sharing = incident.c.reporting_country, incident.c.sharing
        terms = [rc.is_not_distinct_from(self.country), sharing.is_not_distinct_from("regional")]
        if self.neighbours:
            terms.append(and_(sharing.is_not_distinct_from("bilateral"),
                              func.coalesce(rc, "").in_(self.neighbours)))
        return or_(*terms)

    @property
    def everything(self) -> ColumnElement[bool]:
        """SQL marker: every incident, for an aggregate that reveals no single one."""
        return _marker("everything", True)

    @property
    def sharing_level(self) -> str:
        """What this user sees, in words (the briefing's footer, the page header)."""
        return SHARING_LEVELS[self.role].format(country=self.country or "")
