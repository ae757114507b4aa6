"""Dynamic quantisation epilogues (vLLM's rms_norm_dynamic_per_token_quant
and rms_norm_per_block_quant): scales computed from each row or group.

The op-level sweeps run in lit (test/Integration/CPU/dynamic-quant.test and
its GPU twin); here: a transposed scales layout (a strided memref, the
layout vLLM's per-block kernel can write) through every lowering, and the
Python entry points, against float64, with their refusals."""

import numpy as np
import pytest

import norm_mlir
from norm_mlir import reference
from norm_mlir.core import tools
from norm_mlir.testing import harness

ROWS, N, G = 5, 256, 64

# The scales buffer is [N/G, rows] in memory; the op writes it through a
# transposed view, strided<[1, rows]>.
TRANSPOSED_IR = f"""
func.func @k(%x: memref<{ROWS}x{N}xbf16>, %g: memref<{N}xbf16>,
             %q: memref<{ROWS}x{N}xi8>, %st: memref<{N // G}x{ROWS}xf32>) {{
  %s = memref.transpose %st (i, j) -> (j, i)
      : memref<{N // G}x{ROWS}xf32> to memref<{ROWS}x{N // G}xf32, strided<[1, {ROWS}]>>
  norm.rms_norm eps(1.0e-06) ins(%x : memref<{ROWS}x{N}xbf16>)
      gamma(%g : memref<{N}xbf16>) outs(%q : memref<{ROWS}x{N}xi8>)
      scales(%s : memref<{ROWS}x{N // G}xf32, strided<[1, {ROWS}]>>)
      group_size({G})
  return
}}
"""


def inputs():
    rng = np.random.default_rng(7)
    x = reference.round_to(rng.standard_normal((ROWS, N)), "bf16")
    g = reference.round_to(rng.uniform(0.5, 1.5, N), "bf16")
    return x, g


