"""Hotspot analytics: where incidents cluster beyond chance, and how the clusters evolve.

Pure functions over arrays (no database here; :mod:`etl.analytics.hotspot_job` reads the
warehouse and writes the results):

- :mod:`.cells`: the study area (the land border zone), H3 ids at any resolution, ring
  neighbours;
- :mod:`.gistar`: Getis-Ord Gi* z-scores, p-values, Benjamini-Hochberg FDR, the seven classes;
- :mod:`.emerging`: space-time Gi*, Mann-Kendall trends and the Emerging Hot Spot categories;
- :mod:`.analysis`: time steps, the count cube and one whole analysis.

Default resolution: H3 **6** (cells of about 36 km², 7.5 km across; the Gi* neighbourhood of a
cell and its first ring is about 250 km², a disc of some 9 km radius). That is the scale of the
work along a border: a patrol sector, the few kilometres behind a crossing point, a joint patrol
zone (5 km deep on the Serbia-Croatia border). Resolution 5 (250 km² cells, 20 km across) puts
both sides of a border and several crossings in one cell and blurs a local cluster into the
corridor it sits on; resolution 7 (5 km² cells) leaves most cell-weeks empty even with a million
incidents over two years, and Gi* on mostly-zero counts has little power.
"""

from etl.analytics.hotspots.analysis import Params, Result, Steps, analyse, cube_from_counts
from etl.analytics.hotspots.cells import border_zone, neighbours, zone_cells
from etl.analytics.hotspots.emerging import NO_PATTERN, PATTERNS, category, space_time_gi
from etl.analytics.hotspots.gistar import CLASSES, classify, fdr_bh, gi_star, p_two_sided

__all__ = [
    "CLASSES", "NO_PATTERN", "PATTERNS", "Params", "Result", "Steps", "analyse", "border_zone",
    "category", "classify", "cube_from_counts", "fdr_bh", "gi_star", "neighbours",
    "p_two_sided", "space_time_gi", "zone_cells",
]
