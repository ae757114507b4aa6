"""Row parallelism of the CPU kernels: with openmp=true, rows run on OpenMP
threads only for inputs of at least parallel-threshold bytes, decided per
call when the row count is dynamic. Both branches compute the same bits as
the serial pipeline, and match float64."""

import numpy as np
import pytest

from norm_mlir import reference
from norm_mlir.core.kernels import NormGradKernel, NormKernel
from norm_mlir.testing import harness

N = 256
# 4 rows of 256 f32 are 4 KiB, 200 rows 200 KiB: under and over the
# default threshold (128 KiB).
ROWS = (4, 200)


def run_everywhere(monkeypatch, ir, calls):
    """The outputs of `calls` through the serial pipeline, and through the
    OpenMP one on 2 threads with the default threshold, with rows always
    parallel (threshold 0) and never (a threshold above any input)."""
    results = {}
    for name, options, threads in (
            ("serial", "openmp=false", "1"),
            ("default", "openmp=true", "2"),
            ("always", "openmp=true parallel-threshold=0", "2"),
            ("never", "openmp=true parallel-threshold=1000000000", "2")):
        monkeypatch.setenv("OMP_NUM_THREADS", threads)
        results[name] = harness.run_calls(
            ir, calls, pipeline=[f"--norm-cpu-pipeline={options}"])
    return results


def same_bits(results):
    for name, outputs in results.items():
        for got_call, want_call in zip(outputs, results["serial"]):
            for got, want in zip(got_call, want_call):
                assert got.tobytes() == want.tobytes(), name


def test_forward_dynamic_rows_on_both_sides_of_the_threshold(monkeypatch):
    rng = np.random.default_rng(5)
    ir = NormKernel(op="rms_norm", shape=(None, N), gamma=True,
                    eps=1e-6).ir("f")
    gamma = reference.round_to(rng.uniform(0.5, 1.5, N), "f32")
    xs = [reference.round_to(rng.standard_normal((m, N)), "f32") for m in ROWS]
    calls = [harness.Call("f", [x, gamma], result_shapes=[x.shape])
             for x in xs]
    results = run_everywhere(monkeypatch, ir, calls)
    same_bits(results)
    for x, (out,) in zip(xs, results["default"]):
        want = reference.rms_norm(x, gamma, eps=1e-6)["out"]
        tol = reference.output_tolerance(want, "f32", N, gamma=gamma)
        assert (np.abs(out - want) <= tol).all()


@pytest.mark.parametrize("rows", ROWS)
def test_gradient_on_both_sides_of_the_threshold(monkeypatch, rows):
    rng = np.random.default_rng(6)
    x = reference.round_to(rng.standard_normal((rows, N)), "f32")
    dy = reference.round_to(rng.standard_normal((rows, N)), "f32")
    gamma = reference.round_to(rng.uniform(0.5, 1.5, N), "f32")
    rstd = reference.round_to(reference.rms_norm(x, eps=1e-6)["rstd"], "f32")
    ir = NormGradKernel(op="rms_norm", n=N, gamma=True, dx=True,
                        dgamma=True).ir("grad")
    call = harness.Call("grad", [x, dy, gamma, rstd, np.zeros((rows, N)),
                                 np.zeros(N)], output_args=[4, 5])
    results = run_everywhere(monkeypatch, ir, [call])
    same_bits(results)
    want = reference.norm_backward("rms_norm", dy, x, gamma, None, rstd)
    dx, dgamma = results["default"][0]
    assert np.allclose(dx, want["dx"], atol=1e-4,
                       rtol=1e-4)
    assert np.allclose(dgamma, want["dgamma"], atol=1e-3,
                       rtol=1e-4)
