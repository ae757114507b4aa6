// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=16 unroll=1 prefetch=false one-pass-variance=false parallel-threshold=0" | FileCheck %s

// The tiny-row rescue: with an eps below 2^-74 (f32), a row whose scaled sum
// of squares q is below 2^-100 sums its squares again from the centred
// elements times 2^100, in a sweep of its own, and takes
// rstd = 2^100 / sqrt(q' + eps 2^200).
// CHECK-LABEL: func @layer_norm_tiny_eps
// CHECK-DAG:     %[[EPS:.*]] = arith.constant 9.999940e-41 : f32
// CHECK-DAG:     %[[SCALE:.*]] = arith.constant 1.2676506E+30 : f32
// CHECK-DAG:     %[[THRESHOLD:.*]] = arith.constant 7.88860905E-31 : f32
// CHECK:         %[[E1:.*]] = arith.mulf %[[EPS]], %[[SCALE]] : f32
// CHECK:         %[[SCALED_EPS:.*]] = arith.mulf %[[E1]], %[[SCALE]] : f32
// CHECK:         affine.parallel
// CHECK:           arith.divf
// CHECK:           %[[Q:.*]] = vector.reduction <add>
// CHECK-NEXT:      arith.addf %[[Q]], %[[EPS]] : f32
// CHECK:           %[[USUAL:.*]] = arith.select
// CHECK:           %[[TINY:.*]] = arith.cmpf olt, %[[Q]], %[[THRESHOLD]] : f32
// CHECK:           %[[RSTD:.*]] = scf.if %[[TINY]] -> (f32) {
// CHECK:             %[[FACTOR:.*]] = vector.broadcast %[[SCALE]] : f32 to vector<16xf32>
// CHECK:             affine.for
// CHECK:               %[[C1:.*]] = arith.subf
// CHECK:               %[[C2:.*]] = arith.subf %[[C1]]
// CHECK:               %[[X:.*]] = arith.mulf %[[C2]], %[[FACTOR]] : vector<16xf32>
// CHECK:               %[[T:.*]] = arith.mulf %[[X]], %{{.*}} : vector<16xf32>
// CHECK:               arith.mulf %[[T]], %[[T]] fastmath<contract>
// CHECK:             %[[Q2:.*]] = vector.reduction <add>
// CHECK:             %[[SUM:.*]] = arith.addf %[[Q2]], %[[SCALED_EPS]] : f32
// CHECK:             %[[R:.*]] = math.rsqrt %[[SUM]] : f32
// CHECK:             %[[RESCUED:.*]] = arith.mulf %[[SCALE]], %[[R]] : f32
// CHECK:             scf.yield %[[RESCUED]] : f32
// CHECK:           } else {
// CHECK:             scf.yield %[[USUAL]] : f32
// CHECK:           }
// CHECK:           vector.broadcast %[[RSTD]] : f32 to vector<16xf32>
func.func @layer_norm_tiny_eps(%x: memref<4x64xf32>, %y: memref<4x64xf32>) {
  norm.layer_norm eps(1.0e-40) ins(%x : memref<4x64xf32>) outs(%y : memref<4x64xf32>)
  return
}

// -----

// Just under the bound (2^-74 = 5.29e-23): rescued.
// CHECK-LABEL: func @rms_norm_eps_under_bound
// CHECK:         arith.constant 1.2676506E+30 : f32
// CHECK:         arith.cmpf olt
// CHECK:         scf.if
func.func @rms_norm_eps_under_bound(%x: memref<4x64xf32>, %y: memref<4x64xf32>) {
  norm.rms_norm eps(5.0e-23) ins(%x : memref<4x64xf32>) outs(%y : memref<4x64xf32>)
  return
}

// -----

// Near misses: an eps at or above the bound swamps any error in a tiny q,
// so nothing is emitted (the usual eps, and just over the bound).
// CHECK-LABEL: func @rms_norm_eps_over_bound
// CHECK-NOT:     1.2676506E+30
// CHECK-NOT:     arith.cmpf olt
// CHECK-NOT:     scf.if
// CHECK:         return
func.func @rms_norm_eps_over_bound(%x: memref<4x64xf32>, %y: memref<4x64xf32>) {
  norm.rms_norm eps(6.0e-23) ins(%x : memref<4x64xf32>) outs(%y : memref<4x64xf32>)
  return
}

// -----

// CHECK-LABEL: func @layer_norm_usual_eps
// CHECK-NOT:     1.2676506E+30
// CHECK-NOT:     7.88860905E-31
// CHECK-NOT:     scf.if
// CHECK:         return
func.func @layer_norm_usual_eps(%x: memref<4x64xf32>, %y: memref<4x64xf32>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<4x64xf32>) outs(%y : memref<4x64xf32>)
  return
}

// -----

// A run-time eps: the rescue is there, guarded by eps < 2^-74 too.
// CHECK-LABEL: func @rms_norm_runtime_eps
// CHECK-SAME:    %[[E:[a-z0-9]+]]: f32
// CHECK:         %[[BOUND:.*]] = arith.constant 5.29395592E-23 : f32
// CHECK:         %[[SMALL:.*]] = arith.cmpf olt, %[[E]], %[[BOUND]] : f32
// CHECK:         affine.parallel
// CHECK:           %[[TINY:.*]] = arith.cmpf olt
// CHECK:           %[[BOTH:.*]] = arith.andi %[[TINY]], %[[SMALL]] : i1
// CHECK:           scf.if %[[BOTH]] -> (f32)
func.func @rms_norm_runtime_eps(%x: memref<4x64xf32>, %e: f32, %y: memref<4x64xf32>) {
  norm.rms_norm eps(%e : f32) ins(%x : memref<4x64xf32>) outs(%y : memref<4x64xf32>)
  return
}

// -----

// f64: threshold 2^-996, scale 2^996, for an eps below 2^-970.
// CHECK-LABEL: func @rms_norm_f64
// CHECK-DAG:     arith.constant 6.6969287949141708E+299 : f64
// CHECK-DAG:     %[[THRESHOLD:.*]] = arith.constant 1.4932217896051502E-300 : f64
// CHECK:         arith.cmpf olt, %{{.*}}, %[[THRESHOLD]] : f64
func.func @rms_norm_f64(%x: memref<4x64xf64>, %y: memref<4x64xf64>) {
  norm.rms_norm eps(1.0e-300) ins(%x : memref<4x64xf64>) outs(%y : memref<4x64xf64>)
  return
}
