"""Executes `arith.truncf` to f8E4M3FN through norm-opt (which expands it
with --norm-expand-fp8-casts) and compares every result with the Python
rounding of norm_mlir.reference (itself checked against LLVM's APFloat).

    python -m norm_mlir.testing.fp8_truncf

Inputs: every f8E4M3FN value, every midpoint between neighbours (the ties)
and its f32 neighbours, saturation and overflow edges, infinities, NaN,
signed zeros, subnormals, random values; for f32 also every 4099th bit
pattern of the whole 32-bit space. Sources f16, bf16, f32 and f64.
"""

import sys

import numpy as np

from norm_mlir import reference
from norm_mlir.testing import harness


def _values():
    grid = reference.f8e4m3fn_bits_to_float(np.arange(256))
    grid = np.unique(grid[np.isfinite(grid)])
    ties = (grid[1:] + grid[:-1]) / 2
    ties32 = ties.astype(np.float32)
    return np.concatenate([
        grid, ties,
        np.nextafter(ties32, np.float32(np.inf)).astype(np.float64),
        np.nextafter(ties32, np.float32(-np.inf)).astype(np.float64),
        [448, 463.99, 464, 464.01, 479, 480, 500, 1e30, -1e30, np.inf, -np.inf,
         np.nan, 0.0, -0.0, 1e-30, 2.0 ** -10, 3 * 2.0 ** -10, 8.5 * 2.0 ** -9],
        np.random.default_rng(0).standard_normal(2000) * 30,
    ])


def _kernel(n, src):
    return f"""func.func @k(%x: tensor<{n}x{src}>) -> tensor<{n}xf8E4M3FN> {{
  %e = tensor.empty() : tensor<{n}xf8E4M3FN>
  %y = linalg.generic {{indexing_maps = [affine_map<(d0) -> (d0)>,
      affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}}
      ins(%x : tensor<{n}x{src}>) outs(%e : tensor<{n}xf8E4M3FN>) {{
  ^bb0(%a: {src}, %o: f8E4M3FN):
    %t = arith.truncf %a : {src} to f8E4M3FN
    linalg.yield %t : f8E4M3FN
  }} -> tensor<{n}xf8E4M3FN>
  return %y : tensor<{n}xf8E4M3FN>
}}"""


def main():
    failures = 0
    with np.errstate(invalid="ignore", over="ignore"):
        for src in ("f32", "bf16", "f16", "f64"):
            values = _values()
            if src == "f32":
                strided = np.arange(0, 2 ** 32, 4099, dtype=np.uint64)
                values = np.concatenate([values, strided.astype(np.uint32)
                                         .view(np.float32).astype(np.float64)])
            if src == "f16":
                values = values.astype(np.float16).astype(np.float64)
            else:
                values = reference.round_to(values, src)
            n = len(values)
            got = harness.run_calls(_kernel(n, src),
                                    [harness.Call("k", [values], [], [(n,)])],
                                    "upstream")[0][0]
            want = reference.f8e4m3fn_bits_to_float(
                reference.float_to_f8e4m3fn_bits(values))
            same = ((got == want) & (np.signbit(got) == np.signbit(want))) | (
                np.isnan(got) & np.isnan(want))
            bad = int((~same).sum())
            failures += bad
            print(f"{src}: {n} values, {bad} mismatches")
            for i in np.nonzero(~same)[0][:8]:
                print(f"    {values[i]!r}: got {got[i]!r}, want {want[i]!r}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
