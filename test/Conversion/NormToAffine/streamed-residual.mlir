// A fused residual add writes residual_out with non-temporal stores too,
// when the output is streamed (its size reaches nontemporal-threshold), the
// rows are whole vectors, residual_out overlaps neither the input nor the
// residual (checked once, at run time, for in-place updates) and the row
// starts on a cache line; the later sweeps of such a row recompute x + r
// from the input and residual, still in cache, instead of reading
// residual_out back. Other rows take the plain version.
// REQUIRES: x86-host
// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=16 unroll=1 nontemporal-threshold=0" | FileCheck %s
// With a residual, the next row is not prefetched (bench/fusion.py: the
// hardware prefetcher alone is faster; the rows re-read and the next ones
// do not fit in L1 together); test/Conversion/NormToAffine/nontemporal.mlir
// shows the prefetch without one.
// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=16 unroll=1 nontemporal-threshold=0 prefetch=true" | FileCheck %s --check-prefix=NOPF
// NOPF-NOT: memref.prefetch

// CHECK-LABEL: func @streamed
// CHECK-SAME:    (%[[X:[^:]*]]: memref<64x1024xf32>, %[[R:[^:]*]]: memref<64x1024xf32>, %[[O:[^:]*]]: memref<64x1024xbf16>, %[[H:[^:]*]]: memref<64x1024xf32>)
// CHECK:         memref.extract_aligned_pointer_as_index %[[H]]
// CHECK:         memref.extract_aligned_pointer_as_index %[[X]]
// CHECK:         memref.extract_aligned_pointer_as_index %[[R]]
// CHECK:         %[[APART:.*]] = arith.xori %{{.*}}, %true
// CHECK:         affine.parallel (%[[ROW:.*]]) = (0) to (64)
// CHECK:           %[[MIS:.*]] = arith.remui %{{.*}}, %c64
// CHECK:           %[[ALIGNED:.*]] = arith.cmpi eq, %[[MIS]], %c0
// CHECK:           %[[STREAM:.*]] = arith.andi %[[APART]], %[[ALIGNED]]
// CHECK:           scf.if %[[STREAM]] {
// CHECK:             vector.store %{{.*}}, %[[H]][%[[ROW]], %{{.*}}] {alignment = 64 : i64, nontemporal = true} : memref<64x1024xf32>, vector<32xf32>
// CHECK-NOT:         vector.load %[[H]]
// CHECK:             vector.load %[[X]]
// CHECK:             vector.load %[[R]]
// CHECK-NOT:         vector.load %[[H]]
// CHECK:             vector.store %{{.*}}, %[[O]][%[[ROW]], %{{.*}}] {alignment = 64 : i64, nontemporal = true}
// CHECK:           } else {
// CHECK:             vector.store %{{.*}}, %[[H]][%[[ROW]], %{{.*}}] : memref<64x1024xf32>, vector<32xf32>
// CHECK:             vector.load %[[H]]
// CHECK:           }
// CHECK:         llvm.call_intrinsic "llvm.x86.sse.sfence"()
func.func @streamed(%x: memref<64x1024xf32>, %r: memref<64x1024xf32>, %o: memref<64x1024xbf16>, %h: memref<64x1024xf32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<64x1024xf32>) residual(%r : memref<64x1024xf32>) outs(%o : memref<64x1024xbf16>) residual_out(%h : memref<64x1024xf32>)
  return
}

// -----

// Near miss: 1000 is not a whole number of 32-lane vectors: residual_out
// takes plain stores and is read back.
// CHECK-LABEL: func @partial_vectors
// CHECK-SAME:    %[[H:[^:]*]]: memref<64x1000xf32>)
// CHECK-NOT:     arith.remui
// CHECK-NOT:     vector.store %{{.*}}, %[[H]]{{.*}}nontemporal
// CHECK:         vector.load %[[H]]
// CHECK-NOT:     vector.store %{{.*}}, %[[H]]{{.*}}nontemporal
func.func @partial_vectors(%x: memref<64x1000xf32>, %r: memref<64x1000xf32>, %o: memref<64x1000xbf16>, %h: memref<64x1000xf32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<64x1000xf32>) residual(%r : memref<64x1000xf32>) outs(%o : memref<64x1000xbf16>) residual_out(%h : memref<64x1000xf32>)
  return
}

// -----

// Near miss: rows longer than 64 KiB would not stay in cache for the
// recomputation.
// CHECK-LABEL: func @long_rows
// CHECK-SAME:    %[[H:[^:]*]]: memref<2x32768xf32>)
// CHECK-NOT:     arith.remui
// CHECK-NOT:     vector.store %{{.*}}, %[[H]]{{.*}}nontemporal
// CHECK:         vector.load %[[H]]
// CHECK-NOT:     vector.store %{{.*}}, %[[H]]{{.*}}nontemporal
func.func @long_rows(%x: memref<2x32768xf32>, %r: memref<2x32768xf32>, %o: memref<2x32768xf32>, %h: memref<2x32768xf32>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<2x32768xf32>) residual(%r : memref<2x32768xf32>) outs(%o : memref<2x32768xf32>) residual_out(%h : memref<2x32768xf32>)
  return
}
