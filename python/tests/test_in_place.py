"""vLLM's fused_add_rms_norm contract: the op on memrefs with its
destinations being its inputs' own buffers (outs = x, residual_out = the
residual), so x <- norm(x + r) and r <- x + r in place, with no copies.

Run through every lowering (the linalg reference, the CPU kernels with
their streamed, non-temporal and OpenMP paths, the GPU kernels on the
emulator) and checked against float64; then norm_mlir.fused_add_rms_norm,
the same kernel on numpy arrays and torch tensors."""

import subprocess

import numpy as np
import pytest

import norm_mlir
from norm_mlir import reference
from norm_mlir.core import tools
from norm_mlir.testing import harness

# (op, rows, n, dtype, residual, dynamic rows): held rows and streamed ones
# (4099: not a multiple of any vector; 32768 bf16: past the GPU kernels'
# registers), the residual form and the plain out = x form.
CASES = [
    ("rms_norm", 5, 4099, "bf16", True, True),
    ("rms_norm", 2, 32768, "bf16", True, False),
    ("layer_norm", 6, 64, "f32", True, False),
    ("rms_norm", 3, 4096, "f32", False, True),
]
CPU_PIPELINES = {
    "linalg": "linalg",
    "cpu": "cpu",
    # Every row streamed with non-temporal stores where aligned.
    "nontemporal": ["--norm-cpu-pipeline=nontemporal-threshold=0"],
    # OpenMP rows at any size.
    "openmp": ["--norm-cpu-pipeline=openmp=true parallel-threshold=0"],
}


def in_place_ir(op, rows, n, dtype, residual, dynamic):
    """A kernel that copies its inputs into the buffers it then updates in
    place (so that the harness reads them back as outputs)."""
    t = f"memref<{'?' if dynamic else rows}x{n}x{dtype}>"
    g = f"memref<{n}x{dtype}>"
    eps = "1.0e-06" if op == "rms_norm" else "1.0e-05"
    args = [f"%x0: {t}"] + ([f"%r0: {t}"] if residual else []) + \
        [f"%g: {g}", f"%x: {t}"] + ([f"%r: {t}"] if residual else [])
    body = [f"  memref.copy %x0, %x : {t} to {t}"]
    if residual:
        body.append(f"  memref.copy %r0, %r : {t} to {t}")
    body.append(
        f"  norm.{op} eps({eps}) ins(%x : {t})" +
        (f" residual(%r : {t})" if residual else "") +
        f" gamma(%g : {g}) outs(%x : {t})" +
        (f" residual_out(%r : {t})" if residual else ""))
    return (f"func.func @k({', '.join(args)}) {{\n" + "\n".join(body) +
            "\n  return\n}\n")


def run_case(case, runner):
    op, rows, n, dtype, residual, dynamic = case
    rng = np.random.default_rng(rows * n)
    # A large mean: the centring must still be exact in place.
    x = reference.round_to(rng.standard_normal((rows, n)) + 8, dtype)
    r = reference.round_to(rng.standard_normal((rows, n)), dtype)
    g = reference.round_to(rng.uniform(0.5, 1.5, n), dtype)
    args = [x] + ([r] if residual else []) + [g, np.zeros((rows, n))]
    args += [np.zeros((rows, n))] if residual else []
    outputs = list(range(len(args) - (2 if residual else 1), len(args)))
    got = runner(in_place_ir(*case), [harness.Call("k", args, outputs)])[0]
    want = getattr(reference, op)(x, gamma=g, residual=r if residual else None,
                                  in_dtype=dtype)
    tol = reference.output_tolerance(want["out"], dtype, n, gamma=g)
    bad = np.abs(got[0] - want["out"]) > tol
    assert not bad.any(), f"{int(bad.sum())} elements of out off"
    if residual:
        # x + r, rounded once to the input type: exact.
        np.testing.assert_array_equal(got[1], want["residual_out"])


@pytest.mark.parametrize("pipeline", list(CPU_PIPELINES))
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}x{c[2]}"
                         f"-{c[3]}{'-residual' if c[4] else ''}")
def test_memref_in_place_cpu(case, pipeline):
    run_case(case, lambda ir, calls: harness.run_calls(
        ir, calls, CPU_PIPELINES[pipeline]))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}x{c[2]}"
                         f"-{c[3]}{'-residual' if c[4] else ''}")
def test_memref_in_place_gpu_emulated(case):
    try:
        tools.clang()
    except tools.ToolError:
        pytest.skip("the GPU emulator needs clang")
    run_case(case, harness.run_calls_emulated)


