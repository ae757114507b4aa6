// RUN: norm-opt %s --norm-capture -split-input-file | FileCheck %s
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s | FileCheck %s --check-prefix=EQUIV %}

// Input gradients of norms with saved statistics, as autodiff front ends
// decompose them, become norm.layer_norm_grad / norm.rms_norm_grad: proven
// by normal form (CaptureGrad.cpp), so every equivalent spelling is one
// case. Near misses: gradients-near-miss.mlir.

// EQUIV-NOT: FAIL
// EQUIV: {{^}}6 passed, 0 failed

// torch's native_layer_norm_backward decomposition (grad_x_hat * N - sum -
// x_hat * sum(x_hat * grad_x_hat), times rstd / N), in TOSA with keepdim
// statistics.
// CHECK-LABEL: func @torch_layer_norm_backward
// CHECK-SAME: (%[[DY:[^:]*]]: tensor<4x16xf32>, %[[X:[^:]*]]: tensor<4x16xf32>, %[[M:[^:]*]]: tensor<4x1xf32>, %[[R:[^:]*]]: tensor<4x1xf32>, %[[W:[^:]*]]: tensor<16xf32>)
// CHECK-DAG: %[[M1:.*]] = tensor.collapse_shape %[[M]] {{\[\[}}0, 1]] : tensor<4x1xf32> into tensor<4xf32>
// CHECK-DAG: %[[R1:.*]] = tensor.collapse_shape %[[R]] {{\[\[}}0, 1]] : tensor<4x1xf32> into tensor<4xf32>
// CHECK: %[[DX:.*]] = norm.layer_norm_grad ins(%[[X]] : tensor<4x16xf32>) dy(%[[DY]] : tensor<4x16xf32>) gamma(%[[W]] : tensor<16xf32>) mean(%[[M1]] : tensor<4xf32>) rstd(%[[R1]] : tensor<4xf32>) outs dx(%{{.*}} : tensor<4x16xf32>) -> tensor<4x16xf32>
// CHECK-NOT: tosa.
// CHECK: return %[[DX]]
func.func @torch_layer_norm_backward(%dy: tensor<4x16xf32>, %x: tensor<4x16xf32>, %mean: tensor<4x1xf32>, %rstd: tensor<4x1xf32>, %w: tensor<16xf32>) -> tensor<4x16xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %n = "tosa.const"() <{values = dense<16.0> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %inv_n = "tosa.const"() <{values = dense<6.250000e-02> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %shape = tosa.const_shape {values = dense<[1, 16]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %w2 = tosa.reshape %w, %shape : (tensor<16xf32>, !tosa.shape<2>) -> tensor<1x16xf32>
  %xc = tosa.sub %x, %mean : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %xhat = tosa.mul %xc, %rstd, %shift : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %gxh = tosa.mul %dy, %w2, %shift : (tensor<4x16xf32>, tensor<1x16xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %a = tosa.mul %gxh, %n, %shift : (tensor<4x16xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %b = tosa.reduce_sum %gxh {axis = 1 : i32} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %c1 = tosa.mul %xhat, %gxh, %shift : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %c2 = tosa.reduce_sum %c1 {axis = 1 : i32} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %c3 = tosa.mul %xhat, %c2, %shift : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %ab = tosa.sub %a, %b : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %inner = tosa.sub %ab, %c3 : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %scale = tosa.mul %rstd, %inv_n, %shift : (tensor<4x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<4x1xf32>
  %dx = tosa.mul %scale, %inner, %shift : (tensor<4x1xf32>, tensor<4x16xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  return %dx : tensor<4x16xf32>
}

// -----

// The same without a weight (elementwise_affine=False), over two
// normalised dims, rstd distributed over the difference.
// CHECK-LABEL: func @layer_norm_backward_no_weight
// CHECK: norm.layer_norm_grad axis(1) ins(%{{.*}} : tensor<3x2x8xf32>) dy(%{{.*}} : tensor<3x2x8xf32>) mean(%{{.*}} : tensor<3xf32>) rstd(%{{.*}} : tensor<3xf32>) outs dx
// CHECK-NOT: tosa.mul
func.func @layer_norm_backward_no_weight(%dy: tensor<3x2x8xf32>, %x: tensor<3x2x8xf32>, %mean: tensor<3x1x1xf32>, %rstd: tensor<3x1x1xf32>) -> tensor<3x2x8xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<6.250000e-02> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %xc = tosa.sub %x, %mean : (tensor<3x2x8xf32>, tensor<3x1x1xf32>) -> tensor<3x2x8xf32>
  %xhat = tosa.mul %xc, %rstd, %shift : (tensor<3x2x8xf32>, tensor<3x1x1xf32>, tensor<1xi8>) -> tensor<3x2x8xf32>
  %s1a = tosa.reduce_sum %dy {axis = 2 : i32} : (tensor<3x2x8xf32>) -> tensor<3x2x1xf32>
  %s1 = tosa.reduce_sum %s1a {axis = 1 : i32} : (tensor<3x2x1xf32>) -> tensor<3x1x1xf32>
  %m1 = tosa.mul %s1, %inv_n, %shift : (tensor<3x1x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<3x1x1xf32>
  %p = tosa.mul %dy, %xhat, %shift : (tensor<3x2x8xf32>, tensor<3x2x8xf32>, tensor<1xi8>) -> tensor<3x2x8xf32>
  %s2a = tosa.reduce_sum %p {axis = 2 : i32} : (tensor<3x2x8xf32>) -> tensor<3x2x1xf32>
  %s2 = tosa.reduce_sum %s2a {axis = 1 : i32} : (tensor<3x2x1xf32>) -> tensor<3x1x1xf32>
  %m2 = tosa.mul %s2, %inv_n, %shift : (tensor<3x1x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<3x1x1xf32>
  %t1 = tosa.mul %rstd, %dy, %shift : (tensor<3x1x1xf32>, tensor<3x2x8xf32>, tensor<1xi8>) -> tensor<3x2x8xf32>
  %t2 = tosa.mul %rstd, %m1, %shift : (tensor<3x1x1xf32>, tensor<3x1x1xf32>, tensor<1xi8>) -> tensor<3x1x1xf32>
  %t3a = tosa.mul %xhat, %m2, %shift : (tensor<3x2x8xf32>, tensor<3x1x1xf32>, tensor<1xi8>) -> tensor<3x2x8xf32>
  %t3 = tosa.mul %t3a, %rstd, %shift : (tensor<3x2x8xf32>, tensor<3x1x1xf32>, tensor<1xi8>) -> tensor<3x2x8xf32>
  %d1 = tosa.sub %t1, %t2 : (tensor<3x2x8xf32>, tensor<3x1x1xf32>) -> tensor<3x2x8xf32>
  %dx = tosa.sub %d1, %t3 : (tensor<3x2x8xf32>, tensor<3x2x8xf32>) -> tensor<3x2x8xf32>
  return %dx : tensor<3x2x8xf32>
}

// -----

// Liger's RMSNorm backward, linalg generics: m = dy * w,
// dx = rstd * (m - (rstd^2 / N) * sum(m * x) * x), a residual gradient added.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @liger_rms_norm_backward
// CHECK-SAME: (%[[DY:[^:]*]]: tensor<5x32xf32>, %[[X:[^:]*]]: tensor<5x32xf32>, %[[R:[^:]*]]: tensor<5xf32>, %[[W:[^:]*]]: tensor<32xf32>, %[[DR:[^:]*]]: tensor<5x32xf32>)
// CHECK: %[[DX:.*]] = norm.rms_norm_grad ins(%[[X]] : tensor<5x32xf32>) dy(%[[DY]] : tensor<5x32xf32>) gamma(%[[W]] : tensor<32xf32>) rstd(%[[R]] : tensor<5xf32>) residual_grad(%[[DR]] : tensor<5x32xf32>) outs dx(%{{.*}} : tensor<5x32xf32>) -> tensor<5x32xf32>
// CHECK-NOT: linalg.generic
// CHECK: return %[[DX]]
func.func @liger_rms_norm_backward(%dy: tensor<5x32xf32>, %x: tensor<5x32xf32>, %rstd: tensor<5xf32>, %w: tensor<32xf32>, %dr: tensor<5x32xf32>) -> tensor<5x32xf32> {
  %zero = arith.constant 0.0 : f32
  %inv_n = arith.constant 3.125000e-02 : f32
  %e = tensor.empty() : tensor<5x32xf32>
  %er = tensor.empty() : tensor<5xf32>
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
  %dx = linalg.generic {indexing_maps = [#id, #id, #row, #row, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m, %x, %rstd, %s, %dr : tensor<5x32xf32>, tensor<5x32xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5x32xf32>) outs(%e : tensor<5x32xf32>) {
    ^bb0(%mv: f32, %xv: f32, %rv: f32, %sv: f32, %drv: f32, %o: f32):
      %r2 = arith.mulf %rv, %rv : f32
      %k = arith.mulf %r2, %inv_n : f32
      %ks = arith.mulf %k, %sv : f32
      %kx = arith.mulf %ks, %xv : f32
      %d = arith.subf %mv, %kx : f32
      %g = arith.mulf %rv, %d : f32
      %t = arith.addf %g, %drv : f32
      linalg.yield %t : f32
  } -> tensor<5x32xf32>
  return %dx : tensor<5x32xf32>
}

// -----

// torch's RMSNorm backward under autocast: bf16 tensors extended to f32,
// the gradient rounded once to bf16 at the end.
// CHECK-LABEL: func @rms_norm_backward_bf16
// CHECK: norm.rms_norm_grad ins(%{{.*}} : tensor<2x64xbf16>) dy(%{{.*}} : tensor<2x64xbf16>) rstd(%{{.*}} : tensor<2xf32>) outs dx(%{{.*}} : tensor<2x64xbf16>) -> tensor<2x64xbf16>
func.func @rms_norm_backward_bf16(%dy: tensor<2x64xbf16>, %x: tensor<2x64xbf16>, %rstd: tensor<2x1xf32>) -> tensor<2x64xbf16> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<1.562500e-02> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %dyf = tosa.cast %dy : (tensor<2x64xbf16>) -> tensor<2x64xf32>
  %xf = tosa.cast %x : (tensor<2x64xbf16>) -> tensor<2x64xf32>
  %xhat = tosa.mul %xf, %rstd, %shift : (tensor<2x64xf32>, tensor<2x1xf32>, tensor<1xi8>) -> tensor<2x64xf32>
  %p = tosa.mul %dyf, %xhat, %shift : (tensor<2x64xf32>, tensor<2x64xf32>, tensor<1xi8>) -> tensor<2x64xf32>
  %s = tosa.reduce_sum %p {axis = 1 : i32} : (tensor<2x64xf32>) -> tensor<2x1xf32>
  %m = tosa.mul %s, %inv_n, %shift : (tensor<2x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<2x1xf32>
  %t = tosa.mul %xhat, %m, %shift : (tensor<2x64xf32>, tensor<2x1xf32>, tensor<1xi8>) -> tensor<2x64xf32>
  %d = tosa.sub %dyf, %t : (tensor<2x64xf32>, tensor<2x64xf32>) -> tensor<2x64xf32>
  %dxf = tosa.mul %d, %rstd, %shift : (tensor<2x64xf32>, tensor<2x1xf32>, tensor<1xi8>) -> tensor<2x64xf32>
  %dx = tosa.cast %dxf : (tensor<2x64xf32>) -> tensor<2x64xbf16>
  return %dx : tensor<2x64xbf16>
}

// -----

// Statistics rematerialised from x, as JAX's autodiff emits them: the mean
// and the inverse standard deviation recomputed in the backward graph. The
// op recomputes them too, with the eps found under the root.
// CHECK-LABEL: func @jax_layer_norm_backward_recomputed
// CHECK-SAME: (%[[DY:[^:]*]]: tensor<6x32xf32>, %[[X:[^:]*]]: tensor<6x32xf32>, %[[W:[^:]*]]: tensor<32xf32>)
// CHECK: %[[DX:.*]] = norm.layer_norm_grad eps(1.0e-05) ins(%[[X]] : tensor<6x32xf32>) dy(%[[DY]] : tensor<6x32xf32>) gamma(%[[W]] : tensor<32xf32>) outs dx(%{{.*}} : tensor<6x32xf32>) -> tensor<6x32xf32>
// CHECK-NOT: tosa.rsqrt
// CHECK: return %[[DX]]
func.func @jax_layer_norm_backward_recomputed(%dy: tensor<6x32xf32>, %x: tensor<6x32xf32>, %w: tensor<32xf32>) -> tensor<6x32xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<3.125000e-02> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.0e-05> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %shape = tosa.const_shape {values = dense<[1, 32]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %w2 = tosa.reshape %w, %shape : (tensor<32xf32>, !tosa.shape<2>) -> tensor<1x32xf32>
  %sx = tosa.reduce_sum %x {axis = 1 : i32} : (tensor<6x32xf32>) -> tensor<6x1xf32>
  %mean = tosa.mul %sx, %inv_n, %shift : (tensor<6x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<6x1xf32>
  %xc = tosa.sub %x, %mean : (tensor<6x32xf32>, tensor<6x1xf32>) -> tensor<6x32xf32>
  %sq = tosa.mul %xc, %xc, %shift : (tensor<6x32xf32>, tensor<6x32xf32>, tensor<1xi8>) -> tensor<6x32xf32>
  %ss = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<6x32xf32>) -> tensor<6x1xf32>
  %var = tosa.mul %ss, %inv_n, %shift : (tensor<6x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<6x1xf32>
  %ve = tosa.add %var, %eps : (tensor<6x1xf32>, tensor<1x1xf32>) -> tensor<6x1xf32>
  %rstd = tosa.rsqrt %ve : (tensor<6x1xf32>) -> tensor<6x1xf32>
  %xhat = tosa.mul %xc, %rstd, %shift : (tensor<6x32xf32>, tensor<6x1xf32>, tensor<1xi8>) -> tensor<6x32xf32>
  %g = tosa.mul %dy, %w2, %shift : (tensor<6x32xf32>, tensor<1x32xf32>, tensor<1xi8>) -> tensor<6x32xf32>
  %s1 = tosa.reduce_sum %g {axis = 1 : i32} : (tensor<6x32xf32>) -> tensor<6x1xf32>
  %m1 = tosa.mul %s1, %inv_n, %shift : (tensor<6x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<6x1xf32>
  %p = tosa.mul %g, %xhat, %shift : (tensor<6x32xf32>, tensor<6x32xf32>, tensor<1xi8>) -> tensor<6x32xf32>
  %s2 = tosa.reduce_sum %p {axis = 1 : i32} : (tensor<6x32xf32>) -> tensor<6x1xf32>
  %m2 = tosa.mul %s2, %inv_n, %shift : (tensor<6x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<6x1xf32>
  %t = tosa.mul %xhat, %m2, %shift : (tensor<6x32xf32>, tensor<6x1xf32>, tensor<1xi8>) -> tensor<6x32xf32>
  %d0 = tosa.sub %g, %m1 : (tensor<6x32xf32>, tensor<6x1xf32>) -> tensor<6x32xf32>
  %d1 = tosa.sub %d0, %t : (tensor<6x32xf32>, tensor<6x32xf32>) -> tensor<6x32xf32>
  %dx = tosa.mul %rstd, %d1, %shift : (tensor<6x1xf32>, tensor<6x32xf32>, tensor<1xi8>) -> tensor<6x32xf32>
  return %dx : tensor<6x32xf32>
}

// -----

// RMSNorm, statistics recomputed, eps a run-time scalar.
// CHECK-LABEL: func @rms_norm_backward_recomputed_runtime_eps
// CHECK-SAME: (%[[DY:[^:]*]]: tensor<3x16xf32>, %[[X:[^:]*]]: tensor<3x16xf32>, %[[E:[^:]*]]: f32)
// CHECK: norm.rms_norm_grad eps(%[[E]] : f32) ins(%[[X]] : tensor<3x16xf32>) dy(%[[DY]] : tensor<3x16xf32>) outs dx
#id3 = affine_map<(d0, d1) -> (d0, d1)>
#row3 = affine_map<(d0, d1) -> (d0)>
#r1 = affine_map<(d0) -> (d0)>
func.func @rms_norm_backward_recomputed_runtime_eps(%dy: tensor<3x16xf32>, %x: tensor<3x16xf32>, %eps: f32) -> tensor<3x16xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 16.0 : f32
  %e = tensor.empty() : tensor<3x16xf32>
  %er = tensor.empty() : tensor<3xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%er : tensor<3xf32>) -> tensor<3xf32>
  %ss = linalg.generic {indexing_maps = [#id3, #row3], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<3x16xf32>) outs(%acc : tensor<3xf32>) {
    ^bb0(%a: f32, %o: f32):
      %sq = arith.mulf %a, %a : f32
      %r = arith.addf %o, %sq : f32
      linalg.yield %r : f32
  } -> tensor<3xf32>
  %rstd = linalg.generic {indexing_maps = [#r1, #r1], iterator_types = ["parallel"]}
      ins(%ss : tensor<3xf32>) outs(%er : tensor<3xf32>) {
    ^bb0(%a: f32, %o: f32):
      %ms = arith.divf %a, %n : f32
      %v = arith.addf %ms, %eps : f32
      %r = math.rsqrt %v : f32
      linalg.yield %r : f32
  } -> tensor<3xf32>
  %sd = linalg.generic {indexing_maps = [#id3, #id3, #row3, #row3], iterator_types = ["parallel", "reduction"]}
      ins(%dy, %x, %rstd : tensor<3x16xf32>, tensor<3x16xf32>, tensor<3xf32>) outs(%acc : tensor<3xf32>) {
    ^bb0(%d: f32, %a: f32, %r: f32, %o: f32):
      %xh = arith.mulf %a, %r : f32
      %p = arith.mulf %d, %xh : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
  } -> tensor<3xf32>
  %dx = linalg.generic {indexing_maps = [#id3, #id3, #row3, #row3, #id3], iterator_types = ["parallel", "parallel"]}
      ins(%dy, %x, %rstd, %sd : tensor<3x16xf32>, tensor<3x16xf32>, tensor<3xf32>, tensor<3xf32>) outs(%e : tensor<3x16xf32>) {
    ^bb0(%d: f32, %a: f32, %r: f32, %s: f32, %o: f32):
      %xh = arith.mulf %a, %r : f32
      %m = arith.divf %s, %n : f32
      %t = arith.mulf %xh, %m : f32
      %u = arith.subf %d, %t : f32
      %v = arith.mulf %r, %u : f32
      linalg.yield %v : f32
  } -> tensor<3x16xf32>
  return %dx : tensor<3x16xf32>
}
