// RUN: norm-opt %s --norm-capture -split-input-file | FileCheck %s
// RUN: norm-opt %s --norm-capture -split-input-file -o %t.captured
// RUN: norm-opt %s -split-input-file -o %t.original
// RUN: diff %t.original %t.captured

// Near misses of the input-gradient capture (gradients.mlir): each looks
// like a norm's input gradient but computes something else, or rounds
// inside the arithmetic. The pass leaves every function exactly as it was.

// Each left alone:
// - LayerNorm without the mean(wdy) term;
// - a wrong N (1/15 for 16 elements);
// - the sum taken over x rather than xhat (dgamma-style slip inside dx);
// - the gradient rounded to bf16 before rstd multiplies it;
// - statistics recomputed with the unbiased variance (1/(N-1)): the rstd
//   is not the norm's.
// CHECK-LABEL: func @missing_mean_term
// CHECK-NOT: norm.
// CHECK-LABEL: func @wrong_n
// CHECK-NOT: norm.
// CHECK-LABEL: func @sum_of_x_not_xhat
// CHECK-NOT: norm.
// CHECK-LABEL: func @rounded_inside
// CHECK-NOT: norm.
// CHECK-LABEL: func @unbiased_recomputed_variance
// CHECK-NOT: norm.
func.func @missing_mean_term(%dy: tensor<4x16xf32>, %x: tensor<4x16xf32>, %mean: tensor<4x1xf32>, %rstd: tensor<4x1xf32>) -> tensor<4x16xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<6.250000e-02> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %xc = tosa.sub %x, %mean : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %xhat = tosa.mul %xc, %rstd, %shift : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %p = tosa.mul %dy, %xhat, %shift : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %s = tosa.reduce_sum %p {axis = 1 : i32} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %m = tosa.mul %s, %inv_n, %shift : (tensor<4x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<4x1xf32>
  %t = tosa.mul %xhat, %m, %shift : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %d = tosa.sub %dy, %t : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %dx = tosa.mul %d, %rstd, %shift : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  return %dx : tensor<4x16xf32>
}
func.func @wrong_n(%dy: tensor<4x16xf32>, %x: tensor<4x16xf32>, %rstd: tensor<4x1xf32>) -> tensor<4x16xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<0.0666666701> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %xhat = tosa.mul %x, %rstd, %shift : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %p = tosa.mul %dy, %xhat, %shift : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %s = tosa.reduce_sum %p {axis = 1 : i32} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %m = tosa.mul %s, %inv_n, %shift : (tensor<4x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<4x1xf32>
  %t = tosa.mul %xhat, %m, %shift : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %d = tosa.sub %dy, %t : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %dx = tosa.mul %d, %rstd, %shift : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  return %dx : tensor<4x16xf32>
}
func.func @sum_of_x_not_xhat(%dy: tensor<4x16xf32>, %x: tensor<4x16xf32>, %rstd: tensor<4x1xf32>) -> tensor<4x16xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<6.250000e-02> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %xhat = tosa.mul %x, %rstd, %shift : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %p = tosa.mul %dy, %x, %shift : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %s = tosa.reduce_sum %p {axis = 1 : i32} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %m = tosa.mul %s, %inv_n, %shift : (tensor<4x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<4x1xf32>
  %t = tosa.mul %xhat, %m, %shift : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %d = tosa.sub %dy, %t : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %dx = tosa.mul %d, %rstd, %shift : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  return %dx : tensor<4x16xf32>
}
func.func @rounded_inside(%dy: tensor<4x16xf32>, %x: tensor<4x16xf32>, %rstd: tensor<4x1xf32>) -> tensor<4x16xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<6.250000e-02> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %xhat = tosa.mul %x, %rstd, %shift : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %p = tosa.mul %dy, %xhat, %shift : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %s = tosa.reduce_sum %p {axis = 1 : i32} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %m = tosa.mul %s, %inv_n, %shift : (tensor<4x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<4x1xf32>
  %t = tosa.mul %xhat, %m, %shift : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %d = tosa.sub %dy, %t : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %db = tosa.cast %d : (tensor<4x16xf32>) -> tensor<4x16xbf16>
  %df = tosa.cast %db : (tensor<4x16xbf16>) -> tensor<4x16xf32>
  %dx = tosa.mul %df, %rstd, %shift : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  return %dx : tensor<4x16xf32>
}
func.func @unbiased_recomputed_variance(%dy: tensor<6x32xf32>, %x: tensor<6x32xf32>, %w: tensor<32xf32>) -> tensor<6x32xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<3.125000e-02> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %inv_n1 = "tosa.const"() <{values = dense<0.0322580636> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.0e-05> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %shape = tosa.const_shape {values = dense<[1, 32]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %w2 = tosa.reshape %w, %shape : (tensor<32xf32>, !tosa.shape<2>) -> tensor<1x32xf32>
  %sx = tosa.reduce_sum %x {axis = 1 : i32} : (tensor<6x32xf32>) -> tensor<6x1xf32>
  %mean = tosa.mul %sx, %inv_n, %shift : (tensor<6x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<6x1xf32>
  %xc = tosa.sub %x, %mean : (tensor<6x32xf32>, tensor<6x1xf32>) -> tensor<6x32xf32>
  %sq = tosa.mul %xc, %xc, %shift : (tensor<6x32xf32>, tensor<6x32xf32>, tensor<1xi8>) -> tensor<6x32xf32>
  %ss = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<6x32xf32>) -> tensor<6x1xf32>
  %var = tosa.mul %ss, %inv_n1, %shift : (tensor<6x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<6x1xf32>
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

// dgamma built from x instead of xhat (the sum over the rows of dy * x,
// with the saved statistics unused): a column sum, not a norm's gradient.
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @dgamma_from_x
// CHECK-NOT: norm.
// CHECK: linalg.generic
func.func @dgamma_from_x(%dy: tensor<4x16xf32>, %x: tensor<4x16xf32>) -> tensor<16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<16xf32>) -> tensor<16xf32>
  %dg = linalg.generic {indexing_maps = [#id, #id, #col], iterator_types = ["reduction", "parallel"]}
      ins(%dy, %x : tensor<4x16xf32>, tensor<4x16xf32>) outs(%acc : tensor<16xf32>) {
    ^bb0(%d: f32, %a: f32, %o: f32):
      %p = arith.mulf %d, %a : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
  } -> tensor<16xf32>
  return %dg : tensor<16xf32>
}
