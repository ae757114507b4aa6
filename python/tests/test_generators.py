"""The random program generators of the differential tester
(norm_mlir.testing.chains): every chain they draw must be emittable."""

import numpy as np

from norm_mlir.testing import chains


def test_near_misses_of_one_element_rows_are_emittable():
    # Regression (difftest --seed 1 --count 10000): an "unbiased" near-miss
    # of a one-element row divided by n - 1 = 0 in the generator itself.
    rng = np.random.default_rng(1)
    seen = 0
    for _ in range(4000):
        chain = chains.random_chain(rng, near_miss=True)
        if chain.n != 1:
            continue
        seen += 1
        assert chain.near_miss not in ("unbiased", "no_divide")
        assert "func.func" in chain.kernel_ir("k")
    assert seen > 0


def test_narrow_statistics_are_drawn_both_ways():
    # Chains whose statistics are rounded to f16/bf16: near misses by
    # default, captured (as the true norm) with widen-statistics. Both
    # kinds are drawn, in every narrow type, and round the statistic in
    # their IR.
    rng = np.random.default_rng(7)
    seen = set()
    for near_miss in (False, True) * 300:
        chain = chains.random_chain(rng, near_miss=near_miss)
        if not chain.narrow:
            assert chain.prefix == "norm-capture"
            continue
        casts = lambda ir: ir.count("truncf") + ir.count("tosa.cast")  # noqa: E731
        rounded = casts(chain.kernel_ir("k"))
        narrow, chain.narrow = chain.narrow, ""
        assert rounded > casts(chain.kernel_ir("k"))
        chain.narrow = narrow
        assert chain.widen == (not near_miss)
        assert chain.near_miss == ("narrow_statistics" if near_miss else "")
        assert ("widen-statistics=true" in chain.prefix) == chain.widen
        seen.add((chain.widen, chain.narrow))
    assert seen == {(w, t) for w in (False, True) for t in ("f16", "bf16")}
