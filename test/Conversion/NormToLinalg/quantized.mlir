// RUN: norm-opt %s --convert-norm-to-linalg --split-input-file | FileCheck %s

// The reference semantics of quantised outputs: divide by the out_scale in
// the compute type, then i8: round half to even, saturate, NaN -> 0.

// CHECK-LABEL: func @rms_norm_i8
// CHECK-SAME: %[[S:[a-z0-9]+]]: f32
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<4x64xi8>)
// CHECK: %[[Y:.*]] = arith.mulf
// CHECK: %[[Q:.*]] = arith.divf %[[Y]], %[[S]] : f32
// CHECK: %[[NAN:.*]] = arith.cmpf uno, %[[Q]], %[[Q]] : f32
// CHECK: %[[R:.*]] = math.roundeven %[[Q]] : f32
// CHECK: %[[LO:.*]] = arith.maximumf %[[R]], %{{.*}} : f32
// CHECK: %[[HI:.*]] = arith.minimumf %[[LO]], %{{.*}} : f32
// CHECK: %[[SEL:.*]] = arith.select %[[NAN]], %{{.*}}, %[[HI]] : f32
// CHECK: %[[I:.*]] = arith.fptosi %[[SEL]] : f32 to i8
// CHECK: linalg.yield %[[I]] : i8
func.func @rms_norm_i8(%x: tensor<4x64xbf16>, %s: f32) -> tensor<4x64xi8> {
  %o = tensor.empty() : tensor<4x64xi8>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xbf16>) out_scale(%s : f32) outs(%o : tensor<4x64xi8>) -> tensor<4x64xi8>
  return %y : tensor<4x64xi8>
}

// -----

// f8E4M3FN: saturate to +-448, then one rounding truncf. A narrower scale
// is extended to the compute type once, outside the loop.

// CHECK-LABEL: func @layer_norm_f8
// CHECK-SAME: %[[S:[a-z0-9]+]]: f16
// CHECK: %[[SW:.*]] = arith.extf %[[S]] : f16 to f32
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<4x64xf8E4M3FN>)
// CHECK: %[[Q:.*]] = arith.divf %{{.*}}, %[[SW]] : f32
// CHECK: %[[MIN:.*]] = arith.constant -4.480000e+02 : f32
// CHECK: %[[LO:.*]] = arith.maximumf %[[Q]], %[[MIN]] : f32
// CHECK: %[[MAX:.*]] = arith.constant 4.480000e+02 : f32
// CHECK: %[[HI:.*]] = arith.minimumf %[[LO]], %[[MAX]] : f32
// CHECK: %[[T:.*]] = arith.truncf %[[HI]] : f32 to f8E4M3FN
// CHECK: linalg.yield %[[T]] : f8E4M3FN
func.func @layer_norm_f8(%x: tensor<4x64xf32>, %s: f16) -> tensor<4x64xf8E4M3FN> {
  %o = tensor.empty() : tensor<4x64xf8E4M3FN>
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x64xf32>) out_scale(%s : f16) outs(%o : tensor<4x64xf8E4M3FN>) -> tensor<4x64xf8E4M3FN>
  return %y : tensor<4x64xf8E4M3FN>
}
