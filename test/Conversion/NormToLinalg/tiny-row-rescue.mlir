// RUN: norm-opt %s -split-input-file -convert-norm-to-linalg | FileCheck %s

// The tiny-row rescue in the reference: with an eps below 2^-74, the sum of
// squares generic also sums (x 2^100 c)^2, and a row whose sum q is below
// 2^-100 takes rstd = 2^100 / sqrt(q' + eps 2^200), also as the rstd result.
// CHECK-LABEL: func @layer_norm_tiny_eps
// CHECK-DAG:     %[[EPS:.*]] = arith.constant 9.999940e-41 : f32
// CHECK-DAG:     %[[SCALE:.*]] = arith.constant 1.2676506E+30 : f32
// CHECK-DAG:     %[[THRESHOLD:.*]] = arith.constant 7.88860905E-31 : f32
// CHECK:         %[[E1:.*]] = arith.mulf %[[EPS]], %[[SCALE]] : f32
// CHECK:         %[[SCALED_EPS:.*]] = arith.mulf %[[E1]], %[[SCALE]] : f32
// CHECK:         %[[SQ:.*]]:2 = linalg.generic
// CHECK-SAME:        iterator_types = ["parallel", "reduction"]
// CHECK:           %[[C1:.*]] = arith.subf
// CHECK:           %[[X:.*]] = arith.subf %[[C1]]
// CHECK:           %[[T:.*]] = arith.mulf %[[X]], %[[C:.*]] : f32
// CHECK:           %[[T2:.*]] = arith.mulf %[[T]], %[[T]] : f32
// CHECK:           %[[Q:.*]] = arith.addf %{{.*}}, %[[T2]] : f32
// CHECK:           %[[XS:.*]] = arith.mulf %[[X]], %[[SCALE]] : f32
// CHECK:           %[[TS:.*]] = arith.mulf %[[XS]], %[[C]] : f32
// CHECK:           %[[TS2:.*]] = arith.mulf %[[TS]], %[[TS]] : f32
// CHECK:           %[[QS:.*]] = arith.addf %{{.*}}, %[[TS2]] : f32
// CHECK:           linalg.yield %[[Q]], %[[QS]] : f32, f32
// CHECK:         %[[RSTD:.*]]:2 = linalg.generic
// CHECK-SAME:        ins(%[[SQ]]#0, %[[SQ]]#1 : tensor<4xf32>, tensor<4xf32>)
// CHECK:         ^bb0(%[[IN_Q:.*]]: f32, %[[IN_QS:.*]]: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK:           %[[USUAL:.*]] = arith.select
// CHECK:           %[[TINY:.*]] = arith.cmpf olt, %[[IN_Q]], %[[THRESHOLD]] : f32
// CHECK:           %[[SUM:.*]] = arith.addf %[[IN_QS]], %[[SCALED_EPS]] : f32
// CHECK:           %[[R:.*]] = math.rsqrt %[[SUM]] : f32
// CHECK:           %[[RESCUED:.*]] = arith.mulf %[[SCALE]], %[[R]] : f32
// CHECK:           %[[OUT:.*]] = arith.select %[[TINY]], %[[RESCUED]], %[[USUAL]] : f32
// CHECK:           linalg.yield %[[OUT]], %[[OUT]] : f32, f32
// CHECK:         return %{{.*}}, %[[RSTD]]#1
func.func @layer_norm_tiny_eps(%x: tensor<4x64xf32>, %y: tensor<4x64xf32>, %r: tensor<4xf32>) -> (tensor<4x64xf32>, tensor<4xf32>) {
  %0:2 = norm.layer_norm eps(1.0e-40) ins(%x : tensor<4x64xf32>) outs(%y : tensor<4x64xf32>) rstd(%r : tensor<4xf32>) -> tensor<4x64xf32>, tensor<4xf32>
  return %0#0, %0#1 : tensor<4x64xf32>, tensor<4xf32>
}

// -----

// A run-time eps: also guarded by eps < 2^-74.
// CHECK-LABEL: func @rms_norm_runtime_eps
// CHECK-SAME:    %[[E:[a-z0-9]+]]: f32
// CHECK:         %[[SMALL:.*]] = arith.cmpf olt, %[[E]], %{{.*}} : f32
// CHECK:         linalg.generic
// CHECK:         linalg.generic
// CHECK:           %[[TINY:.*]] = arith.cmpf olt
// CHECK:           arith.andi %[[TINY]], %[[SMALL]] : i1
func.func @rms_norm_runtime_eps(%x: tensor<4x64xf32>, %e: f32, %y: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %0 = norm.rms_norm eps(%e : f32) ins(%x : tensor<4x64xf32>) outs(%y : tensor<4x64xf32>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}

// -----

// Near miss: the usual eps, one sum of squares and no rescue.
// CHECK-LABEL: func @rms_norm_usual_eps
// CHECK-NOT:     1.2676506E+30
// CHECK:         linalg.generic
// CHECK-SAME:        outs(%{{.*}} : tensor<4xf32>)
// CHECK-NOT:     arith.cmpf olt
// CHECK:         return
func.func @rms_norm_usual_eps(%x: tensor<4x64xf32>, %y: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %0 = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%y : tensor<4x64xf32>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}
