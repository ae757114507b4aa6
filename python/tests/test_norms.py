"""norm_mlir.layer_norm / rms_norm: JIT-compiled kernels checked against the
float64 reference (python/norm_mlir/reference.py) and torch, within
docs/Tolerances.md; the kernel cache; and clear errors for bad calls."""

import threading

import numpy as np
import pytest

import norm_mlir
from norm_mlir import reference
from conftest import STORAGE, jit_pipelines, store, values_of

PIPELINES = jit_pipelines()


def make(rng, shape, dtype, data="normal"):
    """An input array stored as `dtype` and its (rounded) float64 values."""
    if data == "normal":
        values = rng.standard_normal(shape)
    elif data == "uniform":
        values = rng.uniform(-1, 1, shape)
    elif data == "large_mean":
        values = 1e4 + rng.standard_normal(shape)
    else:
        raise ValueError(data)
    return store(values, dtype)


def check_close(got, want, out_dtype, n, gamma=None, data="normal"):
    tol = reference.output_tolerance(want, out_dtype, n, data, gamma)
    err = np.abs(got - want)
    assert np.isfinite(got).all()
    assert (err <= tol).all(), (f"max |err| {err.max():.3g} vs tol "
                                f"{np.max(tol):.3g} ({int((err > tol).sum())} bad)")


def run(op, x, dtype, axis=-1, gamma=None, beta=None, eps=None, **kwargs):
    """Calls norm_mlir.<op> and reference.<op>; returns (got, want) as
    float64 arrays."""
    xs, xv = x
    gs, gv = gamma if gamma is not None else (None, None)
    if op == "layer_norm":
        eps = 1e-5 if eps is None else eps
        bs, bv = beta if beta is not None else (None, None)
        got = norm_mlir.layer_norm(xs, gs, bs, eps=eps, axis=axis, **kwargs)
        want = reference.layer_norm(xv, gv, bv, eps=eps, axis=axis,
                                    in_dtype=dtype)["out"]
    else:
        eps = 1e-6 if eps is None else eps
        got = norm_mlir.rms_norm(xs, gs, eps=eps, axis=axis, **kwargs)
        want = reference.rms_norm(xv, gv, eps=eps, axis=axis, in_dtype=dtype)["out"]
    return got, want


# -- numbers -----------------------------------------------------------------

SHAPES = [((1, 1), -1), ((3, 7), -1), ((4, 768), -1), ((5, 33), 1),
          ((2, 3, 16), -1), ((2, 3, 5), 1), ((13,), 0), ((3, 4099), -1)]


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize("op", ["layer_norm", "rms_norm"])
@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16", "f64"])
@pytest.mark.parametrize("shape,axis", SHAPES)
def test_against_reference(pipeline, op, dtype, shape, axis):
    rng = np.random.default_rng(hash((op, dtype, shape)) % 2**32)
    normalized = shape[axis % len(shape):]
    x = make(rng, shape, dtype)
    gamma = make(rng, normalized, dtype)
    beta = make(rng, normalized, dtype) if op == "layer_norm" else None
    got, want = run(op, x, dtype, axis, gamma, beta, pipeline=pipeline)
    assert got.shape == shape and got.dtype == STORAGE[dtype]
    check_close(values_of(got, dtype), want, dtype, int(np.prod(normalized)),
                gamma[1])


@pytest.mark.parametrize("op", ["layer_norm", "rms_norm"])
def test_without_gamma_and_beta(op):
    rng = np.random.default_rng(1)
    x = make(rng, (6, 40), "f32")
    got, want = run(op, x, "f32")
    check_close(got, want, "f32", 40)


@pytest.mark.parametrize("op", ["layer_norm", "rms_norm"])
def test_gamma_only(op):
    rng = np.random.default_rng(2)
    x, gamma = make(rng, (6, 40), "f32"), make(rng, (40,), "f32")
    got, want = run(op, x, "f32", gamma=gamma)
    check_close(got, want, "f32", 40, gamma[1])


def test_uniform_data_and_eps():
    rng = np.random.default_rng(3)
    x = make(rng, (4, 96), "f32", "uniform")
    got, want = run("layer_norm", x, "f32", eps=0.5)
    check_close(got, want, "f32", 96)


