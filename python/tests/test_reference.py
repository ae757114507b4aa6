"""The float64 reference itself: what it must get exactly right."""

import numpy as np

from norm_mlir import reference


def _constant_whose_naive_mean_misses(n):
    """A constant c for which sum(c, n times) / n in float64 is not c."""
    rng = np.random.default_rng(0)
    for c in rng.uniform(-3, 3, 1000):
        if np.full(n, c).mean() != c:
            return c
    raise AssertionError("no such constant found")


def test_constant_rows_have_zero_variance():
    # difftest seed 9 case 8881: with a tiny eps, an ulp of error in the mean
    # of a constant row showed as an rstd 10^4 too small.
    n = 130
    c = _constant_whose_naive_mean_misses(n)
    x = np.full((3, n), c)
    got = reference.layer_norm(x, eps=1e-40, in_dtype="f64")
    assert np.all(got["mean"] == c)
    assert np.all(got["rstd"] == 1.0 / np.sqrt(1e-40))
    assert np.all(got["out"] == 0.0)


def test_non_finite_rows_keep_their_ieee_mean():
    # The refinement must not turn an infinite mean into NaN.
    x = np.array([[1.0, np.inf, 2.0], [-np.inf, 1.0, 2.0],
                  [np.inf, -np.inf, 0.0], [np.nan, 1.0, 2.0]])
    got = reference.layer_norm(x, in_dtype="f64")
    assert got["mean"][0] == np.inf
    assert got["mean"][1] == -np.inf
    assert np.isnan(got["mean"][2]) and np.isnan(got["mean"][3])
    assert np.all(np.isnan(got["out"]))
