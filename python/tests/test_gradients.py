"""Gradients: norm_mlir.layer_norm_backward / rms_norm_backward (the
norm.*_grad kernels) against the float64 reference within
docs/Tolerances.md ("Gradients"), and norm_mlir.torch's autograd Functions
and modules against torch's own gradients."""

import os
import subprocess
import sys

import numpy as np
import pytest

import norm_mlir
from norm_mlir import reference
from conftest import STORAGE, jit_pipelines, store, values_of

PIPELINES = jit_pipelines()
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))


def check(got, want, dtype, n=None, m=None, what=""):
    tol = reference.gradient_tolerance(want, dtype, n=n, m=m)
    err = np.abs(values_of(got, dtype) - want)
    assert np.isfinite(values_of(got, dtype)).all(), what
    assert (err <= tol).all(), (f"{what}: max |err| {err.max():.3g}, tol "
                                f"{np.min(tol):.3g}.. ({int((err > tol).sum())} bad)")


def inputs(rng, op, shape, axis, dtype):
    normalized = shape[axis % len(shape):]
    x = store(rng.standard_normal(shape), dtype)
    dy = store(rng.standard_normal(shape), dtype)
    gamma = store(rng.uniform(0.5, 1.5, normalized), dtype)
    beta = store(rng.standard_normal(normalized), dtype)
    return x, dy, gamma, beta


SHAPES = [((3, 7), -1), ((64, 768), -1), ((5, 33), 1), ((2, 3, 16), -1),
          ((2, 3, 5), 1), ((13,), 0), ((4, 4099), -1)]


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize("op", ["layer_norm", "rms_norm"])
@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16", "f64"])
@pytest.mark.parametrize("shape,axis", SHAPES)
def test_saved_statistics_against_reference(pipeline, op, dtype, shape, axis):
    """The forward's saved mean/rstd in, dx, dgamma (and dbeta) out, over
    one or several leading row dims."""
    rng = np.random.default_rng(hash((op, dtype, shape, axis)) % 2**32)
    (xs, xv), (dys, dyv), (gs, gv), (bs, _) = inputs(rng, op, shape, axis,
                                                      dtype)
    if op == "layer_norm":
        _, mean, rstd = norm_mlir.layer_norm(xs, gs, bs, axis=axis,
                                             return_statistics=True,
                                             pipeline=pipeline)
        dx, dg, db = norm_mlir.layer_norm_backward(
            dys, xs, mean, rstd, gs, axis=axis, pipeline=pipeline)
    else:
        mean = None
        _, rstd = norm_mlir.rms_norm(xs, gs, axis=axis, return_statistics=True,
                                     pipeline=pipeline)
        dx, dg = norm_mlir.rms_norm_backward(dys, xs, rstd, gs, axis=axis,
                                             pipeline=pipeline)
        db = None
    stats_dtype = np.float64 if dtype == "f64" else np.float32
    assert rstd.dtype == stats_dtype and rstd.shape == shape[:axis % len(shape)]
    want = reference.norm_backward(op, dyv, xv, gv, mean, rstd, axis=axis,
                                   in_dtype=dtype)
    normalized = shape[axis % len(shape):]
    n, m = int(np.prod(normalized)), int(np.prod(shape[:axis % len(shape)]))
    assert dx.shape == shape and dx.dtype == STORAGE[dtype]
    assert dg.shape == normalized and dg.dtype == STORAGE[dtype]
    check(dx, want["dx"], dtype, n=n, what="dx")
    check(dg, want["dgamma"], dtype, m=m, what="dgamma")
    if op == "layer_norm":
        check(db, want["dbeta"], dtype, m=m, what="dbeta")