def test_large_mean_is_stable():
    rng = np.random.default_rng(4)
    x = make(rng, (4, 1000), "f32", "large_mean")
    got, want = run("layer_norm", x, "f32")
    check_close(got, want, "f32", 1000, data="large_mean")


def test_constant_rows_are_exactly_beta():
    rng = np.random.default_rng(5)
    x = np.broadcast_to(rng.uniform(-3, 3, (4, 1)), (4, 256)).astype(np.float32)
    gamma, beta = make(rng, (256,), "f32"), make(rng, (256,), "f32")
    got = norm_mlir.layer_norm(x, gamma[0], beta[0])
    assert (got == np.broadcast_to(beta[0], x.shape)).all()


def test_non_finite_rows_are_nan_and_others_unaffected():
    rng = np.random.default_rng(6)
    x, xv = make(rng, (4, 32), "f32")
    x[0, 5], x[2, 0] = np.inf, np.nan
    for op in ("layer_norm", "rms_norm"):
        got = getattr(norm_mlir, op)(x)
        assert np.isnan(got[[0, 2]]).all()
        assert np.isfinite(got[[1, 3]]).all()


@pytest.mark.parametrize("scale", [1e-20, 1e18])
def test_tiny_and_huge(scale):
    rng = np.random.default_rng(7)
    x = (scale * rng.standard_normal((4, 512))).astype(np.float32)
    for op in ("layer_norm", "rms_norm"):
        got = getattr(norm_mlir, op)(x)
        want = getattr(reference, op)(x.astype(np.float64))["out"]
        assert np.isfinite(got).all()
        rows = np.max(np.abs(want), axis=1, keepdims=True)
        assert (np.abs(got - want) <= 1e-4 * rows).all()


@pytest.mark.parametrize("op", ["layer_norm", "rms_norm"])
@pytest.mark.parametrize("dtype", ["f32", "bf16"])
def test_residual(op, dtype):
    rng = np.random.default_rng(8)
    x, r, gamma = (make(rng, (6, 40), dtype), make(rng, (6, 40), dtype),
                   make(rng, (40,), dtype))
    fn = getattr(norm_mlir, op)
    out, summed = fn(x[0], gamma[0], residual=r[0])
    ref = getattr(reference, op)(x[1], gamma[1], residual=r[1], in_dtype=dtype)
    assert summed.dtype == x[0].dtype
    assert (values_of(summed, dtype) == ref["residual_out"]).all()
    check_close(values_of(out, dtype), ref["out"], dtype, 40, gamma[1])


@pytest.mark.parametrize("dtype,out_dtype,expect", [
    ("bf16", np.float32, "f32"), ("f32", "float16", "f16"),
    ("f32", "bf16", "bf16"), ("f16", "f32", "f32")])
def test_out_dtype(dtype, out_dtype, expect):
    rng = np.random.default_rng(9)
    x, gamma = make(rng, (4, 24), dtype), make(rng, (24,), dtype)
    got, want = run("rms_norm", x, dtype, gamma=gamma, out_dtype=out_dtype)
    assert got.dtype == STORAGE[expect]
    check_close(values_of(got, expect), want, expect, 24, gamma[1])


def test_gamma_in_another_float_type():
    rng = np.random.default_rng(10)
    x, gamma, beta = (make(rng, (4, 64), "bf16"), make(rng, (64,), "f32"),
                      make(rng, (64,), "f32"))
    got, want = run("layer_norm", x, "bf16", gamma=gamma, beta=beta)
    check_close(values_of(got, "bf16"), want, "bf16", 64, gamma[1])


def test_non_contiguous_input():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((64, 8)).astype(np.float32).T  # 8 x 64, strided
    got = norm_mlir.layer_norm(x)
    want = reference.layer_norm(x.astype(np.float64))["out"]
    check_close(got, want, "f32", 64)


def test_zero_rows():
    x = np.zeros((0, 16), np.float32)
    before = norm_mlir.cache_info()
    got = norm_mlir.layer_norm(x)
    assert got.shape == (0, 16)
    assert norm_mlir.cache_info().misses == before.misses


# -- torch ---------------------------------------------------------------------


