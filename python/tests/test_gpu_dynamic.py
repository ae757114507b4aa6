"""GPU kernels over ?x? (the row length known only at run time): the host
picks the kernel with 128-bit accesses when every row length, row stride
and first element allows it, else the element-by-element one. Both run on
the GPU emulator here, through views that take each side of the check:
aligned and contiguous; offset by one element; rows of a length V does not
divide; a row stride V does not divide. Checked against float64."""

import numpy as np
import pytest

from norm_mlir import reference
from norm_mlir.core import tools
from norm_mlir.testing import harness

# (dtype, V, row length, column shift of the view, buffer row length).
CASES = [
    ("f32", 4, 4096, 0, 4096),   # wide: aligned, contiguous
    ("f32", 4, 4096, 4, 4100),   # wide: shifted by one vector, stride 4100
    ("f32", 4, 4096, 1, 4097),   # scalar: misaligned start, odd stride
    ("f32", 4, 4098, 0, 4098),   # scalar: V does not divide N
    ("bf16", 8, 768, 8, 776),    # wide: 8 bf16 a vector
    ("bf16", 8, 768, 4, 772),    # scalar: 8-byte aligned only
]


def kernel_ir(dtype, n, shift, width):
    view = f"memref<3x{n}x{dtype}, strided<[{width}, 1], offset: {shift}>>"
    dyn = f"memref<?x?x{dtype}, strided<[?, 1], offset: ?>>"
    return f"""
func.func @k(%x: memref<3x{width}x{dtype}>, %g: memref<{n}x{dtype}>, %b: memref<{n}x{dtype}>, %o: memref<3x{n}x{dtype}>) {{
  %xs = memref.subview %x[0, {shift}] [3, {n}] [1, 1] : memref<3x{width}x{dtype}> to {view}
  %xd = memref.cast %xs : {view} to {dyn}
  %gd = memref.cast %g : memref<{n}x{dtype}> to memref<?x{dtype}>
  %bd = memref.cast %b : memref<{n}x{dtype}> to memref<?x{dtype}>
  %od = memref.cast %o : memref<3x{n}x{dtype}> to memref<?x?x{dtype}>
  norm.layer_norm eps(1.0e-05) ins(%xd : {dyn}) gamma(%gd : memref<?x{dtype}>) beta(%bd : memref<?x{dtype}>) outs(%od : memref<?x?x{dtype}>)
  return
}}"""


@pytest.mark.parametrize("case", CASES,
                         ids=lambda c: f"{c[0]}-n{c[2]}-shift{c[3]}-stride{c[4]}")
def test_dynamic_row_length_both_kernels(case):
    try:
        tools.clang()
    except tools.ToolError:
        pytest.skip("the GPU emulator needs clang")
    dtype, _, n, shift, width = case
    rng = np.random.default_rng(n + shift)
    # A large mean: the pivot must hold on both sides.
    x = reference.round_to(rng.standard_normal((3, width)) + 100, dtype)
    g = reference.round_to(rng.uniform(0.5, 1.5, n), dtype)
    b = reference.round_to(rng.uniform(-0.5, 0.5, n), dtype)
    out = harness.run_calls_emulated(
        kernel_ir(dtype, n, shift, width),
        [harness.Call("k", [x, g, b, np.zeros((3, n))], [3])])[0][0]
    want = reference.layer_norm(x[:, shift:shift + n], gamma=g, beta=b,
                                in_dtype=dtype)["out"]
    tol = reference.output_tolerance(want, dtype, n, gamma=g)
    bad = np.abs(out - want) > tol
    assert not bad.any(), f"{int(bad.sum())} elements off"
