// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=4 unroll=1 prefetch=false parallel-threshold=0" | FileCheck %s

// Normalised dims [1, 3) contiguous in every buffer: collapsed into one row
// of 15 walked by a single loop; mean stored per row.
// CHECK-LABEL: func @collapsed
// CHECK-SAME:    %[[X:[^:]*]]: memref<2x3x5xf32>, %[[G:[^:]*]]: memref<3x5xf32>, %[[O:[^:]*]]: memref<2x3x5xf32>, %[[M:[^:]*]]: memref<2xf32>
// CHECK-DAG:   %[[XC:.*]] = memref.collapse_shape %[[X]] {{\[}}[0], [1, 2]] : memref<2x3x5xf32> into memref<2x15xf32>
// CHECK-DAG:   %[[OC:.*]] = memref.collapse_shape %[[O]] {{\[}}[0], [1, 2]] : memref<2x3x5xf32> into memref<2x15xf32>
// CHECK-DAG:   %[[GC:.*]] = memref.collapse_shape %[[G]] {{\[}}[0, 1]] : memref<3x5xf32> into memref<15xf32>
// CHECK:       affine.parallel (%[[R:.*]]) = (0) to (2)
// CHECK:         affine.for %{{.*}} = 0 to 12 step 4 iter_args
// CHECK:           vector.load %[[XC]][%[[R]], %{{.*}}] : memref<2x15xf32>, vector<4xf32>
// CHECK:         memref.store %{{.*}}, %[[M]][%[[R]]] : memref<2xf32>
// CHECK:         vector.store %{{.*}}, %[[OC]][%[[R]], %c12{{.*}}] : memref<2x15xf32>, vector<3xf32>
func.func @collapsed(%x: memref<2x3x5xf32>, %g: memref<3x5xf32>, %o: memref<2x3x5xf32>, %m: memref<2xf32>) {
  norm.layer_norm axis(1) eps(1.0e-5) ins(%x : memref<2x3x5xf32>) gamma(%g : memref<3x5xf32>) outs(%o : memref<2x3x5xf32>) mean(%m : memref<2xf32>)
  return
}

// -----

// A rank-1 input is one row: no row loop, rank-0 statistics.
// CHECK-LABEL: func @one_row
// CHECK-NOT:   affine.parallel
// CHECK:       affine.for
// CHECK:       memref.store %{{.*}}, %{{.*}}[] : memref<f32>
func.func @one_row(%x: memref<64xf32>, %o: memref<64xf32>, %r: memref<f32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<64xf32>) outs(%o : memref<64xf32>) rstd(%r : memref<f32>)
  return
}

// -----

// Rows padded to 8: dims 1 and 2 cannot be collapsed, so each sweep nests a
// loop over dim 1 around the vector loop over dim 2, carrying its
// accumulators through both.
// CHECK-LABEL: func @nested
// CHECK-NOT:   memref.collapse_shape
// CHECK:       affine.parallel (%[[R:.*]]) = (0) to (2)
// CHECK:         affine.for %[[I:.*]] = 0 to 3 iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<4xf32>)
// CHECK:           affine.for %[[J:.*]] = 0 to 4 step 4 iter_args(%{{.*}} = %[[ACC]]) -> (vector<4xf32>)
// CHECK:             vector.load %{{.*}}[%[[R]], %[[I]], %[[J]]] : memref<2x3x5xf32, strided<[24, 8, 1]>>, vector<4xf32>
// CHECK:           vector.maskedload
func.func @nested(%x: memref<2x3x5xf32, strided<[24, 8, 1]>>, %o: memref<2x3x5xf32>) {
  norm.rms_norm axis(1) eps(1.0e-6) ins(%x : memref<2x3x5xf32, strided<[24, 8, 1]>>) outs(%o : memref<2x3x5xf32>)
  return
}

// -----

// A trailing stride of 2 rules out vector loads: one element at a time.
// CHECK-LABEL: func @strided
// CHECK-NOT:   vector.load
// CHECK:       affine.for %[[I:.*]] = 0 to 6 iter_args(%{{.*}}) -> (vector<1xf32>)
// CHECK:         memref.load %{{.*}}[%{{.*}}, %[[I]]] : memref<4x6xf32, strided<[12, 2]>>
// CHECK:       affine.for %[[J:.*]] = 0 to 6 {
// CHECK:         memref.store %{{.*}}, %{{.*}}[%{{.*}}, %[[J]]] : memref<4x6xf32>
func.func @strided(%x: memref<4x6xf32, strided<[12, 2]>>, %o: memref<4x6xf32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<4x6xf32, strided<[12, 2]>>) outs(%o : memref<4x6xf32>)
  return
}

// -----

// Sizes defined inside an scf.for are no affine symbols there: the same
// kernel with scf loops.
// CHECK-LABEL: func @in_scf_for
// CHECK:       scf.for
// CHECK-NOT:     affine.for
// CHECK-NOT:     affine.parallel
// CHECK:         scf.parallel
// CHECK:           scf.for %{{.*}} iter_args(%{{.*}}) -> (vector<4xf32>)
// CHECK:           vector.reduction
func.func @in_scf_for(%x: memref<8x40xf32>, %o: memref<8x40xf32>) {
  %c0 = arith.constant 0 : index
  %c3 = arith.constant 3 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c8 step %c3 {
    %n = affine.min affine_map<(d0) -> (3, 8 - d0)>(%i)
    %xs = memref.subview %x[%i, 0] [%n, 40] [1, 1] : memref<8x40xf32> to memref<?x40xf32, strided<[40, 1], offset: ?>>
    %os = memref.subview %o[%i, 0] [%n, 40] [1, 1] : memref<8x40xf32> to memref<?x40xf32, strided<[40, 1], offset: ?>>
    norm.layer_norm eps(1.0e-5) ins(%xs : memref<?x40xf32, strided<[40, 1], offset: ?>>) outs(%os : memref<?x40xf32, strided<[40, 1], offset: ?>>)
  }
  return
}

// -----

// Near miss of the above: the same op on the function's own buffers inside
// an scf.for keeps affine loops (their sizes are valid symbols anywhere).
// CHECK-LABEL: func @in_scf_for_top_level_buffers
// CHECK:       scf.for
// CHECK:         affine.parallel
func.func @in_scf_for_top_level_buffers(%x: memref<?x40xf32>, %o: memref<?x40xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    norm.layer_norm eps(1.0e-5) ins(%x : memref<?x40xf32>) outs(%o : memref<?x40xf32>)
  }
  return
}
