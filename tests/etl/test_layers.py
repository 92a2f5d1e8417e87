"""The parts of ``etl`` import each other one way: lower parts never import higher ones.

Every import in every module of ``etl`` is read from its source (also imports inside a
function), so a lazy import cannot hide a cycle either.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ETL = Path(__file__).resolve().parents[2] / "etl"

#: The parts of etl from the lowest to the highest. A part may import itself and the parts
#: before it. A new part (a module or package directly under etl/) must be placed here.
LAYERS = [
    "errors",       # the error hierarchy
    "settings",     # the one Settings class
    "pgcopy",       # binary COPY encoding (pure)
    "memory",       # how a load allocates (Arrow's pool, glibc's mmap threshold)
    "report",       # LoadReport, Reason, Reject: what a job did
    "warehouse",    # schema, engine, migrations, and every ETL statement
    "runs",         # the recorded-job lifecycle
    "validate",     # specs and the validator (pure)
    "reader",       # CSV / GeoJSON / GeoPackage in chunks
    "enrich",       # country, section, BCP, H3 of points (pure)
    "derive",       # derived reference tables (patrol areas)
    "analytics",    # computations on the warehouse (rollup, ...)
    "stores",       # where accepted rows go (fact tables)
    "upsert_store",  # where accepted rows of small reference tables go
    "pipeline",     # read, validate, enrich, store inside a run
    "sources",      # the input kinds and their registry
    "load",         # the runner
    "maintenance",  # delete, rollup jobs
    "demo",         # the synthetic demo data
    "cli",          # the commands
]


def _part(module: str) -> str | None:
    """``etl.validate.spec`` -> ``validate``; None outside etl."""
    bits = module.split(".")
    if bits[0] != "etl":
        return None
    return bits[1] if len(bits) > 1 else "__init__"


def _module_of(path: Path) -> str:
    rel = path.relative_to(ETL.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, package: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in the file (of ``package``: default, where
    the file lies)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if package is None:
        module = _module_of(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append((node.lineno, module))
            # ``from etl import enrich`` imports the part ``enrich``
            out += [(node.lineno, f"{module}.{a.name}") for a in node.names if module == "etl"]
    return out


SOURCES = sorted(p for p in ETL.rglob("*.py") if "migrations" not in p.parts)


def test_every_part_has_a_layer() -> None:
    parts = {_part(_module_of(p)) for p in SOURCES} - {"__init__"}
    assert parts <= set(LAYERS), f"place these parts of etl in LAYERS: {parts - set(LAYERS)}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ETL.parent)))
def test_lower_parts_never_import_higher_ones(path: Path) -> None:
    own = _part(_module_of(path))
    if own == "__init__":
        return
    rank = LAYERS.index(own)  # type: ignore[arg-type]
    wrong = []
    for line, module in _imports(path):
        target = _part(module)
        if target is None or target == "__init__" or target == own:
            continue
        if target not in LAYERS or LAYERS.index(target) > rank:
            wrong.append(f"line {line}: imports {module} ({target} is above {own})")
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_lazy_upward_import(tmp_path: Path) -> None:
    """The checker itself: an import inside a function counts."""
    probe = tmp_path / "probe.py"
    probe.write_text("from . import spec\n\ndef f():\n    from etl.load import load_file\n"
                     "    return load_file\n")
    found = [m for _, m in _imports(probe, package="etl.validate")]
    assert found == ["etl.validate", "etl.load"] and _part("etl.load") == "load"
    assert LAYERS.index("load") > LAYERS.index("validate")
