"""The caller's CUDA stream (norm-gpu-caller-streams): a function taking a
`!gpu.async.token` launches its kernels on that stream and creates,
synchronises and destroys none; a function without one keeps a stream per
call. Run on the GPU emulator, whose runtime counts what the host code did
with streams (emuPrintStreamUse), and checked against float64."""

import numpy as np
import pytest

from norm_mlir import reference
from norm_mlir.core import tools
from norm_mlir.gpu import emulator
from norm_mlir.testing import harness

ROWS, N = 3, 256
T = f"memref<?x{N}xf32>"
G = f"memref<{N}xf32>"
# Two decoder layers' fused_add_rms_norm, in place: two ops of one
# signature, so the kernel is outlined (a call the stream must follow).
LAYERS = "\n".join(
    f"  norm.rms_norm eps(1.0e-06) ins(%x : {T}) residual(%r : {T}) "
    f"gamma(%g : {G}) outs(%x : {T}) residual_out(%r : {T})"
    for _ in range(2))
FAKE_STREAM = 4242

KERNELS = f"""
func.func @serve(%x: {T}, %r: {T}, %g: {G}, %stream: !gpu.async.token) {{
{LAYERS}
  return
}}
func.func @per_call(%x: {T}, %r: {T}, %g: {G}) {{
{LAYERS}
  return
}}
func.func private @emuPrintStreamUse()
// The harness's entry points: the inputs copied into the buffers updated
// in place, the kernel called (on the caller's stream: a made-up CUstream
// value, which the emulator records), then what was done with streams.
func.func @on_stream(%x0: {T}, %r0: {T}, %g: {G}, %x: {T}, %r: {T}) {{
  memref.copy %x0, %x : {T} to {T}
  memref.copy %r0, %r : {T} to {T}
  %value = arith.constant {FAKE_STREAM} : i64
  %pointer = llvm.inttoptr %value : i64 to !llvm.ptr
  %stream = builtin.unrealized_conversion_cast %pointer : !llvm.ptr to !gpu.async.token
  call @serve(%x, %r, %g, %stream) : ({T}, {T}, {G}, !gpu.async.token) -> ()
  call @emuPrintStreamUse() : () -> ()
  return
}}
func.func @without_stream(%x0: {T}, %r0: {T}, %g: {G}, %x: {T}, %r: {T}) {{
  memref.copy %x0, %x : {T} to {T}
  memref.copy %r0, %r : {T} to {T}
  call @per_call(%x, %r, %g) : ({T}, {T}, {G}) -> ()
  call @emuPrintStreamUse() : () -> ()
  return
}}
"""


def test_caller_stream_on_the_emulator():
    try:
        tools.clang()
    except tools.ToolError:
        pytest.skip("the GPU emulator needs clang")
    rng = np.random.default_rng(5)
    x = reference.round_to(rng.standard_normal((ROWS, N)), "f32")
    r = reference.round_to(rng.standard_normal((ROWS, N)), "f32")
    g = reference.round_to(rng.uniform(0.5, 1.5, N), "f32")
    zeros = np.zeros((ROWS, N))
    calls = [harness.Call(name, [x, r, g, zeros, zeros], [3, 4])
             for name in ("on_stream", "without_stream")]
    module, out_specs = harness.build_module(KERNELS, calls)
    stdout = emulator.run_module(module)
    streams = [line for line in stdout.splitlines()
               if line.startswith("streams:")]
    rest = "\n".join(line for line in stdout.splitlines()
                     if not line.startswith("streams:"))
    # Each layer launches one kernel. On the caller's stream: no stream made,
    # synchronised or destroyed, both launches on the caller's stream.
    assert streams[0] == (f"streams: created 0, synchronised 0, destroyed 0; "
                          f"launches 2, first on {FAKE_STREAM}, last on "
                          f"{FAKE_STREAM}")
    # Without: a stream per launching call (the outlined kernel's), made,
    # synchronised and destroyed, twice.
    assert streams[1] == ("streams: created 2, synchronised 2, destroyed 2; "
                          f"launches 4, first on {FAKE_STREAM}, last on 2")

    # Both compute the two layers.
    h1 = reference.rms_norm(x, gamma=g, residual=r, in_dtype="f32", eps=1e-6)
    h2 = reference.rms_norm(h1["out"], gamma=g, residual=h1["residual_out"],
                            in_dtype="f32", eps=1e-6)
    tol = 2 * reference.output_tolerance(h2["out"], "f32", N, gamma=g)
    for outs in harness._parse_outputs(rest, calls, out_specs):
        assert np.all(np.abs(outs[0] - h2["out"]) <= tol)
        np.testing.assert_allclose(outs[1], h2["residual_out"], rtol=1e-5,
                                   atol=1e-5)
