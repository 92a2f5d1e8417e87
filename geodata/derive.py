"""Derive borderwatch's reference geodata from Natural Earth (via the npm package world-atlas).

Run from the repository root::

    .venv/bin/python geodata/derive.py                 # fetches world-atlas with `npm pack`
    .venv/bin/python geodata/derive.py --tarball FILE  # or uses a world-atlas .tgz already here

What it writes (all EPSG:4326, coordinates rounded to 6 decimals):

- ``countries.geojson``: the eight target administrations and every country sharing a land
  border with one of them, decoded from the TopoJSON ``countries-10m.json``.
- ``border_lines.geojson``: per neighbour pair with a target administration, the arcs that
  belong to exactly those two countries, merged with ``shapely.line_merge``.
- ``border_sections.geojson``: each merged part of a border line cut into equal pieces of at
  most 50 km, numbered from the part's west end (see ``_orient``).
- ``bcps.csv``: the hand-written ``sources/bcps_source.csv`` checked against the border line
  of each crossing's pair; kept, snapped onto the line, or dropped (see ``_place_bcp``).
- the generated block of ``MANIFEST.md`` (versions, checksums, counts, dropped crossings).

Lengths and distances are geodesic on the WGS84 ellipsoid (``pyproj.Geod``).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
import math
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from pyproj import CRS, Geod, Transformer
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon, mapping
from shapely.ops import nearest_points

HERE = Path(__file__).resolve().parent
WORLD_ATLAS = "world-atlas@2.0.2"
TOPOLOGY_MEMBER = "package/countries-10m.json"
SECTION_MAX_KM = 50.0
BCP_KEEP_KM = 1.5  # an estimate this close to its border line is kept as it is
BCP_SNAP_KM = 10.0  # farther than this: probably the wrong place, dropped
BCP_LOW_KM = 5.0  # snapped from farther than this: where along the border is uncertain
DECIMALS = 6
GEOD = Geod(ellps="WGS84")

KOSOVO_FOOTNOTE = (
    "This designation is without prejudice to positions on status, and is in line with "
    "UNSCR 1244/1999 and the ICJ Opinion on the Kosovo declaration of independence."
)

#: iso2 -> (iso3, ISO 3166 numeric id used by world-atlas, display name)
COUNTRIES: dict[str, tuple[str, str | None, str]] = {
    "AL": ("ALB", "008", "Albania"),
    "BA": ("BIH", "070", "Bosnia and Herzegovina"),
    "HR": ("HRV", "191", "Croatia"),
    "XK": ("XKX", None, "Kosovo*"),
    "MK": ("MKD", "807", "North Macedonia"),
    "ME": ("MNE", "499", "Montenegro"),
    "RS": ("SRB", "688", "Serbia"),
    "TR": ("TUR", "792", "Türkiye"),
    "SI": ("SVN", "705", "Slovenia"),
    "HU": ("HUN", "348", "Hungary"),
    "RO": ("ROU", "642", "Romania"),
    "BG": ("BGR", "100", "Bulgaria"),
    "GR": ("GRC", "300", "Greece"),
    "GE": ("GEO", "268", "Georgia"),
    "AM": ("ARM", "051", "Armenia"),
    "AZ": ("AZE", "031", "Azerbaijan"),
    "IR": ("IRN", "364", "Iran"),
    "IQ": ("IRQ", "368", "Iraq"),
    "SY": ("SYR", "760", "Syria"),
}
TARGETS = ("AL", "BA", "HR", "XK", "MK", "ME", "RS", "TR")
KOSOVO_TOPO_NAME = "Kosovo"  # world-atlas has no numeric id for Kosovo: matched by name

BCP_SOURCE_COLUMNS = [
    "code", "name_a", "name_b", "country_a", "country_b", "mode", "e_road",
    "joint_control", "one_stop", "lat", "lon", "coord_confidence", "notes",
]


# --------------------------------------------------------------------------- fetching


@dataclass(frozen=True)
class Source:
    """The world-atlas tarball the data came from."""

    spec: str
    version: str
    tarball_sha256: str
    topology_sha256: str
    topology: dict[str, Any]


def fetch_world_atlas(spec: str, tarball: Path | None) -> Source:
    """Read ``countries-10m.json`` from a world-atlas tarball (``npm pack`` if none given)."""
    with tempfile.TemporaryDirectory() as tmp:
        if tarball is None:
            out = subprocess.run(
                ["npm", "pack", spec, "--json", "--pack-destination", tmp],
                check=True, capture_output=True, text=True,
            )
            info = json.loads(out.stdout)[0]
            tarball = Path(tmp) / info["filename"]
        data = tarball.read_bytes()
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            package = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
            raw = tar.extractfile(TOPOLOGY_MEMBER).read()  # type: ignore[union-attr]
    return Source(
        spec=spec,
        version=package["version"],
        tarball_sha256=hashlib.sha256(data).hexdigest(),
        topology_sha256=hashlib.sha256(raw).hexdigest(),
        topology=json.loads(raw),
    )


# --------------------------------------------------------------------------- TopoJSON


def decode_arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """Absolute lon/lat coordinates of every arc (delta-decoded, then scale/translate)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((round(x * sx + tx, DECIMALS), round(y * sy + ty, DECIMALS)))
        arcs.append(points)
    return arcs


