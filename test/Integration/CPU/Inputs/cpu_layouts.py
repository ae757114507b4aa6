"""Executes the CPU lowering's less common paths and checks the numbers.

Each kernel builds a view the harness cannot pass directly: normalised dims
that are not contiguous (a nested loop per dim), a trailing dim with stride
2 (scalar code), an op in an scf.for over subviews sized inside the loop
(scf loops instead of affine ones), and the in-place residual form of vLLM's
fused_add_rms_norm (out aliasing the input, residual_out the residual).
Prints "ok <name>" or "FAIL <name>: why" per case; run it with a pipeline
as argument (default: the CPU pipeline).
"""

import sys

import numpy as np

from norm_mlir import reference
from norm_mlir.testing import harness

PIPELINE = sys.argv[1] if len(sys.argv) > 1 else "cpu"
rng = np.random.default_rng(7)


def f32(shape):
    return reference.round_to(rng.standard_normal(shape), "f32")


def check(name, got, want, tol=1e-5 * 12):
    err = np.max(np.abs(got - want))
    if not np.isfinite(got).all() or not err <= tol:
        print(f"FAIL {name}: max |err| {err:.3g}")
    else:
        print(f"ok {name}")


# Normalised dims [1, 3) of a 2x3x8 buffer cut to 2x3x5: not collapsible.
NESTED = """
func.func @nested(%x: memref<2x3x8xf32>, %g: memref<3x5xf32>, %o: memref<2x3x5xf32>) {
  %v = memref.subview %x[0, 0, 0] [2, 3, 5] [1, 1, 1] : memref<2x3x8xf32> to memref<2x3x5xf32, strided<[24, 8, 1]>>
  norm.layer_norm axis(1) eps(1.0e-5) ins(%v : memref<2x3x5xf32, strided<[24, 8, 1]>>) gamma(%g : memref<3x5xf32>) outs(%o : memref<2x3x5xf32>)
  return
}
"""
x, g = f32((2, 3, 8)), f32((3, 5))
out = harness.run_calls(NESTED, [harness.Call("nested", [x, g, np.zeros((2, 3, 5))], [2])], PIPELINE)[0][0]
check("nested", out, reference.layer_norm(x[:, :, :5], gamma=g, axis=1)["out"])

# Every other column: stride 2 in the trailing dim.
STRIDED = """
func.func @strided(%x: memref<4x22xf32>, %o: memref<4x11xf32>) {
  %v = memref.subview %x[0, 0] [4, 11] [1, 2] : memref<4x22xf32> to memref<4x11xf32, strided<[22, 2]>>
  norm.rms_norm eps(1.0e-6) ins(%v : memref<4x11xf32, strided<[22, 2]>>) outs(%o : memref<4x11xf32>)
  return
}
"""
x = f32((4, 22))
out = harness.run_calls(STRIDED, [harness.Call("strided", [x, np.zeros((4, 11))], [1])], PIPELINE)[0][0]
check("strided", out, reference.rms_norm(x[:, ::2])["out"])

# Row tiles of 3 (the last one of 2) taken inside an scf.for.
TILED = """
func.func @tiled(%x: memref<8x40xf32>, %b: memref<40xf32>, %o: memref<8x40xf32>) {
  %c0 = arith.constant 0 : index
  %c3 = arith.constant 3 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c8 step %c3 {
    %n = affine.min affine_map<(d0) -> (3, 8 - d0)>(%i)
    %xs = memref.subview %x[%i, 0] [%n, 40] [1, 1] : memref<8x40xf32> to memref<?x40xf32, strided<[40, 1], offset: ?>>
    %os = memref.subview %o[%i, 0] [%n, 40] [1, 1] : memref<8x40xf32> to memref<?x40xf32, strided<[40, 1], offset: ?>>
    norm.layer_norm eps(1.0e-5) ins(%xs : memref<?x40xf32, strided<[40, 1], offset: ?>>) beta(%b : memref<40xf32>) outs(%os : memref<?x40xf32, strided<[40, 1], offset: ?>>)
  }
  return
}
"""
x, b = f32((8, 40)), f32((40,))
out = harness.run_calls(TILED, [harness.Call("tiled", [x, b, np.zeros((8, 40))], [2])], PIPELINE)[0][0]
check("tiled", out, reference.layer_norm(x, beta=b)["out"])

# fused_add_rms_norm in place: x <- rms_norm(x + r) * g, r <- x + r. The
# kernel copies its inputs into the buffers it then updates in place.
IN_PLACE = """
func.func @in_place(%x0: memref<3x4099xbf16>, %r0: memref<3x4099xbf16>, %g: memref<4099xbf16>, %x: memref<3x4099xbf16>, %r: memref<3x4099xbf16>) {
  memref.copy %x0, %x : memref<3x4099xbf16> to memref<3x4099xbf16>
  memref.copy %r0, %r : memref<3x4099xbf16> to memref<3x4099xbf16>
  norm.rms_norm eps(1.0e-6) ins(%x : memref<3x4099xbf16>) residual(%r : memref<3x4099xbf16>) gamma(%g : memref<4099xbf16>) outs(%x : memref<3x4099xbf16>) residual_out(%r : memref<3x4099xbf16>)
  return
}
"""
x = reference.round_to(rng.standard_normal((3, 4099)), "bf16")
r = reference.round_to(rng.standard_normal((3, 4099)), "bf16")
g = reference.round_to(rng.uniform(0.5, 1.5, 4099), "bf16")
outs = harness.run_calls(IN_PLACE, [harness.Call(
    "in_place", [x, r, g, np.zeros((3, 4099)), np.zeros((3, 4099))], [3, 4])],
    PIPELINE)[0]
want = reference.rms_norm(x, gamma=g, residual=r, in_dtype="bf16")
tol = reference.output_tolerance(want["out"], "bf16", 4099, gamma=g)
bad = np.abs(outs[0] - want["out"]) > tol
print(f"FAIL in_place out: {int(bad.sum())} elements" if bad.any() else "ok in_place out")
same = outs[1] == want["residual_out"]
print("ok in_place residual" if same.all() else "FAIL in_place residual")
