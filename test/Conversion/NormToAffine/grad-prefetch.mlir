// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=4 unroll=1" | FileCheck %s
// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=4 unroll=1 prefetch=false" | FileCheck %s --check-prefix=OFF

// The dx sweep reads its row from cache; it prefetches x and dy of the
// row one group on (4 rows with dgamma/dbeta), clamped to the last row, at
// the column it is at, so that the next group's sums sweep finds them in
// cache. The sums sweep prefetches nothing.
// CHECK: #[[AHEAD4:.*]] = affine_map<(d0)[s0] -> (d0 + 4, s0 - 1)>
// CHECK-LABEL: func.func @grouped
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x64xf32>, %[[DY:[^:]*]]: memref<?x64xf32>
// CHECK: %[[ROWS:.*]] = memref.dim %[[X]]
// CHECK: scf.for %[[FIRST:[^ ]*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:   %[[ROW1:.*]] = arith.addi %[[FIRST]], %c1
// CHECK:   %[[NEXT:.*]] = affine.min #[[AHEAD4]](%[[FIRST]])[%[[ROWS]]]
// CHECK:   %[[NEXT1:.*]] = affine.min #[[AHEAD4]](%[[ROW1]])[%[[ROWS]]]
// CHECK:   affine.for %[[C:.*]] = 0 to 64 step 4 iter_args
// CHECK-NOT: memref.prefetch
// CHECK:     affine.yield
// CHECK:   affine.for %[[C2:.*]] = 0 to 64 step 4 {
// CHECK-NEXT: memref.prefetch %[[X]][%[[NEXT]], %[[C2]]], read, locality<3>, data
// CHECK-NEXT: memref.prefetch %[[DY]][%[[NEXT]], %[[C2]]], read, locality<3>, data
// CHECK:     vector.store %{{.*}}, %{{.*}}[%[[FIRST]], %[[C2]]]
// CHECK:   affine.for %[[C3:.*]] = 0 to 64 step 4 {
// CHECK-NEXT: memref.prefetch %[[X]][%[[NEXT1]], %[[C3]]], read, locality<3>, data
// CHECK-NEXT: memref.prefetch %[[DY]][%[[NEXT1]], %[[C3]]], read, locality<3>, data
// CHECK:     vector.store %{{.*}}, %{{.*}}[%[[ROW1]], %[[C3]]]
// OFF-LABEL: func.func @grouped
// OFF-NOT: memref.prefetch
// OFF: return
func.func @grouped(%x: memref<?x64xf32>, %dy: memref<?x64xf32>, %g: memref<64xf32>,
                   %m: memref<?xf32>, %r: memref<?xf32>, %dx: memref<?x64xf32>,
                   %dg: memref<64xf32>) {
  norm.layer_norm_grad ins(%x : memref<?x64xf32>) dy(%dy : memref<?x64xf32>) gamma(%g : memref<64xf32>)
      mean(%m : memref<?xf32>) rstd(%r : memref<?xf32>)
      outs dx(%dx : memref<?x64xf32>) dgamma(%dg : memref<64xf32>)
  return
}

// -----

// dx alone: rows one at a time, each prefetching the next row (the last
// clamped to M - 1).
// CHECK: #[[AHEAD1:.*]] = affine_map<(d0) -> (d0 + 1, 127)>
// CHECK-LABEL: func.func @single
// CHECK-SAME: (%[[X:[^:]*]]: memref<128x64xf32>, %[[DY:[^:]*]]: memref<128x64xf32>
// CHECK: scf.for %[[ROW:[^ ]*]] =
// CHECK:   %[[NEXT:.*]] = affine.min #[[AHEAD1]](%[[ROW]])
// CHECK:   affine.for %[[C:.*]] = 0 to 64 step 4 {
// CHECK-NEXT: memref.prefetch %[[X]][%[[NEXT]], %[[C]]]
// CHECK-NEXT: memref.prefetch %[[DY]][%[[NEXT]], %[[C]]]
// OFF-LABEL: func.func @single
// OFF-NOT: memref.prefetch
// OFF: return
func.func @single(%x: memref<128x64xf32>, %dy: memref<128x64xf32>, %r: memref<128xf32>,
                  %dx: memref<128x64xf32>) {
  norm.rms_norm_grad ins(%x : memref<128x64xf32>) dy(%dy : memref<128x64xf32>)
      rstd(%r : memref<128xf32>) outs dx(%dx : memref<128x64xf32>)
  return
}