@pytest.mark.parametrize("op", ["layer_norm", "rms_norm"])
@pytest.mark.parametrize("dtype", ["f32", "bf16"])
def test_recomputed_statistics(op, dtype):
    """No mean/rstd given: the kernel recomputes them from x with eps, as
    JAX's rematerialised gradients do."""
    rng = np.random.default_rng(7)
    (xs, xv), (dys, dyv), (gs, gv), _ = inputs(rng, op, (9, 300), -1, dtype)
    eps = 1e-5 if op == "layer_norm" else 1e-6
    fn = getattr(norm_mlir, f"{op}_backward")
    dx, dg = fn(dys, xs, gamma=gs, eps=eps)[:2]
    want = reference.norm_backward(op, dyv, xv, gv, eps=eps, in_dtype=dtype)
    check(dx, want["dx"], dtype, n=300, what="dx")
    check(dg, want["dgamma"], dtype, m=9, what="dgamma")


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize("spec", [
    "op=layer_norm shape=40x256 gamma dx dgamma dbeta data=large_mean seed=13",
    "op=layer_norm shape=24x100 dynamic gamma dx data=large_mean seed=14",
    # Rows of 2 whose elements nearly agree: the same at the scale of a row
    # (difftest seed 41, case 632).
    "op=layer_norm shape=3000x2 gamma dx eps=1e-06 seed=15",
])
def test_recomputed_statistics_of_rows_with_a_large_mean(pipeline, spec):
    """Recomputed statistics keep the mean as its pivot and offset, so x is
    centred as (x - p) - d, never by the rounded mean, whose rounding
    swamps a row's spread when the mean is large next to it."""
    from norm_mlir.testing import harness
    from norm_mlir.testing.grad_cases import GradCase
    case = GradCase.parse(spec + " abi=memref")
    values = case.inputs()
    args, outputs = case.call_args(values)
    got = harness.run_calls(case.kernel_ir("grad"),
                            [harness.Call("grad", args, outputs)],
                            pipeline=pipeline)[0]
    assert case.check(got, values) == []


@pytest.mark.parametrize("op", ["layer_norm", "rms_norm"])
def test_without_gamma_with_residual_grad(op):
    """No gamma (wdy = dy), and a residual gradient added into dx."""
    rng = np.random.default_rng(8)
    (xs, xv), (dys, dyv), _, _ = inputs(rng, op, (6, 40), -1, "f32")
    dr = rng.standard_normal((6, 40)).astype(np.float32)
    fn = getattr(norm_mlir, f"{op}_backward")
    dx, dg = fn(dys, xs, residual_grad=dr, eps=1e-5)[:2]
    want = reference.norm_backward(op, dyv, xv, eps=1e-5, residual_grad=dr)
    check(dx, want["dx"], "f32", n=40, what="dx")
    check(dg, want["dgamma"], "f32", m=6, what="dgamma")
    # The residual gradient is really added: without it dx differs by it.
    plain = fn(dys, xs, eps=1e-5, dgamma=False)[0]
    np.testing.assert_allclose(dx - plain, dr, atol=1e-6)


def test_only_what_is_asked_for():
    rng = np.random.default_rng(9)
    (xs, xv), (dys, dyv), (gs, gv), _ = inputs(rng, "layer_norm", (5, 64), -1,
                                                "f32")
    dx, dg, db = norm_mlir.layer_norm_backward(dys, xs, gamma=gs, dx=False,
                                               dbeta=False)
    assert dx is None and db is None and dg.shape == (64,)
    want = reference.norm_backward("layer_norm", dyv, xv, gv)
    check(dg, want["dgamma"], "f32", m=5)


def test_parameter_gradients_are_deterministic():
    """dgamma/dbeta sum over rows in a fixed order: the same bits on every
    run and from a freshly compiled kernel."""
    rng = np.random.default_rng(10)
    (xs, _), (dys, _), (gs, _), _ = inputs(rng, "layer_norm", (2048, 256), -1,
                                           "f32")
    first = norm_mlir.layer_norm_backward(dys, xs, gamma=gs)
    for _ in range(2):
        again = norm_mlir.layer_norm_backward(dys, xs, gamma=gs)
        for a, b in zip(first[1:], again[1:]):
            assert a.tobytes() == b.tobytes()
    norm_mlir.clear_cache()
    recompiled = norm_mlir.layer_norm_backward(dys, xs, gamma=gs)
    for a, b in zip(first[1:], recompiled[1:]):
        assert a.tobytes() == b.tobytes()


