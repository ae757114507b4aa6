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
