"""Getis-Ord Gi* with analytic z-scores, Benjamini-Hochberg FDR and the seven classes.

For counts ``x`` over ``n`` study cells and binary weights ``w`` (the cell itself included)::

    z_i = (sum_j w_ij x_j - xbar W_i) / (S sqrt((n W_i - W_i^2) / (n - 1)))

with ``W_i = sum_j w_ij``, ``xbar`` the mean and ``S = sqrt(sum x^2 / n - xbar^2)`` the
population standard deviation over all cells (Getis and Ord 1992/1995; the form ArcGIS's Hot
Spot Analysis reports). With binary weights this equals ``esda.G_Local(x, w, transform="B",
star=True).Zs`` (PySAL writes it as ``(G - E[G]) / sqrt(V[G])``); a test holds the two within
1e-6. p-values are two-sided from the standard normal (esda's ``p_norm`` is one-sided: half of
ours). The FDR correction is Benjamini-Hochberg over all the tests of one analysis; a cell is
hot or cold at 90/95/99 % when its adjusted p-value ``q`` is at most 0.10/0.05/0.01.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.special import ndtr

#: Class codes (stored as text) from hottest to coldest.
CLASSES = ("hot_99", "hot_95", "hot_90", "not_significant", "cold_90", "cold_95", "cold_99")
#: (confidence, largest q) of each significant level, strictest first.
LEVELS = ((99, 0.01), (95, 0.05), (90, 0.10))
NOT_SIGNIFICANT = "not_significant"


def gi_star(x: np.ndarray, w: sparse.csr_matrix, *, total_n: int | None = None,
            mean: float | None = None, std: float | None = None) -> np.ndarray:
    """Gi* z-scores of the counts ``x`` (one per row of ``w``).

    Parameters
    ----------
    x
        Counts (or any values) per cell, aligned with the rows and columns of ``w``.
    w
        Binary weights with the diagonal set (see ``cells.neighbours``).
    total_n, mean, std
        The population the neighbourhood sums are compared with: by default ``x`` itself.
        The space-time version passes the figures of the whole cube.

    Returns
    -------
    numpy.ndarray
        z per cell; 0 where the data have no spread (every cell equal).
    """
    x = np.asarray(x, dtype=np.float64)
    n = float(total_n if total_n is not None else len(x))
    xbar = float(x.mean()) if mean is None else mean
    s = float(np.sqrt(max((x * x).mean() - xbar * xbar, 0.0))) if std is None else std
    local = w @ x
    card = np.asarray(w.sum(axis=1)).ravel()
    return z_from_sums(local, card, n, xbar, s)


def z_from_sums(local: np.ndarray, card: np.ndarray, n: float, xbar: float, s: float
                ) -> np.ndarray:
    """Gi* z from neighbourhood sums ``local`` and neighbour counts ``card`` (binary weights)."""
    if n <= 1 or s <= 0:
        return np.zeros(len(local))
    spread = s * np.sqrt(np.maximum(n * card - card * card, 0.0) / (n - 1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (local - xbar * card) / spread
    return np.where(spread > 0, z, 0.0)


def p_two_sided(z: np.ndarray) -> np.ndarray:
    """Two-sided p-values of standard normal z-scores."""
    return 2.0 * ndtr(-np.abs(np.asarray(z, dtype=np.float64)))


def fdr_bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (``q``): a test is rejected at FDR ``a`` when
    ``q <= a``. Same as ``statsmodels.stats.multitest.multipletests(p, method="fdr_bh")[1]``."""
    p = np.asarray(p, dtype=np.float64)
    m = len(p)
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(ranked, 1.0)
    return q


def classify(z: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Class code of each cell (``CLASSES``) from its z-score sign and FDR-adjusted ``q``."""
    z = np.asarray(z, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    out = np.full(len(z), NOT_SIGNIFICANT, dtype=object)
    for confidence, limit in reversed(LEVELS):  # loosest first, stricter ones overwrite
        sig = q <= limit
        out[sig & (z > 0)] = f"hot_{confidence}"
        out[sig & (z < 0)] = f"cold_{confidence}"
    return out


def significant(z: np.ndarray, q: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(hot, cold) masks: significant at FDR ``alpha`` with a positive / negative z."""
    sig = np.asarray(q) <= alpha
    return sig & (np.asarray(z) > 0), sig & (np.asarray(z) < 0)
