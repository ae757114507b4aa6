// RUN: norm-opt %s --norm-capture | FileCheck %s --check-prefix=CAPTURE
// RUN: norm-opt %s --norm-capture --norm-fuse | FileCheck %s --check-prefix=FUSED
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s | FileCheck %s --check-prefix=EQUIV %}
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s --passes "--norm-capture --norm-fuse" --pipeline cpu | FileCheck %s --check-prefix=EQUIV %}

// Whole backward graphs: dx and dgamma (a sum over the rows, captured in
// the space of x, the reduction's loops) are captured one root at a time,
// then --norm-fuse merges the gradient ops of one norm into one that reads
// x and dy once.

// EQUIV-NOT: FAIL
// EQUIV: {{^}}2 passed, 0 failed

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row3 = affine_map<(d0, d1, d2) -> (d0, d1)>
#col3 = affine_map<(d0, d1, d2) -> (d2)>

// Liger's RMSNorm backward with dgamma = sum over the rows of dy * x * rstd.
// CAPTURE-LABEL: func @rms_norm_backward_with_dgamma
// CAPTURE-DAG: norm.rms_norm_grad ins(%{{.*}}) dy(%{{.*}}) gamma(%{{.*}}) rstd(%{{.*}}) outs dx(%{{.*}} : tensor<5x32xf32>)
// CAPTURE-DAG: norm.rms_norm_grad ins(%{{.*}}) dy(%{{.*}}) rstd(%{{.*}}) outs dgamma(%{{.*}} : tensor<32xf32>)
// CAPTURE-NOT: linalg.generic
// FUSED-LABEL: func @rms_norm_backward_with_dgamma
// FUSED-SAME: (%[[DY:[^:]*]]: tensor<5x32xf32>, %[[X:[^:]*]]: tensor<5x32xf32>, %[[R:[^:]*]]: tensor<5xf32>, %[[W:[^:]*]]: tensor<32xf32>)
// FUSED: %[[G:.*]]:2 = norm.rms_norm_grad ins(%[[X]] : tensor<5x32xf32>) dy(%[[DY]] : tensor<5x32xf32>) gamma(%[[W]] : tensor<32xf32>) rstd(%[[R]] : tensor<5xf32>) outs dx(%{{.*}} : tensor<5x32xf32>) dgamma(%{{.*}} : tensor<32xf32>)
// FUSED-NOT: norm.rms_norm_grad
// FUSED: return %[[G]]#0, %[[G]]#1
func.func @rms_norm_backward_with_dgamma(%dy: tensor<5x32xf32>, %x: tensor<5x32xf32>, %rstd: tensor<5xf32>, %w: tensor<32xf32>) -> (tensor<5x32xf32>, tensor<32xf32>) {
  %zero = arith.constant 0.0 : f32
  %inv_n = arith.constant 3.125000e-02 : f32
  %e = tensor.empty() : tensor<5x32xf32>
  %er = tensor.empty() : tensor<5xf32>
  %ec = tensor.empty() : tensor<32xf32>
  %m = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%dy, %w : tensor<5x32xf32>, tensor<32xf32>) outs(%e : tensor<5x32xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %r = arith.mulf %a, %b : f32
      linalg.yield %r : f32
  } -> tensor<5x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%er : tensor<5xf32>) -> tensor<5xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%m, %x : tensor<5x32xf32>, tensor<5x32xf32>) outs(%acc : tensor<5xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %p = arith.mulf %a, %b : f32
      %r = arith.addf %o, %p : f32
      linalg.yield %r : f32
  } -> tensor<5xf32>
  %dx = linalg.generic {indexing_maps = [#id, #id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m, %x, %rstd, %s : tensor<5x32xf32>, tensor<5x32xf32>, tensor<5xf32>, tensor<5xf32>) outs(%e : tensor<5x32xf32>) {
    ^bb0(%mv: f32, %xv: f32, %rv: f32, %sv: f32, %o: f32):
      %r2 = arith.mulf %rv, %rv : f32
      %k = arith.mulf %r2, %inv_n : f32
      %ks = arith.mulf %k, %sv : f32
      %kx = arith.mulf %ks, %xv : f32
      %d = arith.subf %mv, %kx : f32
      %g = arith.mulf %rv, %d : f32
      linalg.yield %g : f32
  } -> tensor<5x32xf32>
  %cacc = linalg.fill ins(%zero : f32) outs(%ec : tensor<32xf32>) -> tensor<32xf32>
  %dg = linalg.generic {indexing_maps = [#id, #id, #row, #col], iterator_types = ["reduction", "parallel"]}
      ins(%dy, %x, %rstd : tensor<5x32xf32>, tensor<5x32xf32>, tensor<5xf32>) outs(%cacc : tensor<32xf32>) {
    ^bb0(%d: f32, %a: f32, %r: f32, %o: f32):
      %xh = arith.mulf %a, %r : f32
      %p = arith.mulf %d, %xh : f32
      %t = arith.addf %o, %p : f32
      linalg.yield %t : f32
  } -> tensor<32xf32>
  return %dx, %dg : tensor<5x32xf32>, tensor<32xf32>
}

// LayerNorm dgamma over two row dims (torch's sum over dims [0, 1] of
// grad_out * x_hat), with x_hat as its own generic; the column sum of dy
// beside it (dbeta) stays a reduction for the capture, and --norm-fuse
// makes it the gradient op's dbeta. The sum of dy over one row dim only
// is not dbeta and stays.
// CAPTURE-LABEL: func @layer_norm_dgamma_two_row_dims
// CAPTURE-SAME: (%[[DY:[^:]*]]: tensor<2x4x16xf32>, %[[X:[^:]*]]: tensor<2x4x16xf32>, %[[M:[^:]*]]: tensor<2x4xf32>, %[[R:[^:]*]]: tensor<2x4xf32>)
// CAPTURE: %[[DG:.*]] = norm.layer_norm_grad ins(%[[X]] : tensor<2x4x16xf32>) dy(%[[DY]] : tensor<2x4x16xf32>) mean(%[[M]] : tensor<2x4xf32>) rstd(%[[R]] : tensor<2x4xf32>) outs dgamma(%{{.*}} : tensor<16xf32>) -> tensor<16xf32>
// CAPTURE: %[[DB:.*]] = linalg.generic
// CAPTURE: return %[[DG]], %[[DB]], %{{.*}}
// FUSED-LABEL: func @layer_norm_dgamma_two_row_dims
// FUSED-SAME: (%[[DY:[^:]*]]: tensor<2x4x16xf32>, %[[X:[^:]*]]: tensor<2x4x16xf32>, %[[M:[^:]*]]: tensor<2x4xf32>, %[[R:[^:]*]]: tensor<2x4xf32>)
// FUSED: %[[G:.*]]:2 = norm.layer_norm_grad ins(%[[X]] : tensor<2x4x16xf32>) dy(%[[DY]] : tensor<2x4x16xf32>) mean(%[[M]] : tensor<2x4xf32>) rstd(%[[R]] : tensor<2x4xf32>) outs dgamma(%{{.*}} : tensor<16xf32>) dbeta(%{{.*}} : tensor<16xf32>)
// FUSED: %[[PART:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]
// FUSED: return %[[G]]#0, %[[G]]#1, %[[PART]]
func.func @layer_norm_dgamma_two_row_dims(%dy: tensor<2x4x16xf32>, %x: tensor<2x4x16xf32>, %mean: tensor<2x4xf32>, %rstd: tensor<2x4xf32>) -> (tensor<16xf32>, tensor<16xf32>, tensor<2x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e3 = tensor.empty() : tensor<2x4x16xf32>
  %e = tensor.empty() : tensor<16xf32>
  %xhat = linalg.generic {indexing_maps = [#id3, #row3, #row3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %mean, %rstd : tensor<2x4x16xf32>, tensor<2x4xf32>, tensor<2x4xf32>) outs(%e3 : tensor<2x4x16xf32>) {
    ^bb0(%a: f32, %m: f32, %r: f32, %o: f32):
      %c = arith.subf %a, %m : f32
      %h = arith.mulf %c, %r : f32
      linalg.yield %h : f32
  } -> tensor<2x4x16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<16xf32>) -> tensor<16xf32>
  %dg = linalg.generic {indexing_maps = [#id3, #id3, #col3], iterator_types = ["reduction", "reduction", "parallel"]}
      ins(%dy, %xhat : tensor<2x4x16xf32>, tensor<2x4x16xf32>) outs(%acc : tensor<16xf32>) {
    ^bb0(%d: f32, %h: f32, %o: f32):
      %p = arith.mulf %d, %h : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
  } -> tensor<16xf32>
  %db = linalg.generic {indexing_maps = [#id3, #col3], iterator_types = ["reduction", "reduction", "parallel"]}
      ins(%dy : tensor<2x4x16xf32>) outs(%acc : tensor<16xf32>) {
    ^bb0(%d: f32, %o: f32):
      %s = arith.addf %o, %d : f32
      linalg.yield %s : f32
  } -> tensor<16xf32>
  %e2 = tensor.empty() : tensor<2x16xf32>
  %acc2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x16xf32>) -> tensor<2x16xf32>
  %part = linalg.generic {indexing_maps = [#id3, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%dy : tensor<2x4x16xf32>) outs(%acc2 : tensor<2x16xf32>) {
    ^bb0(%d: f32, %o: f32):
      %s = arith.addf %o, %d : f32
      linalg.yield %s : f32
  } -> tensor<2x16xf32>
  return %dg, %db, %part : tensor<16xf32>, tensor<16xf32>, tensor<2x16xf32>
}