def test_in_place_ir_lowers_without_copies():
    # The CPU kernel of the in-place op (no copy-in: the op alone) allocates
    # and copies nothing: it works on x's and r's buffers.
    t = "memref<?x4096xbf16>"
    ir = (f"func.func @k(%x: {t}, %r: {t}, %g: memref<4096xbf16>) {{\n"
          f"  norm.rms_norm eps(1.0e-06) ins(%x : {t}) residual(%r : {t}) "
          f"gamma(%g : memref<4096xbf16>) outs(%x : {t}) "
          f"residual_out(%r : {t})\n  return\n}}\n")
    lowered = subprocess.run(
        [tools.norm_opt(), "-", "--norm-cpu-pipeline"], input=ir,
        capture_output=True, text=True, check=True).stdout
    assert "llvm.func @k(" in lowered
    for copy_or_allocation in ("memcpy", "memrefCopy", "malloc", "alloca"):
        assert copy_or_allocation not in lowered


# -- norm_mlir.fused_add_rms_norm -------------------------------------------


@pytest.mark.parametrize("shape", [(7, 4096), (2, 3, 768), (1, 50)])
def test_fused_add_rms_norm_numpy(shape):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(np.float32)
    r = rng.standard_normal(shape).astype(np.float32)
    g = rng.uniform(0.5, 1.5, shape[-1]).astype(np.float32)
    want = reference.rms_norm(x, gamma=g, residual=r, in_dtype="f32")
    x_address, r_address = x.ctypes.data, r.ctypes.data
    assert norm_mlir.fused_add_rms_norm(x, r, g, 1e-6) is None
    assert (x.ctypes.data, r.ctypes.data) == (x_address, r_address)
    tol = reference.output_tolerance(want["out"], "f32", shape[-1], gamma=g)
    assert np.all(np.abs(x - want["out"]) <= tol)
    np.testing.assert_array_equal(r, want["residual_out"])


def test_fused_add_rms_norm_torch_bf16(torch):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 2048, generator=gen).to(torch.bfloat16)
    r = torch.randn(4, 2048, generator=gen).to(torch.bfloat16)
    w = (torch.rand(2048, generator=gen) + 0.5).to(torch.bfloat16)
    # vLLM's reference: the sum rounded to bf16, then the norm in f32.
    h = (x.float() + r.float()).to(torch.bfloat16)
    hf = h.float()
    want = (hf * torch.rsqrt(hf.pow(2).mean(-1, keepdim=True) + 1e-6) *
            w.float())
    x_ptr, r_ptr = x.data_ptr(), r.data_ptr()
    norm_mlir.fused_add_rms_norm(x, r, w, 1e-6)
    assert (x.data_ptr(), r.data_ptr()) == (x_ptr, r_ptr)
    assert torch.equal(r, h)
    tol = reference.output_tolerance(want.double().numpy(), "bf16", 2048,
                                     gamma=w.float().double().numpy())
    assert (x.float() - want).abs().max().item() <= np.max(tol)


def test_fused_add_rms_norm_bad_arguments():
    x = np.ones((2, 8), np.float32)
    r = np.ones((2, 8), np.float32)
    with pytest.raises(ValueError, match="residual has shape"):
        norm_mlir.fused_add_rms_norm(x, np.ones((2, 4), np.float32))
    with pytest.raises(TypeError, match="residual has dtype"):
        norm_mlir.fused_add_rms_norm(x, np.ones((2, 8), np.float64))
    with pytest.raises(ValueError, match="x must be C-contiguous"):
        norm_mlir.fused_add_rms_norm(np.ones((8, 2), np.float32).T, r)
    read_only = np.ones((2, 8), np.float32)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="residual must be C-contiguous and "
                       "writable"):
        norm_mlir.fused_add_rms_norm(x, read_only)
    both = np.ones((4, 8), np.float32)
    with pytest.raises(ValueError, match="overlap"):
        norm_mlir.fused_add_rms_norm(both[:2], both[1:3])
    with pytest.raises(ValueError, match="gamma has shape"):
        norm_mlir.fused_add_rms_norm(x, r, np.ones(4, np.float32))
    with pytest.raises(ValueError, match="eps"):
        norm_mlir.fused_add_rms_norm(x, r, eps=0.0)
    # Nothing was written by the refused calls.
    assert np.all(x == 1) and np.all(r == 1)


def test_fused_add_rms_norm_bad_tensors(torch):
    t = torch.ones(2, 8, requires_grad=True)
    with pytest.raises(ValueError, match="x requires grad"):
        norm_mlir.fused_add_rms_norm(t, torch.ones(2, 8))
    with pytest.raises(ValueError, match="residual must be contiguous"):
        norm_mlir.fused_add_rms_norm(torch.ones(2, 8), torch.ones(8, 2).t())
    with pytest.raises(ValueError, match="only CPU"):
        norm_mlir.fused_add_rms_norm(torch.ones(2, 8, device="meta"),
                                     torch.ones(2, 8))