def _arc_index(ref: int) -> int:
    """TopoJSON arc reference -> arc index (a negative ref ~i is arc i reversed)."""
    return ref if ref >= 0 else ~ref


def _ring(refs: list[int], arcs: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for ref in refs:
        arc = arcs[ref] if ref >= 0 else arcs[~ref][::-1]
        points.extend(arc if not points else arc[1:])
    return points


def _polygon(rings: list[list[int]], arcs: list[list[tuple[float, float]]]) -> Polygon:
    return Polygon(_ring(rings[0], arcs), [_ring(r, arcs) for r in rings[1:]])


def topo_geometry(obj: dict[str, Any], arcs: list[list[tuple[float, float]]]) -> MultiPolygon:
    """A TopoJSON Polygon/MultiPolygon object as a valid shapely MultiPolygon."""
    if obj["type"] == "Polygon":
        polys = [_polygon(obj["arcs"], arcs)]
    elif obj["type"] == "MultiPolygon":
        polys = [_polygon(p, arcs) for p in obj["arcs"]]
    else:
        raise ValueError(f"unexpected geometry type {obj['type']}")
    geom = MultiPolygon(polys)
    if not geom.is_valid:
        fixed = shapely.make_valid(geom)
        parts = [g for g in getattr(fixed, "geoms", [fixed]) if isinstance(g, Polygon | MultiPolygon)]
        geom = MultiPolygon([p for g in parts for p in getattr(g, "geoms", [g])])
    return geom


def _arc_refs(obj: dict[str, Any]) -> set[int]:
    rings = obj["arcs"] if obj["type"] == "Polygon" else [r for p in obj["arcs"] for r in p]
    return {_arc_index(ref) for ring in rings for ref in ring}


def identify(topology: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Map each known iso2 code to its TopoJSON geometry object (Kosovo by name)."""
    by_numeric = {iso[1]: code for code, iso in COUNTRIES.items() if iso[1]}
    found: dict[str, dict[str, Any]] = {}
    for obj in topology["objects"]["countries"]["geometries"]:
        code = by_numeric.get(obj.get("id", ""))
        if code is None and obj["properties"].get("name") == KOSOVO_TOPO_NAME:
            code = "XK"
        if code is not None:
            if code in found:
                raise ValueError(f"{code} appears twice in the topology")
            found[code] = obj
    return found


def arc_owners(topology: dict[str, Any]) -> dict[int, set[str]]:
    """Which countries (by id, or name when there is none) reference each arc."""
    owners: dict[int, set[str]] = defaultdict(set)
    for obj in topology["objects"]["countries"]["geometries"]:
        key = obj.get("id") or f"name:{obj['properties'].get('name')}"
        for index in _arc_refs(obj):
            owners[index].add(key)
    return owners


# --------------------------------------------------------------------------- lines


def _topo_key(code: str) -> str:
    numeric = COUNTRIES[code][1]
    return numeric if numeric else f"name:{KOSOVO_TOPO_NAME}"


def neighbour_pairs(topology: dict[str, Any]) -> tuple[dict[tuple[str, str], list[int]], set[str]]:
    """Arcs per land-neighbour pair with a target, and topology keys of unknown neighbours."""
    key_to_code = {_topo_key(c): c for c in COUNTRIES}
    target_keys = {_topo_key(c) for c in TARGETS}
    pairs: dict[tuple[str, str], list[int]] = defaultdict(list)
    unknown: set[str] = set()
    for index, keys in sorted(arc_owners(topology).items()):
        if len(keys) != 2 or not keys & target_keys:
            continue
        missing = {k for k in keys if k not in key_to_code}
        if missing:
            unknown |= missing
            continue
        a, b = sorted(key_to_code[k] for k in keys)
        pairs[(a, b)].append(index)
    return dict(pairs), unknown


def geodesic_km(geom: LineString | MultiLineString) -> float:
    """Geodesic length on the WGS84 ellipsoid, in km."""
    return float(GEOD.geometry_length(geom)) / 1000.0


def _orient(line: LineString) -> LineString:
    """Start each part at its west end (ties: north end); closed rings at the westmost vertex."""
    coords = list(line.coords)
    if coords[0] == coords[-1]:
        start = min(range(len(coords) - 1), key=lambda i: (coords[i][0], -coords[i][1]))
        ring = coords[start:-1] + coords[:start]
        return LineString([*ring, ring[0]])
    first, last = coords[0], coords[-1]
    if (last[0], -last[1]) < (first[0], -first[1]):
        coords.reverse()
    return LineString(coords)


def border_line(arc_ids: list[int], arcs: list[list[tuple[float, float]]]) -> MultiLineString:
    """Merge a pair's arcs into oriented parts, ordered west to east by their start point."""
    merged = shapely.line_merge(MultiLineString([arcs[i] for i in arc_ids]))
    parts = [_orient(p) for p in getattr(merged, "geoms", [merged])]
    parts.sort(key=lambda p: (p.coords[0][0], -p.coords[0][1]))
    return MultiLineString(parts)


def _cut(line: LineString, pieces: int) -> list[LineString]:
    """Cut a lon/lat line into ``pieces`` parts of equal geodesic length."""
    coords = list(line.coords)
    lons = [c[0] for c in coords]
    lats = [c[1] for c in coords]
    _, _, seg = GEOD.inv(lons[:-1], lats[:-1], lons[1:], lats[1:])
    cumulative = [0.0]
    for d in seg:
        cumulative.append(cumulative[-1] + d)
    total = cumulative[-1]
    out: list[LineString] = []
    i = 0
    current = [coords[0]]
    for k in range(1, pieces):
        target = total * k / pieces
        while cumulative[i + 1] < target:
            i += 1
            current.append(coords[i])
        span = cumulative[i + 1] - cumulative[i]
        f = (target - cumulative[i]) / span if span else 0.0
        cut = (
            round(lons[i] + f * (lons[i + 1] - lons[i]), DECIMALS),
            round(lats[i] + f * (lats[i + 1] - lats[i]), DECIMALS),
        )
        if cut != current[-1]:
            current.append(cut)
        out.append(LineString(current))
        current = [cut]
    current.extend(coords[i + 1 :])
    out.append(LineString(current))
    return out


def sections(pair_id: str, line: MultiLineString) -> list[dict[str, Any]]:
    """Sections of at most ``SECTION_MAX_KM``: each part cut into equal pieces, numbered on."""
    out = []
    seq = 0
    for part in line.geoms:
        pieces = max(1, math.ceil(geodesic_km(part) / SECTION_MAX_KM))
        for piece in _cut(part, pieces):
            seq += 1
            out.append(
                {
                    "section_id": f"{pair_id}-{seq:02d}",
                    "pair_id": pair_id,
                    "seq": seq,
                    "length_km": round(geodesic_km(piece), 3),
                    "geom": MultiLineString([piece]),
                }
            )
    return out


# --------------------------------------------------------------------------- BCPs


def _local_metric(lon: float, lat: float) -> tuple[Transformer, Transformer]:
    """Azimuthal equidistant projection centred on a point: true distances from it."""
    crs = CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m")
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    back = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return fwd, back


def nearest_on_line(lon: float, lat: float, line: MultiLineString) -> tuple[float, float, float]:
    """Distance (km) from a point to a line and the nearest point (lon, lat) on it."""
    fwd, back = _local_metric(lon, lat)
    projected = shapely.transform(line, lambda xy: _apply(fwd, xy))
    _, near = nearest_points(Point(0.0, 0.0), projected)
    nlon, nlat = back.transform(near.x, near.y)
    return near.distance(Point(0.0, 0.0)) / 1000.0, nlon, nlat


def _apply(transformer: Transformer, xy: Any) -> Any:
    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    xy = xy.copy()
    xy[:, 0], xy[:, 1] = x, y
    return xy


def _place_bcp(row: dict[str, str], line: MultiLineString) -> tuple[dict[str, str] | None, str]:
    """Keep (<= 1.5 km), snap onto the line (<= 10 km) or drop one estimated crossing."""
    lat, lon = float(row["lat"]), float(row["lon"])
    km, nlon, nlat = nearest_on_line(lon, lat, line)
    out = dict(row)
    if km <= BCP_KEEP_KM:
        return out, f"kept ({km:.2f} km from the border line)"
    if km > BCP_SNAP_KM:
        return None, f"estimate {km:.1f} km from the {row['country_a']}-{row['country_b']} line"
    out["lat"], out["lon"] = f"{nlat:.5f}", f"{nlon:.5f}"
    note = f"snapped to NE 1:10m border, original estimate {km:.1f} km away"
    if km > BCP_LOW_KM:
        note += " (low: position along the border uncertain)"
    base = row["coord_confidence"].strip()
    out["coord_confidence"] = f"{base}; {note}" if base else note
    return out, f"snapped ({km:.1f} km)"


def place_bcps(
    rows: list[dict[str, str]], lines: dict[str, MultiLineString]
) -> tuple[list[dict[str, str]], list[tuple[dict[str, str], str]], dict[str, int]]:
    """Check every estimated crossing against its pair's line: shipped, dropped, tallies."""
    shipped, dropped = [], []
    tally = {"kept": 0, "snapped": 0, "dropped": 0}
    for row in rows:
        pair_id = "-".join(sorted((row["country_a"], row["country_b"])))
        line = lines.get(pair_id)
        if line is None:
            dropped.append((row, f"no border line {pair_id}"))
            tally["dropped"] += 1
            continue
        placed, what = _place_bcp(row, line)
        if placed is None:
            dropped.append((row, what))
            tally["dropped"] += 1
        else:
            shipped.append(placed)
            tally["snapped" if what.startswith("snapped") else "kept"] += 1
    return shipped, dropped, tally


def read_bcp_source(path: Path) -> list[dict[str, str]]:
    """The hand-written estimates; fails loudly on a malformed row (it is our own file)."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != BCP_SOURCE_COLUMNS:
            raise ValueError(f"{path}: columns must be {BCP_SOURCE_COLUMNS}")
        rows = list(reader)
    codes = [r["code"] for r in rows]
    dupes = {c for c in codes if codes.count(c) > 1}
    if dupes:
        raise ValueError(f"{path}: duplicate codes {sorted(dupes)}")
    for r in rows:
        if not re.fullmatch(r"[A-Z0-9-]{5,32}", r["code"]):
            raise ValueError(f"{path}: bad code {r['code']!r}")
    return rows


# --------------------------------------------------------------------------- writing


def _feature_collection(features: list[dict[str, Any]], name: str) -> str:
    fc = {
        "type": "FeatureCollection",
        "name": name,
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": features,
    }
    return json.dumps(fc, ensure_ascii=False, separators=(",", ":")) + "\n"


def _feature(props: dict[str, Any], geom: Any) -> dict[str, Any]:
    g = mapping(geom)
    return {"type": "Feature", "properties": props, "geometry": _rounded(g)}


def _rounded(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, DECIMALS)
    if isinstance(obj, list | tuple):
        return [_rounded(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    return obj


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest_block(path: Path, block: str) -> None:
    """Replace the text between the derive.py markers of MANIFEST.md."""
    begin, end = "<!-- derive.py:begin -->", "<!-- derive.py:end -->"
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    _write(path, f"{head}{begin}\n{block.rstrip()}\n{end}{tail}")


# --------------------------------------------------------------------------- main


def derive(out_dir: Path, source: Source) -> dict[str, Any]:
    """Write every derived file into ``out_dir`` and return facts for the manifest."""
    topology = source.topology
    arcs = decode_arcs(topology)
    objects = identify(topology)
    pairs, unknown = neighbour_pairs(topology)
    if unknown:
        raise ValueError(f"a target touches countries not in COUNTRIES: {sorted(unknown)}")
    present = set(TARGETS) | {c for pair in pairs for c in pair}
    missing = [c for c in TARGETS if c not in objects]
    if missing:
        raise ValueError(f"targets missing from the topology: {missing}")
    not_touching = sorted(set(COUNTRIES) - present)

    country_features = []
    for code in sorted(present):
        iso3, _, name = COUNTRIES[code]
        props = {
            "iso2": code,
            "iso3": iso3,
            "name": name,
            "is_target": code in TARGETS,
            "footnote": KOSOVO_FOOTNOTE if code == "XK" else None,
        }
        country_features.append(_feature(props, topo_geometry(objects[code], arcs)))
    _write(out_dir / "countries.geojson", _feature_collection(country_features, "countries"))

    lines: dict[str, MultiLineString] = {}
    line_features, section_features = [], []
    pair_facts = []
    for (a, b), arc_ids in sorted(pairs.items()):
        pair_id = f"{a}-{b}"
        line = border_line(arc_ids, arcs)
        lines[pair_id] = line
        km = geodesic_km(line)
        props = {"pair_id": pair_id, "country_a": a, "country_b": b, "length_km": round(km, 3)}
        line_features.append(_feature(props, line))
        secs = sections(pair_id, line)
        for s in secs:
            geom = s.pop("geom")
            section_features.append(_feature(s, geom))
        pair_facts.append((pair_id, km, len(line.geoms), len(secs)))
    _write(out_dir / "border_lines.geojson", _feature_collection(line_features, "border_lines"))
    _write(
        out_dir / "border_sections.geojson",
        _feature_collection(section_features, "border_sections"),
    )

    rows = read_bcp_source(out_dir / "sources" / "bcps_source.csv")
    shipped, dropped, tally = place_bcps(rows, lines)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=BCP_SOURCE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(shipped)
    _write(out_dir / "bcps.csv", buf.getvalue())

    return {
        "pairs": pair_facts,
        "countries": sorted(present),
        "not_touching": not_touching,
        "bcp_tally": tally,
        "bcp_total": len(rows),
        "dropped": dropped,
    }


def manifest_block(out_dir: Path, source: Source, facts: dict[str, Any]) -> str:
    """The generated part of MANIFEST.md."""
    lines = [
        f"Generated by `geodata/derive.py` on {dt.date.today().isoformat()}.",
        "",
        f"- Source package: `{source.spec}` (resolved version **{source.version}**), "
        f"tarball sha256 `{source.tarball_sha256}`",
        f"- `{TOPOLOGY_MEMBER}` sha256 `{source.topology_sha256}`",
        f"- Countries ({len(facts['countries'])}): {', '.join(facts['countries'])}",
        f"- Listed neighbours with no shared arc with a target: "
        f"{', '.join(facts['not_touching']) or 'none'}",
        "",
        "| pair | border km (geodesic) | merged parts | sections |",
        "|---|---:|---:|---:|",
    ]
    for pair_id, km, parts, n in facts["pairs"]:
        lines.append(f"| {pair_id} | {km:.1f} | {parts} | {n} |")
    t = facts["bcp_tally"]
    lines += [
        "",
        f"BCPs: {facts['bcp_total']} estimated in `sources/bcps_source.csv`; "
        f"{t['kept'] + t['snapped']} shipped in `bcps.csv` ({t['kept']} kept as estimated, "
        f"within {BCP_KEEP_KM} km of the line; {t['snapped']} snapped onto the line, "
        f"estimate {BCP_KEEP_KM}-{BCP_SNAP_KM} km away); {t['dropped']} dropped.",
        "",
    ]
    if facts["dropped"]:
        lines.append("Dropped crossings (estimate too far from the pair's border line):")
        lines.append("")
        for row, why in facts["dropped"]:
            lines.append(f"- `{row['code']}` {row['name_a']} / {row['name_b']}: {why}")
        lines.append("")
    lines += ["| file | sha256 |", "|---|---|"]
    for name in (
        "countries.geojson", "border_lines.geojson", "border_sections.geojson", "bcps.csv",
        "sources/bcps_source.csv", "joint_patrol_agreements.csv", "ibm_framework.yaml",
    ):
        path = out_dir / name
        if path.exists():
            lines.append(f"| `{name}` | `{_sha(path)[:16]}…` |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", default=WORLD_ATLAS, help="npm spec to pack (pinned version)")
    parser.add_argument("--tarball", type=Path, help="use this world-atlas .tgz instead of npm")
    parser.add_argument("--out", type=Path, default=HERE, help="geodata folder")
    args = parser.parse_args(argv)
    source = fetch_world_atlas(args.spec, args.tarball)
    facts = derive(args.out, source)
    manifest = args.out / "MANIFEST.md"
    if manifest.exists():
        write_manifest_block(manifest, manifest_block(args.out, source, facts))
    for pair_id, km, parts, n in facts["pairs"]:
        print(f"{pair_id}: {km:8.1f} km, {parts} part(s), {n} section(s)")
    t = facts["bcp_tally"]
    print(f"BCPs: {t['kept']} kept, {t['snapped']} snapped, {t['dropped']} dropped")
    for row, why in facts["dropped"]:
        print(f"  dropped {row['code']}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