def test_bad_calls():
    x = np.zeros((4, 8), np.float32)
    with pytest.raises(ValueError, match="mean and rstd together"):
        norm_mlir.layer_norm_backward(x, x, mean=np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="expected the row shape"):
        norm_mlir.rms_norm_backward(x, x, rstd=np.zeros(8, np.float32))
    with pytest.raises(ValueError, match="dx, dgamma and dbeta are all False"):
        norm_mlir.layer_norm_backward(x, x, dx=False, dgamma=False, dbeta=False)
    with pytest.raises(ValueError, match="dy has shape"):
        norm_mlir.layer_norm_backward(np.zeros((4, 9), np.float32), x)
    with pytest.raises(ValueError, match="added into dx"):
        norm_mlir.rms_norm_backward(x, x, residual_grad=x, dx=False)


# -- PyTorch --------------------------------------------------------------------


def test_gradcheck_f64(torch):
    """torch.autograd.gradcheck of the autograd Functions in f64: x, gamma,
    beta and the residual, against finite differences."""
    import norm_mlir.torch as nt
    torch.manual_seed(0)
    x = torch.randn(3, 2, 8, dtype=torch.float64, requires_grad=True)
    g = torch.rand(8, dtype=torch.float64).add(0.5).requires_grad_()
    b = torch.randn(8, dtype=torch.float64, requires_grad=True)
    r = torch.randn(3, 2, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, g, b: nt.layer_norm(x, (8,), g, b, 1e-5), (x, g, b))
    assert torch.autograd.gradcheck(
        lambda x, g: nt.rms_norm(x, g, 1e-6), (x, g))
    # Over two normalised dims, and with a residual (both outputs used).
    assert torch.autograd.gradcheck(
        lambda x: nt.layer_norm(x, (2, 8), eps=1e-5), (x,))
    assert torch.autograd.gradcheck(
        lambda x, r, g: sum(t.sum() * (i + 1) for i, t in enumerate(
            nt.rms_norm(x, g, 1e-6, residual=r))), (x, r, g))


def backward(module, x0, dy, params):
    """`module`'s output on a fresh copy of x0 and, after backpropagating
    dy, the gradients of x and of `params`."""
    x = x0.clone().requires_grad_()
    y = module(x)
    y.backward(dy)
    return (y, x.grad) + tuple(p.grad for p in params)


def _compare_with_torch(results, truths, name, kws, what):
    """Ours (results[0]) against torch (results[1]): within the tolerance of
    torch's own distance from the float64 truth, plus ours's bound; and
    ours within its bound of the truth."""
    for ours, theirs, truth, kw, label in zip(*results, truths, kws, what):
        ours = ours.detach().double().numpy()
        theirs = theirs.detach().double().numpy()
        tol = 2 * reference.gradient_tolerance(truth, name, **kw)
        assert (np.abs(ours - truth) <= tol).all(), (
            f"{label} vs float64: {np.abs(ours - truth).max():.3g}")
        slack = np.abs(theirs - truth)
        assert (np.abs(ours - theirs) <= tol + slack).all(), (
            f"{label} vs torch: {np.abs(ours - theirs).max():.3g}")


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_modules_match_torch(torch, dtype):
    """nt.LayerNorm and nt.RMSNorm drop in for torch.nn.LayerNorm and a
    Llama RMSNorm: same parameters (state dicts load either way), and
    outputs and gradients of x, weight and bias that agree with torch's
    within the tolerances, where torch's own rounding (bf16) is allowed
    for by its distance from the float64 truth."""
    import norm_mlir.torch as nt
    from norm_mlir.testing.torch_modules import LlamaRMSNorm
    torch_dtype = getattr(torch, dtype)
    name = "f32" if dtype == "float32" else "bf16"
    torch.manual_seed(1)
    x0 = torch.randn(4, 16, 256).to(torch_dtype)
    dy = torch.randn(4, 16, 256).to(torch_dtype)
    xv, dyv = x0.double().numpy(), dy.double().numpy()
    kws = ({"n": 256}, {"n": 256}, {"m": 64}, {"m": 64})

    ours = nt.LayerNorm(256, dtype=torch_dtype)
    theirs = torch.nn.LayerNorm(256, dtype=torch_dtype)
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        theirs.bias.normal_()
    ours.load_state_dict(theirs.state_dict())
    results = [backward(m, x0, dy, (m.weight, m.bias)) for m in (ours, theirs)]
    gv = theirs.weight.detach().double().numpy()
    bv = theirs.bias.detach().double().numpy()
    forward = reference.layer_norm(xv, gv, bv, eps=1e-5, in_dtype=name)
    grads = reference.norm_backward("layer_norm", dyv, xv, gv, eps=1e-5,
                                    in_dtype=name)
    _compare_with_torch(results, (forward["out"], grads["dx"],
                                  grads["dgamma"], grads["dbeta"]),
                        name, kws, ("LayerNorm out", "dx", "dgamma", "dbeta"))

    ours = nt.RMSNorm(256, dtype=torch_dtype)
    theirs = LlamaRMSNorm(256).to(torch_dtype)
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
    ours.load_state_dict(theirs.state_dict())
    results = [backward(m, x0, dy, (m.weight,)) for m in (ours, theirs)]
    gv = theirs.weight.detach().double().numpy()
    forward = reference.rms_norm(xv, gv, eps=1e-6, in_dtype=name)
    grads = reference.norm_backward("rms_norm", dyv, xv, gv, eps=1e-6,
                                    in_dtype=name)
    _compare_with_torch(results, (forward["out"], grads["dx"],
                                  grads["dgamma"]),
                        name, kws[:3], ("RMSNorm out", "dx", "dgamma"))