def torch_rms_norm(torch, x, gamma, eps, dims):
    """RMSNorm written in torch (Zhang & Sennrich 2019)."""
    y = x * torch.rsqrt(x.pow(2).mean(dim=dims, keepdim=True) + eps)
    return y if gamma is None else y * gamma


@pytest.mark.parametrize("shape,axis", [((256, 768), -1), ((8, 3, 64), 1),
                                        ((5, 33), -1)])
def test_layer_norm_agrees_with_torch(torch, shape, axis):
    rng = np.random.default_rng(12)
    normalized = shape[axis % len(shape):]
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(normalized).astype(np.float32)
    b = rng.standard_normal(normalized).astype(np.float32)
    got = norm_mlir.layer_norm(x, g, b, eps=1e-5, axis=axis)
    want = torch.nn.functional.layer_norm(
        torch.from_numpy(x), normalized, torch.from_numpy(g),
        torch.from_numpy(b), eps=1e-5).numpy()
    check_close(got.astype(np.float64), want.astype(np.float64), "f32",
                int(np.prod(normalized)), g)


@pytest.mark.parametrize("shape,axis", [((256, 768), -1), ((8, 3, 64), 1)])
def test_rms_norm_agrees_with_torch(torch, shape, axis):
    rng = np.random.default_rng(13)
    axis = axis % len(shape)
    normalized = shape[axis:]
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(normalized).astype(np.float32)
    got = norm_mlir.rms_norm(x, g, eps=1e-6, axis=axis)
    want = torch_rms_norm(torch, torch.from_numpy(x), torch.from_numpy(g), 1e-6,
                          tuple(range(axis, len(shape)))).numpy()
    check_close(got.astype(np.float64), want.astype(np.float64), "f32",
                int(np.prod(normalized)), g)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_torch_tensors_in_and_out(torch, dtype):
    tdtype = getattr(torch, dtype)
    x = torch.randn(4, 3, 64, generator=torch.Generator().manual_seed(0)).to(tdtype)
    g = torch.ones(64, dtype=tdtype)
    r = torch.randn(4, 3, 64).to(tdtype)
    out, summed = norm_mlir.rms_norm(x, g, residual=r)
    assert isinstance(out, torch.Tensor) and out.dtype == tdtype
    assert out.shape == x.shape
    element = {"float32": "f32", "bfloat16": "bf16", "float16": "f16"}[dtype]
    as64 = lambda t: t.to(torch.float64).numpy()
    ref = reference.rms_norm(as64(x), as64(g), residual=as64(r), in_dtype=element)
    assert (as64(summed) == ref["residual_out"]).all()
    check_close(as64(out), ref["out"], element, 64)
    # torch's own bf16/f16 kernels agree to the same tolerance.
    want = torch_rms_norm(torch, (x + r).float(), g.float(), 1e-6, (-1,))
    check_close(as64(out), want.to(torch.float64).numpy(), element, 64)


def test_torch_out_dtype(torch):
    x = torch.randn(4, 32, dtype=torch.bfloat16)
    out = norm_mlir.layer_norm(x, out_dtype=torch.float32)
    assert out.dtype == torch.float32


# -- the kernel cache -----------------------------------------------------------


def test_cache_hit_on_second_call():
    norm_mlir.clear_cache()
    x = np.random.default_rng(14).standard_normal((8, 128)).astype(np.float32)
    first = norm_mlir.layer_norm(x)
    assert norm_mlir.cache_info() == (0, 1, 1)
    second = norm_mlir.layer_norm(x)
    assert norm_mlir.cache_info() == (1, 1, 1)
    assert (first == second).all()


def test_one_kernel_serves_every_row_count():
    norm_mlir.clear_cache()
    rng = np.random.default_rng(15)
    g = rng.standard_normal(96).astype(np.float32)
    for shape in [(1, 96), (7, 96), (256, 96), (2, 5, 96), (96,)]:
        x = rng.standard_normal(shape).astype(np.float32)
        got = norm_mlir.rms_norm(x, g)
        check_close(got, reference.rms_norm(x.astype(np.float64), g)["out"],
                    "f32", 96, g)
    assert norm_mlir.cache_info().misses == 1


