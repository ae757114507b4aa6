// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=4 unroll=1 parallel-threshold=0" | FileCheck %s

// LayerNorm gradient with saved statistics, every output: B = min(M, 64)
// blocks of rows in parallel, each zeroing its partial rows of dgamma and
// dbeta, then per row one sweep for the sums (and the partial rows) and
// one for dx; after the blocks, one sweep over N sums the partial rows in
// block order and stores dgamma and dbeta.
// CHECK-LABEL: func.func @layer_norm_grad
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x12xf32>, %[[DY:[^:]*]]: memref<?x12xf32>, %[[G:[^:]*]]: memref<12xf32>, %[[M:[^:]*]]: memref<?xf32>, %[[R:[^:]*]]: memref<?xf32>, %[[DX:[^:]*]]: memref<?x12xf32>, %[[DG:[^:]*]]: memref<12xf32>, %[[DB:[^:]*]]: memref<12xf32>)
// CHECK-NOT: norm.layer_norm_grad
// CHECK: %[[ROWS:.*]] = memref.dim %[[X]], %{{.*}} : memref<?x12xf32>
// CHECK: %[[N:.*]] = arith.constant 1.200000e+01 : f32
// CHECK: %[[MAXB:.*]] = arith.constant 64 : index
// CHECK: %[[B:.*]] = arith.minui %[[ROWS]], %[[MAXB]] : index
// CHECK: %[[PG:.*]] = memref.alloc(%[[B]]) : memref<?x12xf32>
// CHECK: %[[PB:.*]] = memref.alloc(%[[B]]) : memref<?x12xf32>
// CHECK: affine.parallel (%[[BLK:.*]]) = (0) to (symbol(%[[B]])) {
// CHECK:   vector.store %{{.*}}, %[[PG]][%[[BLK]], %{{.*}}]
// CHECK:   vector.store %{{.*}}, %[[PB]][%[[BLK]], %{{.*}}]
// CHECK:   scf.for %[[ROW:.*]] = %{{.*}} to %{{.*}} step
// CHECK:     memref.load %[[M]][%[[ROW]]]
// CHECK:     memref.load %[[R]][%[[ROW]]]
// CHECK:     %[[SUMS:.*]]:2 = affine.for %[[C:.*]] = 0 to 12 step 4 iter_args
// CHECK:       vector.load %[[X]][%[[ROW]], %[[C]]]
// CHECK:       vector.load %[[DY]][%[[ROW]], %[[C]]]
// CHECK:       vector.load %[[G]][%[[C]]]
// CHECK:       vector.load %[[PG]][%[[BLK]], %[[C]]]
// CHECK:       vector.store %{{.*}}, %[[PG]][%[[BLK]], %[[C]]]
// CHECK:       vector.load %[[PB]][%[[BLK]], %[[C]]]
// CHECK:       vector.store %{{.*}}, %[[PB]][%[[BLK]], %[[C]]]
// CHECK:     vector.reduction <add>, %[[SUMS]]#0
// CHECK:     arith.divf %{{.*}}, %[[N]] : f32
// CHECK:     vector.reduction <add>, %[[SUMS]]#1
// CHECK:     arith.divf %{{.*}}, %[[N]] : f32
// CHECK:     affine.for %[[C2:.*]] = 0 to 12 step 4 {
// CHECK:       vector.store %{{.*}}, %[[DX]][%[[ROW]], %[[C2]]]
// CHECK: affine.for %[[COL:.*]] = 0 to 12 step 4 {
// CHECK:   %[[TOTAL:.*]]:2 = scf.for %[[I:.*]] = %{{.*}} to %[[B]] step %{{.*}} iter_args
// CHECK:     vector.load %[[PG]][%[[I]], %[[COL]]]
// CHECK:     vector.load %[[PB]][%[[I]], %[[COL]]]
// CHECK:   vector.store %[[TOTAL]]#0, %[[DG]][%[[COL]]]
// CHECK:   vector.store %[[TOTAL]]#1, %[[DB]][%[[COL]]]
// CHECK: memref.dealloc %[[PG]]
// CHECK: memref.dealloc %[[PB]]
func.func @layer_norm_grad(%x: memref<?x12xf32>, %dy: memref<?x12xf32>, %g: memref<12xf32>,
                           %m: memref<?xf32>, %r: memref<?xf32>, %dx: memref<?x12xf32>,
                           %dg: memref<12xf32>, %db: memref<12xf32>) {
  norm.layer_norm_grad ins(%x : memref<?x12xf32>) dy(%dy : memref<?x12xf32>) gamma(%g : memref<12xf32>)
      mean(%m : memref<?xf32>) rstd(%r : memref<?xf32>)
      outs dx(%dx : memref<?x12xf32>) dgamma(%dg : memref<12xf32>) dbeta(%db : memref<12xf32>)
  return
}

// -----

// RMSNorm, statistics recomputed, dx only, bf16, over two row dims: the
// forward kernel's statistics sweep writes rstd into a temporary first (no
// output is written), the rows are viewed as one dim, no partial rows.
// CHECK-LABEL: func.func @rms_norm_grad_recomputed
// CHECK: %[[XV:.*]] = memref.collapse_shape %{{.*}} {{\[}}[0, 1], [2]] : memref<2x3x8xbf16> into memref<6x8xbf16>
// CHECK: %[[RSTD:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: affine.parallel
// CHECK:   math.rsqrt
// CHECK:   memref.store %{{.*}}, %[[RSTD]]
// CHECK-NOT: vector.store
// CHECK: affine.parallel
// CHECK-NOT: memref.alloc
// CHECK:   scf.for
// CHECK:     memref.load %[[RSTD]]
// CHECK:     arith.extf %{{.*}} : vector<4xbf16> to vector<4xf32>
// CHECK:     arith.truncf %{{.*}} : vector<4xf32> to vector<4xbf16>
// CHECK:     vector.store
// CHECK: memref.dealloc %[[RSTD]]
func.func @rms_norm_grad_recomputed(%x: memref<2x3x8xbf16>, %dy: memref<2x3x8xbf16>, %dx: memref<2x3x8xbf16>) {
  norm.rms_norm_grad eps(1.0e-06) ins(%x : memref<2x3x8xbf16>) dy(%dy : memref<2x3x8xbf16>)
      outs dx(%dx : memref<2x3x8xbf16>)
  return
}

// -----

// Near miss for the vector kernel: a dy whose rows are not unit-stride takes
// the scalar loops of the linalg decomposition instead.
// CHECK-LABEL: func.func @strided_dy
// CHECK-NOT: vector.
// CHECK-NOT: norm.rms_norm_grad
// CHECK: affine.for
// CHECK: return
func.func @strided_dy(%x: memref<4x8xf32>, %dy: memref<4x8xf32, strided<[1, 4]>>, %r: memref<4xf32>, %dx: memref<4x8xf32>) {
  norm.rms_norm_grad ins(%x : memref<4x8xf32>) dy(%dy : memref<4x8xf32, strided<[1, 4]>>)
      rstd(%r : memref<4xf32>) outs dx(%dx : memref<4x8xf32>)
  return
}
