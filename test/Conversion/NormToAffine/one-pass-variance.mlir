// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=16 unroll=2 prefetch=false" | FileCheck %s
// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=16 unroll=2 prefetch=false one-pass-variance=false" | FileCheck %s --check-prefix=TWO

// LayerNorm by default: sweep 1 accumulates both sum(h - p) and
// sum(((h - p) c)^2); the variance is their difference unless that
// subtraction would cancel, in which case (and only then) the centred
// sweep runs.
// CHECK-LABEL: func @layer_norm
// CHECK:         %[[S:.*]]:4 = affine.for %{{.*}} = 0 to 768 step 32 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK:           %[[D:.*]] = arith.subf
// CHECK:           arith.addf %{{.*}}, %[[D]] : vector<16xf32>
// CHECK:           %[[T:.*]] = arith.mulf %[[D]], %{{.*}} : vector<16xf32>
// CHECK:           %[[SQ:.*]] = arith.mulf %[[T]], %[[T]] fastmath<contract>
// CHECK:           arith.addf %{{.*}}, %[[SQ]] fastmath<contract>
// CHECK:         %[[SUM:.*]] = vector.reduction <add>
// CHECK:         %[[DM:.*]] = arith.divf %[[SUM]], %{{.*}} : f32
// CHECK:         %[[Q:.*]] = vector.reduction <add>
// CHECK:         %[[DM2:.*]] = arith.mulf %[[DM]], %[[DM]] : f32
// CHECK:         %[[ONE:.*]] = arith.subf %[[Q]], %[[DM2]] : f32
// CHECK:         %[[BOUND:.*]] = arith.mulf %[[Q]], %cst{{.*}} : f32
// CHECK:         %[[OK:.*]] = arith.cmpf ole, %[[DM2]], %[[BOUND]] : f32
// CHECK:         %[[VAR:.*]] = scf.if %[[OK]] -> (f32) {
// CHECK-NEXT:      scf.yield %[[ONE]] : f32
// CHECK-NEXT:    } else {
// CHECK:           affine.for %{{.*}} = 0 to 768 step 32 iter_args
// CHECK:           vector.reduction <add>
// CHECK:         }
// CHECK:         arith.addf %[[VAR]], %{{.*}} : f32
// CHECK:         math.rsqrt

// Near miss: with one-pass-variance=false, one sum in sweep 1, then the
// centred sweep unconditionally.
// TWO-LABEL: func @layer_norm
// TWO:         affine.for %{{.*}} = 0 to 768 step 32 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>)
// TWO-NOT:     scf.if
// TWO:         affine.for %{{.*}} = 0 to 768 step 32 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>)
func.func @layer_norm(%x: memref<8x768xf32>, %o: memref<8x768xf32>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<8x768xf32>) outs(%o : memref<8x768xf32>)
  return
}

// -----

// RMSNorm has no mean, hence nothing to choose: one statistics sweep.
// CHECK-LABEL: func @rms_norm
// CHECK-NOT:     scf.if
// CHECK:         affine.for %{{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>)
// CHECK-NOT:     scf.if
func.func @rms_norm(%x: memref<8x768xf32>, %o: memref<8x768xf32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<8x768xf32>) outs(%o : memref<8x768xf32>)
  return
}
