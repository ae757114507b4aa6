"""Runs a row-tiled LayerNorm and RMSNorm and checks them against the
reference (see tiled.test)."""

import numpy as np

from norm_mlir import reference
from norm_mlir.testing import harness

KERNELS = """
  func.func @ln(%x: tensor<11x3x20xf32>, %g: tensor<3x20xf32>, %b: tensor<3x20xf32>) -> (tensor<11x3x20xf32>, tensor<11xf32>) {
    %o = tensor.empty() : tensor<11x3x20xf32>
    %m = tensor.empty() : tensor<11xf32>
    %y:2 = norm.layer_norm axis(1) eps(1.0e-05) ins(%x : tensor<11x3x20xf32>) gamma(%g : tensor<3x20xf32>) beta(%b : tensor<3x20xf32>) outs(%o : tensor<11x3x20xf32>) mean(%m : tensor<11xf32>) -> tensor<11x3x20xf32>, tensor<11xf32>
    return %y#0, %y#1 : tensor<11x3x20xf32>, tensor<11xf32>
  }
  func.func @rms(%x: tensor<?x33xbf16>, %g: tensor<33xbf16>) -> tensor<?x33xbf16> {
    %c0 = arith.constant 0 : index
    %d = tensor.dim %x, %c0 : tensor<?x33xbf16>
    %o = tensor.empty(%d) : tensor<?x33xbf16>
    %y = norm.rms_norm eps(1.0e-06) ins(%x : tensor<?x33xbf16>) gamma(%g : tensor<33xbf16>) outs(%o : tensor<?x33xbf16>) -> tensor<?x33xbf16>
    return %y : tensor<?x33xbf16>
  }
"""

# The schedule lives in its own module, preloaded by the interpreter, so the
# payload that is lowered and run holds no transform ops.
SCHEDULE = """
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %ln = transform.structured.match ops{["norm.layer_norm"]} in %root : (!transform.any_op) -> !transform.any_op
    %t0, %l0 = transform.structured.tile_using_for %ln tile_sizes [4] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %rms = transform.structured.match ops{["norm.rms_norm"]} in %root : (!transform.any_op) -> !transform.any_op
    %t1, %l1 = transform.structured.tile_using_for %rms tile_sizes [3] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}
"""



def main():
    import os
    import tempfile
    schedule = tempfile.NamedTemporaryFile("w", suffix=".mlir", delete=False)
    schedule.write(SCHEDULE)
    schedule.close()
    pipeline = ([f"--transform-preload-library=transform-library-paths={schedule.name}",
                 "--transform-interpreter", "--canonicalize"] +
                harness.pipeline_args("linalg"))
    rng = np.random.default_rng(7)
    x = reference.round_to(rng.standard_normal((11, 3, 20)), "f32")
    g = reference.round_to(rng.uniform(0.5, 1.5, (3, 20)), "f32")
    b = reference.round_to(rng.uniform(-0.5, 0.5, (3, 20)), "f32")
    xr = reference.round_to(rng.standard_normal((10, 33)), "bf16")
    gr = reference.round_to(rng.uniform(0.5, 1.5, (33,)), "bf16")
    calls = [harness.Call("ln", [x, g, b], [], [(11, 3, 20), (11,)]),
             harness.Call("rms", [xr, gr], [], [(10, 33)])]
    (ln_out, ln_mean), (rms_out,) = harness.run_calls(KERNELS, calls, pipeline)
    os.unlink(schedule.name)

    passed = failed = 0
    ref = reference.layer_norm(x, g, b, eps=1e-5, axis=1)
    ok = (np.abs(ln_out - ref["out"]) <=
          reference.output_tolerance(ref["out"], "f32", 60, gamma=g)).all()
    ok &= np.allclose(ln_mean, ref["mean"], rtol=0, atol=1e-5 * 6)
    passed, failed = passed + ok, failed + (not ok)
    ref = reference.rms_norm(xr, gr, eps=1e-6, in_dtype="bf16")
    ok = (np.abs(rms_out - ref["out"]) <=
          reference.output_tolerance(ref["out"], "bf16", 33, gamma=gr)).all()
    passed, failed = passed + ok, failed + (not ok)
    print(f"tiled: {passed} passed, {failed} failed")


if __name__ == "__main__":
    main()