def check_transposed(runner):
    x, g = inputs()
    args = [x, g, np.zeros((ROWS, N)), np.zeros((N // G, ROWS))]
    q, scales_t = runner(TRANSPOSED_IR, [harness.Call("k", args, [2, 3])])[0]
    want = reference.rms_norm(x, gamma=g, eps=1e-6, in_dtype="bf16")["out"]
    want_scales = reference.dynamic_scales(want, "i8", G)
    # The buffer holds the scales transposed.
    np.testing.assert_allclose(scales_t.T, want_scales, rtol=1e-5)
    want_q = reference.quantize(
        want, "i8", reference.expand_scales(scales_t.T, want.shape, G))
    assert np.max(np.abs(q - want_q)) <= 1


@pytest.mark.parametrize("pipeline", ["linalg", "cpu"])
def test_transposed_scales_cpu(pipeline):
    check_transposed(lambda ir, calls: harness.run_calls(ir, calls, pipeline))


def test_transposed_scales_gpu_emulated():
    try:
        tools.clang()
    except tools.ToolError:
        pytest.skip("the GPU emulator needs clang")
    check_transposed(harness.run_calls_emulated)


# -- norm_mlir.rms_norm_dynamic_quant / layer_norm_dynamic_quant -------------


def expected(op, x, gamma, beta, residual, eps):
    kwargs = dict(gamma=gamma, eps=eps, residual=residual, in_dtype="f32")
    if op == "layer_norm":
        return reference.layer_norm(x, beta=beta, **kwargs)
    return reference.rms_norm(x, **kwargs)


@pytest.mark.parametrize("op", ["rms_norm", "layer_norm"])
@pytest.mark.parametrize("quant_dtype,qname", [("int8", "i8"),
                                               ("float8_e4m3fn", "f8E4M3FN")])
@pytest.mark.parametrize("group_size", [None, 128])
@pytest.mark.parametrize("residual", [False, True])
def test_dynamic_quant_numpy(op, quant_dtype, qname, group_size, residual):
    rng = np.random.default_rng(11)
    shape = (3, 4, 512)
    x = rng.standard_normal(shape).astype(np.float32)
    r = rng.standard_normal(shape).astype(np.float32) if residual else None
    g = rng.uniform(0.5, 1.5, shape[-1]).astype(np.float32)
    b = rng.uniform(-0.5, 0.5, shape[-1]).astype(np.float32)
    eps = 1e-6 if op == "rms_norm" else 1e-5
    fn = getattr(norm_mlir, f"{op}_dynamic_quant")
    params = (g,) if op == "rms_norm" else (g, b)
    result = fn(x, *params, eps, quant_dtype=quant_dtype,
                group_size=group_size, residual=r, min_scale=1e-6)
    ref = expected(op, x, g, b if op == "layer_norm" else None, r, eps)
    q, scales = result[:2]
    groups = (shape[-1] // group_size,) if group_size else ()
    assert scales.shape == shape[:-1] + groups and scales.dtype == np.float32
    want_scales = reference.dynamic_scales(ref["out"], qname, group_size or 0,
                                           1e-6)
    np.testing.assert_allclose(scales, want_scales, rtol=1e-5)
    got_q = q.astype(np.float64) if qname == "i8" else \
        reference.f8e4m3fn_bits_to_float(q)
    want_q = reference.quantize(ref["out"], qname, reference.expand_scales(
        scales, shape, group_size or 0))
    step = reference.quantization_step(want_q, qname)
    assert np.all(np.abs(got_q - want_q) <= step)
    if residual:
        np.testing.assert_array_equal(result[2], ref["residual_out"])
    else:
        assert len(result) == 2


def test_dynamic_quant_scale_ub_binds():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 256)).astype(np.float32)
    q, scales = norm_mlir.rms_norm_dynamic_quant(x, scale_ub=0.01)
    # amax / 127 is ~0.02 for unit rows: the bound holds every scale, and
    # the largest values saturate.
    np.testing.assert_array_equal(scales, np.float32(0.01))
    assert (np.abs(q) == 127).any()


def test_dynamic_quant_torch(torch):
    x = torch.randn(6, 1024, generator=torch.Generator().manual_seed(0))
    q, scales = norm_mlir.rms_norm_dynamic_quant(x, group_size=128)
    assert q.dtype == torch.int8 and scales.shape == (6, 8)
    fp8, _ = norm_mlir.layer_norm_dynamic_quant(x, quant_dtype="fp8")
    assert fp8.dtype == torch.uint8  # f8E4M3FN bit patterns


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(group_size=100), ValueError, "group_size 100 must be positive and "
     "divide the row length 256"),
    (dict(group_size=0), ValueError, "group_size 0 must be positive"),
    (dict(group_size=64.0), TypeError, "group_size must be an int"),
    (dict(quant_dtype="int4"), TypeError, "quant_dtype 'int4' is not "
     "supported"),
    (dict(quant_dtype="float8_e5m2"), TypeError, "is not supported"),
    (dict(min_scale=-1.0), ValueError, "min_scale must be a finite number "
     ">= 0"),
    (dict(scale_ub=0.0), ValueError, "scale_ub must be a finite number > 0"),
    (dict(scale_ub=float("nan")), ValueError, "scale_ub must be a finite"),
    (dict(gamma=np.ones(128, np.float32)), ValueError, "gamma has shape "
     "(128,); expected the normalised shape (256,) of x"),
    (dict(residual=np.ones((4, 256), np.float16)), TypeError, "residual has "
     "dtype float16"),
])
def test_dynamic_quant_refuses(kwargs, error, message):
    x = np.ones((4, 256), np.float32)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(
            ")", r"\)")):
        norm_mlir.rms_norm_dynamic_quant(x, **kwargs)


def test_dynamic_quant_refuses_grad(torch):
    x = torch.randn(2, 64, requires_grad=True)
    with pytest.raises(ValueError, match="quantisation is not differentiable"):
        norm_mlir.rms_norm_dynamic_quant(x)
