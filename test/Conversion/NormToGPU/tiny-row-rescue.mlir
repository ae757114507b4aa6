// RUN: norm-opt %s --convert-norm-to-gpu -cse -split-input-file | FileCheck %s

// The tiny-row rescue on the GPU: with an eps below 2^-74, each thread sums
// both (x c)^2 and (x 2^100 c)^2, the two sums cross the row together (no
// branch around the shuffles), and a row whose first sum q is below 2^-100
// takes rstd = 2^100 / sqrt(q' + eps 2^200). The held row keeps x c, so the
// rescue's term is (x c 2^100)^2.
// CHECK-LABEL: func @layer_norm_tiny_eps
// CHECK:         gpu.launch
// CHECK-DAG:       %[[EPS:.*]] = arith.constant 9.999940e-41 : f32
// CHECK-DAG:       %[[SCALE:.*]] = arith.constant 1.2676506E+30 : f32
// CHECK:           %[[E1:.*]] = arith.mulf %[[EPS]], %[[SCALE]] : f32
// CHECK:           %[[E2:.*]] = arith.mulf %[[E1]], %[[SCALE]] : f32
// CHECK:           %[[OFFSET:.*]] = arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK-NEXT:      %[[DC:.*]] = arith.mulf %[[OFFSET]], %[[C:.*]] : f32
// CHECK-NEXT:      %[[NDC:.*]] = arith.negf %[[DC]] : f32
// CHECK-NEXT:      %[[T:.*]] = math.fma %{{.*}}, %[[C]], %[[NDC]] : f32
// CHECK:           arith.mulf %[[T]], %[[T]] fastmath<contract> : f32
// CHECK-NEXT:      %[[TS:.*]] = arith.mulf %[[T]], %[[SCALE]] : f32
// CHECK-NEXT:      arith.mulf %[[TS]], %[[TS]] fastmath<contract> : f32
// CHECK:           gpu.shuffle  xor %{{.*}}, %c2_i32
// CHECK:           gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK:           gpu.shuffle  xor %{{.*}}, %c2_i32
// CHECK:           gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK:           %[[SUM:.*]] = arith.addf %[[Q:.*]], %[[EPS]] : f32
// CHECK:           %[[USUAL:.*]] = arith.select
// CHECK:           %[[S2:.*]] = arith.addf %[[QS:.*]], %[[E2]] : f32
// CHECK:           %[[ROOT:.*]] = math.rsqrt %[[S2]] fastmath<afn> : f32
// CHECK:           %[[RESCUED:.*]] = arith.mulf %[[SCALE]], %[[ROOT]] : f32
// CHECK:           %[[TINY:.*]] = arith.cmpf olt, %[[Q]], %{{.*}} : f32
// CHECK:           %[[RSTD:.*]] = arith.select %[[TINY]], %[[RESCUED]], %[[USUAL]] : f32
// CHECK:           %[[UNSCALED:.*]] = arith.mulf %[[RSTD]], %{{.*}} : f32
// CHECK:           arith.mulf %[[T]], %[[UNSCALED]] : f32
func.func @layer_norm_tiny_eps(%x: memref<4x64xf32>, %y: memref<4x64xf32>) {
  norm.layer_norm eps(1.0e-40) ins(%x : memref<4x64xf32>) outs(%y : memref<4x64xf32>)
  return
}

// -----

// A streamed (dynamic) row with two warps: the two sums go through
// workgroup memory in one exchange, one barrier.
// CHECK-LABEL: func @rms_norm_dynamic_tiny_eps
// CHECK:         gpu.launch
// CHECK:           scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (f32, f32)
// CHECK:           gpu.barrier
// CHECK-NOT:       gpu.barrier
// CHECK:           arith.cmpf olt
// CHECK:           arith.select
func.func @rms_norm_dynamic_tiny_eps(%x: memref<?x?xf32>, %y: memref<?x?xf32>) {
  norm.rms_norm eps(1.0e-40) ins(%x : memref<?x?xf32>) outs(%y : memref<?x?xf32>)
  return
}

// -----

// A run-time eps: the rescue is guarded by eps < 2^-74 too.
// CHECK-LABEL: func @rms_norm_runtime_eps
// CHECK:         gpu.launch
// CHECK:           %[[SMALL:.*]] = arith.cmpf olt, %{{.*}}, %{{.*}} : f32
// CHECK:           gpu.shuffle
// CHECK:           %[[TINY:.*]] = arith.cmpf olt, %{{.*}}, %{{.*}} : f32
// CHECK:           %[[BOTH:.*]] = arith.andi %[[TINY]], %[[SMALL]] : i1
// CHECK:           arith.select %[[BOTH]]
func.func @rms_norm_runtime_eps(%x: memref<4x64xf32>, %e: f32, %y: memref<4x64xf32>) {
  norm.rms_norm eps(%e : f32) ins(%x : memref<4x64xf32>) outs(%y : memref<4x64xf32>)
  return
}

// -----

// Near miss: the usual eps swamps any error in a tiny q; one sum, as before.
// CHECK-LABEL: func @layer_norm_usual_eps
// CHECK-NOT:     1.2676506E+30
// CHECK-NOT:     7.88860905E-31
// CHECK:         return
func.func @layer_norm_usual_eps(%x: memref<4x64xf32>, %y: memref<4x64xf32>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<4x64xf32>) outs(%y : memref<4x64xf32>)
  return
}
