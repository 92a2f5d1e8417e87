"""Gi*, FDR and classes of etl.analytics.hotspots, checked against esda (PySAL) and by hand."""

from __future__ import annotations

import warnings

import h3
import numpy as np
import pytest
from h3.api import basic_int as h3int

from etl.analytics.hotspots import cells as H
from etl.analytics.hotspots.emerging import space_time_gi
from etl.analytics.hotspots.gistar import classify, fdr_bh, gi_star, p_two_sided

esda = pytest.importorskip("esda")
libpysal = pytest.importorskip("libpysal")

#: A patch of real resolution-6 cells around Horgoš (RS-HU border).
CENTRE = h3int.latlng_to_cell(46.15, 19.95, 6)


def _patch(radius: int) -> np.ndarray:
    return np.sort(np.array(list(h3int.grid_disk(CENTRE, radius)), dtype=np.uint64).view(np.int64))


def _esda_z(y: np.ndarray, neighbours: dict[int, list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """esda's Gi* z and one-sided p_norm for binary weights without the diagonal (esda adds the
    cell itself with star=True and transform='B')."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands, asymmetric weights
        w = libpysal.weights.W(neighbours, silence_warnings=True)
        g = esda.getisord.G_Local(y, w, transform="B", star=True, permutations=0)
    return np.asarray(g.Zs), np.asarray(g.p_norm)


def _ring_dict(cells: np.ndarray, k: int) -> dict[int, list[int]]:
    index = {int(c): i for i, c in enumerate(cells.tolist())}
    return {
        i: [index[n] for n in h3int.grid_disk(int(c), k) if n in index and index[n] != i]
        for i, c in enumerate(cells.tolist())
    }


@pytest.mark.parametrize("k", [1, 2, 3])
def test_gi_star_equals_esda_on_h3_rings(k: int) -> None:
    cells = _patch(9)  # 271 cells; the edge ones have truncated neighbourhoods
    rng = np.random.default_rng(k)
    y = rng.poisson(rng.gamma(0.6, 3.0, len(cells))).astype(float)
    y[:5] += 40  # a few busy cells
    z = gi_star(y, H.neighbours(cells, k))
    ez, ep = _esda_z(y, _ring_dict(cells, k))
    assert np.max(np.abs(z - ez)) < 1e-6
    assert np.max(np.abs(p_two_sided(z) - 2 * ep)) < 1e-9
    assert np.abs(z).max() > 2  # the comparison covers significant values too


def test_space_time_gi_equals_esda_on_the_flattened_cube() -> None:
    cells = _patch(4)  # 61 cells
    steps = 6
    rng = np.random.default_rng(7)
    cube = rng.poisson(0.8, (len(cells), steps)).astype(float)
    cube[10, 3:] += 9
    st = space_time_gi(cube, H.neighbours(cells, 1), lag=1)
    spatial = _ring_dict(cells, 1)
    # bin (i, t) -> i * steps + t; neighbours: ring cells at t and t - 1, the cell itself at t - 1
    bins: dict[int, list[int]] = {}
    for i in range(len(cells)):
        for t in range(steps):
            same = [j * steps + t for j in spatial[i]]
            before = [j * steps + t - 1 for j in [i, *spatial[i]]] if t else []
            bins[i * steps + t] = same + before
    ez, _ = _esda_z(cube.ravel(), bins)
    assert np.max(np.abs(st.z.ravel() - ez)) < 1e-6


def test_gi_star_of_flat_data_is_zero() -> None:
    cells = _patch(2)
    assert np.all(gi_star(np.full(len(cells), 3.0), H.neighbours(cells, 1)) == 0)
    assert np.all(gi_star(np.zeros(len(cells)), H.neighbours(cells, 1)) == 0)


def test_neighbours_keep_only_study_cells_and_the_cell_itself() -> None:
    cells = _patch(3)
    w = H.neighbours(cells, 1)
    assert np.all(w.diagonal() == 1)
    card = np.asarray(w.sum(axis=1)).ravel()
    centre = int(np.flatnonzero(cells == CENTRE)[0])
    assert card[centre] == 7
    assert card.min() in (3, 4)  # corners and edges of the patch
    assert (w != w.T).nnz == 0


def test_fdr_bh_by_hand_and_against_its_definition() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.20, 0.005])
    # sorted: .005 .01 .03 .04 .20 -> x m / rank: .025 .025 .05 .05 .20, then running minimum
    assert np.allclose(fdr_bh(p), [0.025, 0.05, 0.05, 0.20, 0.025])
    rng = np.random.default_rng(3)
    p = rng.random(200) ** 3
    m = len(p)
    order = np.argsort(p)
    rank = np.empty(m, int)
    rank[order] = np.arange(1, m + 1)
    brute = np.array([min(1.0, min(p[j] * m / rank[j] for j in range(m) if p[j] >= p[i]))
                      for i in range(m)])
    assert np.allclose(fdr_bh(p), brute)


def test_classes_follow_sign_and_adjusted_p() -> None:
    z = np.array([3.0, 2.2, 1.8, 0.3, -1.8, -2.2, -3.0, 5.0])
    q = np.array([0.005, 0.04, 0.09, 0.5, 0.09, 0.04, 0.005, 0.2])
    assert classify(z, q).tolist() == [
        "hot_99", "hot_95", "hot_90", "not_significant", "cold_90", "cold_95", "cold_99",
        "not_significant",
    ]


def test_resolution_change_by_bits_matches_h3() -> None:
    fine = np.array([h3int.latlng_to_cell(41.0 + i * 0.37, 19.5 + i * 0.61, 9) for i in range(20)],
                    dtype=np.uint64).view(np.int64)
    for r in (4, 5, 6, 7, 8, 9):
        expect = [h3int.cell_to_parent(int(c), r) for c in fine.view(np.uint64).tolist()]
        assert H.to_resolution(fine, r).view(np.uint64).tolist() == expect
    text = H.cell_text(int(H.to_resolution(fine[:1], 6)[0]))
    assert h3.get_resolution(text) == 6
    assert H.cell_from_text(text) == int(H.to_resolution(fine[:1], 6)[0])
