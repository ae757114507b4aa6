// RUN: norm-opt %s -transform-interpreter -verify-diagnostics

// A gradient with dgamma sums over every row: its row dims are reductions,
// and a tile would write the sums of its own rows only, so tiling is
// refused, with the transform's diagnostics at the op (upstream's
// spelling, "faild"). Tiled as partial reductions instead:
// tiling-grad-partial-reduction.mlir.
func.func @grad_with_dgamma(%x: tensor<16x64xf32>, %dy: tensor<16x64xf32>, %r: tensor<16xf32>)
    -> (tensor<16x64xf32>, tensor<64xf32>) {
  %o = tensor.empty() : tensor<16x64xf32>
  %dgi = tensor.empty() : tensor<64xf32>
  // expected-warning @+4 {{tiling is not thread safe at axis #0}}
  // expected-error @+3 {{faild to tile operation}}
  // expected-error @+2 {{failed to generate tiling loops}}
  // expected-note @+1 {{when applied to this op}}
  %dx, %dg = norm.rms_norm_grad ins(%x : tensor<16x64xf32>) dy(%dy : tensor<16x64xf32>) rstd(%r : tensor<16xf32>)
      outs dx(%o : tensor<16x64xf32>) dgamma(%dgi : tensor<64xf32>) -> tensor<16x64xf32>, tensor<64xf32>
  return %dx, %dg : tensor<16x64xf32>, tensor<64xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["norm.rms_norm_grad"]} in %root : (!transform.any_op) -> !transform.any_op
    // expected-error @+1 {{transform.structured.tile_using_forall failed to apply}}
    %tiled, %loop = transform.structured.tile_using_forall %op tile_sizes [8] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}
