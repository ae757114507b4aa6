// RUN: norm-opt %s -split-input-file -canonicalize | FileCheck %s

// A splat-1 gamma and a splat-0 beta are exact identities: they drop out.
// CHECK-LABEL: func @identity_affine
// CHECK: norm.layer_norm eps(1.0e-05) ins(%{{.*}} : tensor<4x8xf32>) outs(
// CHECK-NOT: gamma
// CHECK-NOT: beta
func.func @identity_affine(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %g = arith.constant dense<1.0> : tensor<8xf32>
  %b = arith.constant dense<0.0> : tensor<8xf32>
  %o = tensor.empty() : tensor<4x8xf32>
  %y = norm.layer_norm eps(1.0e-05) ins(%x : tensor<4x8xf32>) gamma(%g : tensor<8xf32>) beta(%b : tensor<8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func @rms_identity_gamma
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<4x8xbf16>) outs(
func.func @rms_identity_gamma(%x: tensor<4x8xbf16>) -> tensor<4x8xbf16> {
  %g = arith.constant dense<1.0> : tensor<8xbf16>
  %o = tensor.empty() : tensor<4x8xbf16>
  %y = norm.rms_norm eps(1.0e-06) ins(%x : tensor<4x8xbf16>) gamma(%g : tensor<8xbf16>) outs(%o : tensor<4x8xbf16>) -> tensor<4x8xbf16>
  return %y : tensor<4x8xbf16>
}

// -----

// Near misses: a splat that is not the identity, and a non-splat constant,
// stay.
// CHECK-LABEL: func @not_identity
// CHECK: norm.layer_norm eps(1.0e-05) ins(%{{.*}} : tensor<4x2xf32>) gamma(%{{.*}} : tensor<2xf32>) beta(%{{.*}} : tensor<2xf32>)
func.func @not_identity(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %g = arith.constant dense<2.0> : tensor<2xf32>
  %b = arith.constant dense<[0.0, 1.0]> : tensor<2xf32>
  %o = tensor.empty() : tensor<4x2xf32>
  %y = norm.layer_norm eps(1.0e-05) ins(%x : tensor<4x2xf32>) gamma(%g : tensor<2xf32>) beta(%b : tensor<2xf32>) outs(%o : tensor<4x2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// Only the identity half of the pair drops.
// CHECK-LABEL: func @gamma_identity_beta_not
// CHECK: norm.layer_norm eps(1.0e-05) ins(%{{.*}} : tensor<4x2xf32>) beta(%{{.*}} : tensor<2xf32>) outs(
func.func @gamma_identity_beta_not(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %g = arith.constant dense<1.0> : tensor<2xf32>
  %b = arith.constant dense<0.5> : tensor<2xf32>
  %o = tensor.empty() : tensor<4x2xf32>
  %y = norm.layer_norm eps(1.0e-05) ins(%x : tensor<4x2xf32>) gamma(%g : tensor<2xf32>) beta(%b : tensor<2xf32>) outs(%o : tensor<4x2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// A constant eps operand becomes the attribute (holding the f32 value
// exactly).
// CHECK-LABEL: func @constant_eps
// CHECK-NOT: arith.constant
// CHECK: norm.rms_norm eps(9.99999997{{[0-9]*}}e-07) ins(
func.func @constant_eps(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = arith.constant 1.0e-06 : f32
  %o = tensor.empty() : tensor<4x8xf32>
  %y = norm.rms_norm eps(%e : f32) ins(%x : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A non-positive constant stays an operand (the attribute would be invalid).
// CHECK-LABEL: func @negative_constant_eps
// CHECK: %[[E:.*]] = arith.constant -1.000000e+00 : f32
// CHECK: norm.rms_norm eps(%[[E]] : f32)
func.func @negative_constant_eps(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = arith.constant -1.0 : f32
  %o = tensor.empty() : tensor<4x8xf32>
  %y = norm.rms_norm eps(%e : f32) ins(%x : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A runtime eps stays.
// CHECK-LABEL: func @runtime_eps
// CHECK-SAME: %[[E:[^:]*]]: f32
// CHECK: norm.layer_norm eps(%[[E]] : f32)
func.func @runtime_eps(%x: tensor<4x8xf32>, %e: f32) -> tensor<4x8xf32> {
  %o = tensor.empty() : tensor<4x8xf32>
  %y = norm.layer_norm eps(%e : f32) ins(%x : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A constant that rounds to 0 in the compute type stays an operand (the
// attribute would be invalid).
// CHECK-LABEL: func @underflowing_constant_eps
// CHECK: %[[E:.*]] = arith.constant 1.000000e-50 : f64
// CHECK: norm.rms_norm eps(%[[E]] : f64)
func.func @underflowing_constant_eps(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = arith.constant 1.0e-50 : f64
  %o = tensor.empty() : tensor<4x8xf32>
  %y = norm.rms_norm eps(%e : f64) ins(%x : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