def test_plain_functions_keep_the_graph(torch):
    """norm_mlir.layer_norm / rms_norm on tensors that require grad return
    results in the autograd graph (they used to be silently detached)."""
    torch.manual_seed(2)
    x = torch.randn(5, 64, requires_grad=True)
    g = torch.rand(64).add(0.5).requires_grad_()
    y = norm_mlir.rms_norm(x, g)
    assert y.requires_grad and y.grad_fn is not None
    y.sum().backward()
    assert x.grad is not None and g.grad is not None
    want = reference.norm_backward(
        "rms_norm", np.ones((5, 64)), x.detach().double().numpy(),
        g.detach().double().numpy(), eps=1e-6)
    check(x.grad.numpy(), want["dx"], "f32", n=64)
    check(g.grad.numpy(), want["dgamma"], "f32", m=5)
    out, summed = norm_mlir.layer_norm(x, residual=x.detach() * 2)
    assert out.grad_fn is not None and summed.grad_fn is not None
    with pytest.raises(ValueError, match="return_statistics is not differentiable"):
        norm_mlir.layer_norm(x, return_statistics=True)
    with torch.no_grad():
        assert norm_mlir.layer_norm(x).grad_fn is None


def test_training_example_matches_torch(torch):
    """python/examples/train_prenorm.py trains a toy pre-norm model with
    norm_mlir.torch's modules and with torch's; the losses agree."""
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "python", "examples",
                                      "train_prenorm.py"), "--steps", "5"],
        capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": os.path.join(ROOT, "python")})
    assert "losses agree" in result.stdout, result.stdout + result.stderr