def test_signature_changes_compile_new_kernels():
    norm_mlir.clear_cache()
    x = np.ones((2, 16), np.float32)
    norm_mlir.layer_norm(x)
    norm_mlir.layer_norm(x, eps=1e-3)          # eps
    norm_mlir.layer_norm(x.astype(np.float16))  # dtype
    norm_mlir.rms_norm(x)                      # op
    norm_mlir.layer_norm(np.ones((2, 17), np.float32))  # N
    assert norm_mlir.cache_info().misses == 5


def test_concurrent_calls():
    rng = np.random.default_rng(16)
    x = rng.standard_normal((64, 256)).astype(np.float32)
    want = norm_mlir.layer_norm(x)
    results, errors = [], []

    def work():
        try:
            for _ in range(20):
                results.append(norm_mlir.layer_norm(x))
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all((r == want).all() for r in results)


# -- errors ----------------------------------------------------------------------

X = np.ones((4, 8), np.float32)


@pytest.mark.parametrize("call,error,message", [
    (lambda: norm_mlir.layer_norm(X, np.ones(7, np.float32)), ValueError,
     r"gamma has shape \(7,\); expected the normalised shape \(8,\)"),
    (lambda: norm_mlir.layer_norm(X, beta=np.ones((4, 8), np.float32)), ValueError,
     r"beta has shape \(4, 8\)"),
    (lambda: norm_mlir.layer_norm(X, np.ones((4, 8), np.float32), axis=0),
     None, None),
    (lambda: norm_mlir.rms_norm(X, residual=np.ones((4, 9), np.float32)),
     ValueError, r"residual has shape \(4, 9\)"),
    (lambda: norm_mlir.rms_norm(X, residual=np.ones((4, 8))), TypeError,
     "residual has dtype float64; expected the dtype of x"),
    (lambda: norm_mlir.layer_norm(X, eps=0.0), ValueError,
     "eps must be a positive finite number, got 0.0"),
    (lambda: norm_mlir.layer_norm(X, eps=-1e-5), ValueError, "positive finite"),
    (lambda: norm_mlir.layer_norm(X, eps=float("nan")), ValueError, "positive finite"),
    (lambda: norm_mlir.rms_norm(X, eps=float("inf")), ValueError, "positive finite"),
    (lambda: norm_mlir.layer_norm(X, eps="1e-5"), TypeError, "eps must be a real"),
    (lambda: norm_mlir.layer_norm(X, eps=True), TypeError, "eps must be a real"),
    (lambda: norm_mlir.layer_norm(X.astype(np.int32)), TypeError,
     "x has dtype int32; expected float32, float16, float64, or bf16"),
    (lambda: norm_mlir.layer_norm(X.astype(np.complex64)), TypeError, "complex64"),
    (lambda: norm_mlir.layer_norm(X, np.ones(8, np.int64)), TypeError,
     "gamma has dtype int64"),
    (lambda: norm_mlir.layer_norm(X, np.ones(8, np.float32), np.ones(8, np.float16)),
     TypeError, "gamma and beta must have the same dtype"),
    (lambda: norm_mlir.layer_norm(X, out_dtype="int8"), TypeError,
     "out_dtype 'int8' is not supported"),
    (lambda: norm_mlir.layer_norm(X, out_dtype=np.int16), TypeError, "out_dtype"),
    (lambda: norm_mlir.layer_norm(X, axis=2), ValueError,
     "axis 2 is out of range for an input of rank 2"),
    (lambda: norm_mlir.layer_norm(X, axis=-3), ValueError, "out of range"),
    (lambda: norm_mlir.layer_norm(X, axis=1.0), TypeError, "axis must be an int"),
    (lambda: norm_mlir.layer_norm(np.float32(1.0)), ValueError, "rank >= 1"),
    (lambda: norm_mlir.layer_norm(np.ones((3, 0), np.float32)), ValueError,
     "must be non-empty"),
    (lambda: norm_mlir.layer_norm("abc"), TypeError, "must be a numpy array"),
    (lambda: norm_mlir.layer_norm(X, pipeline="--no-such-pass"),
     norm_mlir.MLIRError, "'no-such-pass' does not refer to a registered pass"),
])
def test_errors(call, error, message):
    if error is None:  # gamma of the full shape with axis 0 is fine.
        call()
        return
    with pytest.raises(error, match=message):
        call()
    # The interpreter and the JIT carry on.
    assert norm_mlir.layer_norm(X).shape == X.shape
