// RUN: norm-opt %s --norm-fuse --split-input-file | FileCheck %s

// --norm-fuse: a float narrowing of a norm output computed in the compute
// type becomes the op's output type (it rounds once either way).

// CHECK-LABEL: func @arith_truncf
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xbf16>, %[[G:.*]]: tensor<64xbf16>)
// CHECK: %[[O:.*]] = tensor.empty() : tensor<4x64xbf16>
// CHECK: %[[Y:.*]] = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<4x64xbf16>) gamma(%[[G]] : tensor<64xbf16>) outs(%[[O]] : tensor<4x64xbf16>) -> tensor<4x64xbf16>
// CHECK-NOT: arith.truncf
// CHECK: return %[[Y]]
func.func @arith_truncf(%x: tensor<4x64xbf16>, %g: tensor<64xbf16>) -> tensor<4x64xbf16> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xbf16>) gamma(%g : tensor<64xbf16>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %t = arith.truncf %y : tensor<4x64xf32> to tensor<4x64xbf16>
  return %t : tensor<4x64xbf16>
}

// -----

// tosa.cast, with the op's other results kept.
// CHECK-LABEL: func @tosa_cast
// CHECK: %[[Y:.*]]:3 = norm.layer_norm {{.*}} outs(%{{.*}} : tensor<?x32xf16>) mean(%{{.*}} : tensor<?xf32>) rstd(%{{.*}} : tensor<?xf32>) -> tensor<?x32xf16>, tensor<?xf32>, tensor<?xf32>
// CHECK-NOT: tosa.cast
// CHECK: return %[[Y]]#0, %[[Y]]#1, %[[Y]]#2
func.func @tosa_cast(%x: tensor<?x32xf32>, %o: tensor<?x32xf32>, %m: tensor<?xf32>, %v: tensor<?xf32>) -> (tensor<?x32xf16>, tensor<?xf32>, tensor<?xf32>) {
  %y:3 = norm.layer_norm eps(1.0e-5) ins(%x : tensor<?x32xf32>) outs(%o : tensor<?x32xf32>) mean(%m : tensor<?xf32>) rstd(%v : tensor<?xf32>) -> tensor<?x32xf32>, tensor<?xf32>, tensor<?xf32>
  %t = tosa.cast %y#0 : (tensor<?x32xf32>) -> tensor<?x32xf16>
  return %t, %y#1, %y#2 : tensor<?x32xf16>, tensor<?xf32>, tensor<?xf32>
}

// -----

// A linalg.generic that truncates; f64 computes in f64.
#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @generic_truncf_f64
// CHECK: norm.rms_norm {{.*}} ins(%{{.*}} : tensor<3x8xf64>) outs(%{{.*}} : tensor<3x8xf32>) -> tensor<3x8xf32>
// CHECK-NOT: linalg.generic
func.func @generic_truncf_f64(%x: tensor<3x8xf64>) -> tensor<3x8xf32> {
  %o = tensor.empty() : tensor<3x8xf64>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<3x8xf64>) outs(%o : tensor<3x8xf64>) -> tensor<3x8xf64>
  %e = tensor.empty() : tensor<3x8xf32>
  %t = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<3x8xf64>) outs(%e : tensor<3x8xf32>) {
  ^bb0(%a: f64, %b: f32):
    %c = arith.truncf %a : f64 to f32
    linalg.yield %c : f32
  } -> tensor<3x8xf32>
  return %t : tensor<3x8xf32>
}

// -----

// Refused: from an output that is already rounded (f32 out of f64): the
// fused op would round once instead of twice.
// CHECK-LABEL: func @double_rounding
// CHECK: norm.rms_norm {{.*}} outs(%{{.*}} : tensor<3x8xf32>)
// CHECK: arith.truncf
func.func @double_rounding(%x: tensor<3x8xf64>) -> tensor<3x8xf16> {
  %o = tensor.empty() : tensor<3x8xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<3x8xf64>) outs(%o : tensor<3x8xf32>) -> tensor<3x8xf32>
  %t = arith.truncf %y : tensor<3x8xf32> to tensor<3x8xf16>
  return %t : tensor<3x8xf16>
}

// -----

// Refused: a plain truncation to f8E4M3FN overflows to NaN where a
// quantised output saturates.
// CHECK-LABEL: func @truncf_f8
// CHECK: norm.rms_norm {{.*}} outs(%{{.*}} : tensor<4x64xf32>)
// CHECK: arith.truncf
func.func @truncf_f8(%x: tensor<4x64xf32>) -> tensor<4x64xf8E4M3FN> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %t = arith.truncf %y : tensor<4x64xf32> to tensor<4x64xf8E4M3FN>
  return %t : tensor<4x64xf8E4M3FN>
}

// -----

// Refused: rounding toward zero.
// CHECK-LABEL: func @truncf_toward_zero
// CHECK: norm.rms_norm {{.*}} outs(%{{.*}} : tensor<4x64xf32>)
// CHECK: arith.truncf
func.func @truncf_toward_zero(%x: tensor<4x64xf32>) -> tensor<4x64xbf16> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %t = arith.truncf %y toward_zero : tensor<4x64xf32> to tensor<4x64xbf16>
  return %t : tensor<4x64xbf16>
}

// -----

// Refused: a widening cast is not an output rounding.
// CHECK-LABEL: func @extf
// CHECK: norm.rms_norm {{.*}} outs(%{{.*}} : tensor<4x64xbf16>)
// CHECK: arith.extf
func.func @extf(%x: tensor<4x64xbf16>) -> tensor<4x64xf32> {
  %o = tensor.empty() : tensor<4x64xbf16>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xbf16>) outs(%o : tensor<4x64xbf16>) -> tensor<4x64xbf16>
  %t = arith.extf %y : tensor<4x64xbf16> to tensor<4x64xf32>
  return %t : tensor<4x64xf32>
}