def test_parameter_gradients_same_bits_at_every_thread_count(monkeypatch):
    """The CPU kernel sums dgamma/dbeta over blocks of rows fixed by M alone
    (min(M, 64) of them), in block order: the OpenMP build gives the same
    bits on 1 and 2 threads as the serial one, and dx too."""
    from norm_mlir.core import kernels
    from norm_mlir.testing import harness
    rng = np.random.default_rng(11)
    m, n = 301, 200
    x = reference.round_to(rng.standard_normal((m, n)), "f32")
    dy = reference.round_to(rng.standard_normal((m, n)), "f32")
    g = reference.round_to(rng.uniform(0.5, 1.5, n), "f32")
    stats = reference.layer_norm(x, eps=1e-5)
    mean = reference.round_to(stats["mean"], "f32")
    rstd = reference.round_to(stats["rstd"], "f32")
    ir = kernels.NormGradKernel(op="layer_norm", n=n, gamma=True, dx=True,
                                dgamma=True, dbeta=True).ir("grad")
    call = harness.Call("grad", [x, dy, g, mean, rstd, np.zeros((m, n)),
                                 np.zeros(n), np.zeros(n)],
                        output_args=[5, 6, 7])
    results = {}
    for threads, options in (("serial", "openmp=false"), ("1", "openmp=true"),
                             ("2", "openmp=true")):
        monkeypatch.setenv("OMP_NUM_THREADS", "1" if threads == "serial"
                           else threads)
        results[threads] = harness.run_calls(
            ir, [call], pipeline=f"--norm-cpu-pipeline={options}")[0]
    for threads in ("1", "2"):
        for got, want in zip(results[threads], results["serial"]):
            assert got.tobytes() == want.tobytes(), threads
    want = reference.norm_backward("layer_norm", dy, x, g, mean, rstd)
    check(results["serial"][1], want["dgamma"], "f32", m=m, what="dgamma")
    check(results["serial"][0], want["dx"], "f32", n=n, what="dx")


_TILE_REDUCTION = """module attributes {{transform.with_named_sequence}} {{
  transform.named_sequence @__transform_main(
      %root: !transform.any_op {{transform.readonly}}) {{
    %op = transform.structured.match ops{{["norm.layer_norm_grad",
        "norm.rms_norm_grad"]}} in %root
        : (!transform.any_op) -> !transform.any_op
    %r:{results} = transform.structured.tile_reduction_using_forall %op
        by num_threads = [{threads}]
        : (!transform.any_op) -> ({handles})
    transform.yield
  }}
}}
"""


@pytest.mark.parametrize("spec,threads,results", [
    # Every gradient, bf16: 3 initial values, the tiled op, a reduce and a
    # truncf for each of dgamma and dbeta, the loop.
    ("op=layer_norm shape=37x48 dtype=bf16 gamma saved dx dgamma dbeta", 4, 9),
    # f32, recomputed statistics, dgamma alone: no rounding after the merge.
    ("op=rms_norm shape=50x24 gamma dgamma", 3, 4),
    # Two row dims, the first tiled: rows are slabs of 5 x 7.
    ("op=layer_norm shape=10x7x16 axis=2 dtype=f16 gamma saved dx dbeta", 2,
     6),
])
def test_partial_reduction_tiling_against_reference(tmp_path, spec, threads,
                                                    results):
    """PartialReductionOpInterface: `tile_reduction_using_forall` splits a
    gradient op's row sums into one f32 partial per tile (an scf.forall of
    the op on row slabs) and a merge (linalg.reduce, then one rounding);
    run through the CPU pipeline, it agrees with the float64 reference."""
    from norm_mlir.testing import harness
    from norm_mlir.testing.grad_cases import GradCase
    case = GradCase.parse(spec + " abi=tensor")
    library = tmp_path / "tile.mlir"
    library.write_text(_TILE_REDUCTION.format(
        threads=threads, results=results,
        handles=", ".join(["!transform.any_op"] * results)))
    values = case.inputs()
    args, outputs = case.call_args(values)
    call = harness.Call("grad", args, outputs,
                        [shape for _, shape, _ in case.destinations()])
    pipeline = [f"--transform-preload-library=transform-library-paths={library}",
                "--transform-interpreter", "--norm-cpu-pipeline"]
    got = harness.run_calls(case.kernel_ir("grad"), [call], pipeline=pipeline)[0]
    assert case.check(got, values) == []
    # A near miss: the strategy that keeps a partial sum per row of a tile
    # is refused at the op.
    refused = library.read_text().replace("tile_reduction_using_forall",
                                          "tile_reduction_using_for").replace(
        f"num_threads = [{threads}]", "tile_sizes = [4]")
    library.write_text(refused)
    with pytest.raises(harness.HarnessError,
                       match="only with one partial sum per tile"):
        harness.run_calls(case.kernel_ir("grad"), [call], pipeline=pipeline)
