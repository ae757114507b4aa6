// RUN: norm-opt %s --norm-capture -split-input-file | FileCheck %s
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s | FileCheck %s --check-prefix=EQUIV %}

// Decomposed norms as TFLite -> TOSA emits them (MLIR 22 TOSA syntax:
// tosa.mul takes a shift operand, tosa.reshape a !tosa.shape from
// tosa.const_shape, tosa.negate zero points).

// EQUIV-NOT: FAIL
// EQUIV: {{^}}7 passed, 0 failed

// CHECK-LABEL: func @tosa_layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x32xf32>, %[[G:.*]]: tensor<32xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK-NOT: tosa.
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<2x4x32xf32>
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<2x4x32xf32>) gamma(%[[G]] : tensor<32xf32>) beta(%[[B]] : tensor<32xf32>) outs(%[[INIT]] : tensor<2x4x32xf32>)
// CHECK-NOT: tosa.
func.func @tosa_layer_norm(%x: tensor<2x4x32xf32>, %g: tensor<32xf32>, %b: tensor<32xf32>) -> tensor<2x4x32xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<3.125000e-02> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.0e-05> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %sum = tosa.reduce_sum %x {axis = 2 : i32} : (tensor<2x4x32xf32>) -> tensor<2x4x1xf32>
  %mean = tosa.mul %sum, %inv_n, %shift : (tensor<2x4x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x4x1xf32>
  %c = tosa.sub %x, %mean : (tensor<2x4x32xf32>, tensor<2x4x1xf32>) -> tensor<2x4x32xf32>
  %sq = tosa.mul %c, %c, %shift : (tensor<2x4x32xf32>, tensor<2x4x32xf32>, tensor<1xi8>) -> tensor<2x4x32xf32>
  %ss = tosa.reduce_sum %sq {axis = 2 : i32} : (tensor<2x4x32xf32>) -> tensor<2x4x1xf32>
  %var = tosa.mul %ss, %inv_n, %shift : (tensor<2x4x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x4x1xf32>
  %ve = tosa.add %var, %eps : (tensor<2x4x1xf32>, tensor<1x1x1xf32>) -> tensor<2x4x1xf32>
  %r = tosa.rsqrt %ve : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %n = tosa.mul %c, %r, %shift : (tensor<2x4x32xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x32xf32>
  %shape = tosa.const_shape {values = dense<[1, 1, 32]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %g3 = tosa.reshape %g, %shape : (tensor<32xf32>, !tosa.shape<3>) -> tensor<1x1x32xf32>
  %b3 = tosa.reshape %b, %shape : (tensor<32xf32>, !tosa.shape<3>) -> tensor<1x1x32xf32>
  %s = tosa.mul %n, %g3, %shift : (tensor<2x4x32xf32>, tensor<1x1x32xf32>, tensor<1xi8>) -> tensor<2x4x32xf32>
  %y = tosa.add %s, %b3 : (tensor<2x4x32xf32>, tensor<1x1x32xf32>) -> tensor<2x4x32xf32>
  return %y : tensor<2x4x32xf32>
}

// -----

// RMSNorm with tosa.pow for the square and for the inverse square root,
// and gamma a constant weight of rank 3 (collapsed to the normalised rank).
// CHECK-LABEL: func @tosa_rms_norm_pow
// CHECK-SAME: (%[[X:.*]]: tensor<3x8xf32>)
// CHECK: %[[W:.*]] = "tosa.const"() <{values = dense<{{.*}}> : tensor<1x8xf32>}>
// CHECK: %[[W1:.*]] = tensor.collapse_shape %[[W]] {{\[\[}}0, 1]] : tensor<1x8xf32> into tensor<8xf32>
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<3x8xf32>) gamma(%[[W1]] : tensor<8xf32>)
// CHECK-NOT: tosa.pow
func.func @tosa_rms_norm_pow(%x: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %two = "tosa.const"() <{values = dense<2.0> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %mhalf = "tosa.const"() <{values = dense<-5.0e-01> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %n = "tosa.const"() <{values = dense<8.0> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.0e-06> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %w = "tosa.const"() <{values = dense<[[0.5, 1.0, 1.5, 2.0, -0.5, -1.0, 0.25, 0.75]]> : tensor<1x8xf32>}> : () -> tensor<1x8xf32>
  %sq = tosa.pow %x, %two : (tensor<3x8xf32>, tensor<1x1xf32>) -> tensor<3x8xf32>
  %ss = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<3x8xf32>) -> tensor<3x1xf32>
  %inv = tosa.reciprocal %n : (tensor<1x1xf32>) -> tensor<1x1xf32>
  %ms = tosa.mul %ss, %inv, %shift : (tensor<3x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<3x1xf32>
  %ve = tosa.add %eps, %ms : (tensor<1x1xf32>, tensor<3x1xf32>) -> tensor<3x1xf32>
  %r = tosa.pow %ve, %mhalf : (tensor<3x1xf32>, tensor<1x1xf32>) -> tensor<3x1xf32>
  %nrm = tosa.mul %x, %r, %shift : (tensor<3x8xf32>, tensor<3x1xf32>, tensor<1xi8>) -> tensor<3x8xf32>
  %y = tosa.mul %w, %nrm, %shift : (tensor<1x8xf32>, tensor<3x8xf32>, tensor<1xi8>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

// Normalising the two trailing dims: two keepdim reduce_sums in a row.
// CHECK-LABEL: func @tosa_two_axes
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x8xf32>, %[[G:.*]]: tensor<3x8xf32>)
// CHECK: norm.layer_norm axis(1) eps(1.0e-05) ins(%[[X]] : tensor<2x3x8xf32>) gamma(%[[G]] : tensor<3x8xf32>)
// CHECK-NOT: tosa.reduce_sum
func.func @tosa_two_axes(%x: tensor<2x3x8xf32>, %g: tensor<3x8xf32>) -> tensor<2x3x8xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<0.041666666666666664> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.0e-05> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %s2 = tosa.reduce_sum %x {axis = 2 : i32} : (tensor<2x3x8xf32>) -> tensor<2x3x1xf32>
  %s1 = tosa.reduce_sum %s2 {axis = 1 : i32} : (tensor<2x3x1xf32>) -> tensor<2x1x1xf32>
  %mean = tosa.mul %s1, %inv_n, %shift : (tensor<2x1x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x1x1xf32>
  %c = tosa.sub %x, %mean : (tensor<2x3x8xf32>, tensor<2x1x1xf32>) -> tensor<2x3x8xf32>
  %sq = tosa.mul %c, %c, %shift : (tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<1xi8>) -> tensor<2x3x8xf32>
  %q1 = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<2x3x8xf32>) -> tensor<2x1x8xf32>
  %q2 = tosa.reduce_sum %q1 {axis = 2 : i32} : (tensor<2x1x8xf32>) -> tensor<2x1x1xf32>
  %var = tosa.mul %q2, %inv_n, %shift : (tensor<2x1x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x1x1xf32>
  %ve = tosa.add %var, %eps : (tensor<2x1x1xf32>, tensor<1x1x1xf32>) -> tensor<2x1x1xf32>
  %r = tosa.rsqrt %ve : (tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %n = tosa.mul %c, %r, %shift : (tensor<2x3x8xf32>, tensor<2x1x1xf32>, tensor<1xi8>) -> tensor<2x3x8xf32>
  %shape = tosa.const_shape {values = dense<[1, 3, 8]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %g3 = tosa.reshape %g, %shape : (tensor<3x8xf32>, !tosa.shape<3>) -> tensor<1x3x8xf32>
  %y = tosa.mul %n, %g3, %shift : (tensor<2x3x8xf32>, tensor<1x3x8xf32>, tensor<1xi8>) -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}

// -----

// 1 / sqrt as tosa.reciprocal of tosa.pow(v + eps, 0.5); the centring as
// an add of tosa.negate of the mean.
// CHECK-LABEL: func @tosa_reciprocal_sqrt
// CHECK-SAME: (%[[X:.*]]: tensor<4x16xf32>, %[[B:.*]]: tensor<1x16xf32>)
// CHECK: %[[B1:.*]] = tensor.collapse_shape %[[B]]
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<4x16xf32>) beta(%[[B1]] : tensor<16xf32>)
func.func @tosa_reciprocal_sqrt(%x: tensor<4x16xf32>, %b: tensor<1x16xf32>) -> tensor<4x16xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %inv_n = "tosa.const"() <{values = dense<6.250000e-02> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %half = "tosa.const"() <{values = dense<5.0e-01> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.0e-05> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %sum = tosa.reduce_sum %x {axis = 1 : i32} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %mean = tosa.mul %sum, %inv_n, %shift : (tensor<4x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<4x1xf32>
  %neg = tosa.negate %mean, %zp, %zp : (tensor<4x1xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<4x1xf32>
  %c = tosa.add %x, %neg : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %sq = tosa.mul %c, %c, %shift : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %ss = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %var = tosa.mul %ss, %inv_n, %shift : (tensor<4x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<4x1xf32>
  %ve = tosa.add %var, %eps : (tensor<4x1xf32>, tensor<1x1xf32>) -> tensor<4x1xf32>
  %sd = tosa.pow %ve, %half : (tensor<4x1xf32>, tensor<1x1xf32>) -> tensor<4x1xf32>
  %r = tosa.reciprocal %sd : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %n = tosa.mul %r, %c, %shift : (tensor<4x1xf32>, tensor<4x16xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %y = tosa.add %b, %n : (tensor<1x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// LLaMA-style RMSNorm in f16 through tosa.cast: computed in f32, cast back,
// then scaled by an f16 weight. One op on f16.
// CHECK-LABEL: func @tosa_rms_norm_f16
// CHECK-SAME: (%[[X:.*]]: tensor<2x64xf16>, %[[G:.*]]: tensor<1x64xf16>)
// CHECK: %[[G1:.*]] = tensor.collapse_shape %[[G]]
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<2x64xf16>) gamma(%[[G1]] : tensor<64xf16>) outs(%{{.*}} : tensor<2x64xf16>) -> tensor<2x64xf16>
// CHECK-NOT: tosa.cast
func.func @tosa_rms_norm_f16(%x: tensor<2x64xf16>, %g: tensor<1x64xf16>) -> tensor<2x64xf16> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<1.562500e-02> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.0e-06> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %xf = tosa.cast %x : (tensor<2x64xf16>) -> tensor<2x64xf32>
  %sq = tosa.mul %xf, %xf, %shift : (tensor<2x64xf32>, tensor<2x64xf32>, tensor<1xi8>) -> tensor<2x64xf32>
  %ss = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<2x64xf32>) -> tensor<2x1xf32>
  %ms = tosa.mul %ss, %inv_n, %shift : (tensor<2x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<2x1xf32>
  %ve = tosa.add %ms, %eps : (tensor<2x1xf32>, tensor<1x1xf32>) -> tensor<2x1xf32>
  %r = tosa.rsqrt %ve : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %n = tosa.mul %xf, %r, %shift : (tensor<2x64xf32>, tensor<2x1xf32>, tensor<1xi8>) -> tensor<2x64xf32>
  %nh = tosa.cast %n : (tensor<2x64xf32>) -> tensor<2x64xf16>
  %y = tosa.mul %g, %nh, %shift : (tensor<1x64xf16>, tensor<2x64xf16>, tensor<1xi8>) -> tensor<2x64xf16>
  return %y : tensor<2x64xf16>
}

// -----

// eps a run-time value: a one-element tensor argument, read with
// tensor.extract for the op's eps operand.
// CHECK-LABEL: func @tosa_runtime_eps
// CHECK-SAME: (%[[X:.*]]: tensor<3x24xf32>, %[[E:.*]]: tensor<1x1xf32>)
// CHECK: %[[EV:.*]] = tensor.extract %[[E]][%{{.*}}, %{{.*}}] : tensor<1x1xf32>
// CHECK: norm.rms_norm eps(%[[EV]] : f32) ins(%[[X]] : tensor<3x24xf32>)
func.func @tosa_runtime_eps(%x: tensor<3x24xf32>, %e: tensor<1x1xf32>) -> tensor<3x24xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<0.041666666666666664> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %sq = tosa.mul %x, %x, %shift : (tensor<3x24xf32>, tensor<3x24xf32>, tensor<1xi8>) -> tensor<3x24xf32>
  %ss = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<3x24xf32>) -> tensor<3x1xf32>
  %ms = tosa.mul %ss, %inv_n, %shift : (tensor<3x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<3x1xf32>
  %ve = tosa.add %ms, %e : (tensor<3x1xf32>, tensor<1x1xf32>) -> tensor<3x1xf32>
  %r = tosa.rsqrt %ve : (tensor<3x1xf32>) -> tensor<3x1xf32>
  %y = tosa.mul %x, %r, %shift : (tensor<3x24xf32>, tensor<3x1xf32>, tensor<1xi8>) -> tensor<3x24xf32>
  return %y : tensor<3x24xf32>
}

// -----

// A residual add before the norm, in the input type: the norm op takes the
// two addends.
// CHECK-LABEL: func @tosa_residual
// CHECK-SAME: (%[[A:.*]]: tensor<2x16xf32>, %[[R:.*]]: tensor<2x16xf32>)
// CHECK: norm.rms_norm eps(1.0e-05) ins(%[[A]] : tensor<2x16xf32>) residual(%[[R]] : tensor<2x16xf32>)
func.func @tosa_residual(%a: tensor<2x16xf32>, %res: tensor<2x16xf32>) -> tensor<2x16xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<6.250000e-02> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.0e-05> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %x = tosa.add %a, %res : (tensor<2x16xf32>, tensor<2x16xf32>) -> tensor<2x16xf32>
  %sq = tosa.mul %x, %x, %shift : (tensor<2x16xf32>, tensor<2x16xf32>, tensor<1xi8>) -> tensor<2x16xf32>
  %ss = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<2x16xf32>) -> tensor<2x1xf32>
  %ms = tosa.mul %ss, %inv_n, %shift : (tensor<2x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<2x1xf32>
  %ve = tosa.add %ms, %eps : (tensor<2x1xf32>, tensor<1x1xf32>) -> tensor<2x1xf32>
  %r = tosa.rsqrt %ve : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %y = tosa.mul %x, %r, %shift : (tensor<2x16xf32>, tensor<2x1xf32>, tensor<1xi8>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}
