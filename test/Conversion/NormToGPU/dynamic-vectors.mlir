// RUN: norm-opt %s -split-input-file --convert-norm-to-gpu -canonicalize | FileCheck %s

// A row length known only at run time (?x?, as front ends emit it): the
// kernels are chosen per call. When every operand accessed a vector at a
// time has a row length and row strides that are multiples of V (4 f32) and
// its first element 16-byte aligned, kernels with 128-bit accesses (N / V
// vectors a row); otherwise the scalar one.
// CHECK-LABEL: func.func @dynamic_n
// CHECK-SAME: (%[[X:.*]]: memref<?x?xf32>, %[[G:.*]]: memref<?xf32>, %[[O:.*]]: memref<?x?xf32>)
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK: %{{.*}}, %{{.*}}, %[[XSIZES:.*]]:2, %[[XSTRIDES:.*]]:2 = memref.extract_strided_metadata %[[X]]
// CHECK: arith.remui %[[XSIZES]]#1, %[[C4]]
// CHECK: arith.remui %[[XSTRIDES]]#0, %[[C4]]
// CHECK: %[[XPTR:.*]] = memref.extract_aligned_pointer_as_index %[[X]]
// CHECK: arith.remui %[[XPTR]], %[[C16]]
// CHECK: memref.extract_aligned_pointer_as_index %[[G]]
// CHECK: %[[OPTR:.*]] = memref.extract_aligned_pointer_as_index %[[O]]
// CHECK: arith.remui %[[OPTR]], %[[C16]]
// CHECK: %[[WIDE:.*]] = arith.andi
// CHECK: scf.if %[[WIDE]] {
// The wide side holds rows in registers up to 8192 elements, with the
// kernel of the smallest row-length bucket that fits, every vector of a
// thread guarded; longer rows are streamed.
// CHECK: %[[LEN:.*]] = memref.dim %[[X]], %c1
// CHECK: %[[FITS1K:.*]] = arith.cmpi ule, %[[LEN]], %c1024 : index
// CHECK: scf.if %[[FITS1K]] {
// A row of run-time length is addressed through 1-D views of it.
// CHECK: gpu.launch {{.*}} threads({{.*}}) in (%{{[^ ]*}} = %c256,
// CHECK: %[[XROW:.*]] = memref.subview %[[X]][%{{.*}}, 0] [1, %{{.*}}] [1, 1] : memref<?x?xf32> to memref<?xf32, strided<[1], offset: ?>>
// CHECK: %[[OROW:.*]] = memref.subview %[[O]][%{{.*}}, 0] [1, %{{.*}}] [1, 1] : memref<?x?xf32> to memref<?xf32, strided<[1], offset: ?>>
// CHECK: %[[N1:.*]] = memref.dim %[[X]], %c1
// CHECK: %[[NV1:.*]] = arith.divui %[[N1]], %[[C4]]
// CHECK: %[[HAS:.*]] = arith.cmpi ult, %{{.*}}, %[[NV1]] : index
// CHECK: scf.if %[[HAS]] -> (f32, f32, f32, f32) {
// CHECK: vector.load %[[XROW]][{{.*}}] {alignment = 16 : i64} : memref<?xf32, strided<[1], offset: ?>>, vector<4xf32>
// CHECK-COUNT-3: scf.if %{{.*}} -> (f32, f32, f32, f32) {
// CHECK-NOT: scf.for
// CHECK: vector.store {{.*}}, %[[OROW]][{{.*}}] {alignment = 16 : i64} : memref<?xf32, strided<[1], offset: ?>>, vector<4xf32>
// CHECK: } else {
// CHECK: arith.cmpi ule, %[[LEN]], %c2048 : index
// CHECK: gpu.launch
// CHECK: arith.cmpi ule, %[[LEN]], %c4096 : index
// CHECK: gpu.launch
// CHECK: arith.cmpi ule, %[[LEN]], %c8192 : index
// CHECK: gpu.launch {{.*}} threads({{.*}}) in (%{{[^ ]*}} = %c512,
// CHECK-NOT: scf.for
// CHECK: } else {
// CHECK: gpu.launch
// CHECK: %[[XROW2:.*]] = memref.subview %[[X]]
// CHECK: %[[OROW2:.*]] = memref.subview %[[O]]
// CHECK: %[[N:.*]] = memref.dim %[[X]], %c1
// CHECK: arith.divui %[[N]], %[[C4]]
// CHECK: scf.for
// CHECK: vector.load %[[XROW2]][{{.*}}] {alignment = 16 : i64} : memref<?xf32, strided<[1], offset: ?>>, vector<4xf32>
// CHECK: vector.store {{.*}}, %[[OROW2]][{{.*}}] {alignment = 16 : i64} : memref<?xf32, strided<[1], offset: ?>>, vector<4xf32>
// CHECK: } else {
// CHECK: gpu.launch
// CHECK: %[[XROW3:.*]] = memref.subview %[[X]]
// CHECK: %[[OROW3:.*]] = memref.subview %[[O]]
// CHECK-NOT: vector.load
// CHECK: memref.load %[[XROW3]]
// CHECK-NOT: vector.store
// CHECK: memref.store {{.*}}, %[[OROW3]]
func.func @dynamic_n(%x: memref<?x?xf32>, %g: memref<?xf32>, %o: memref<?x?xf32>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x?xf32>) gamma(%g : memref<?xf32>) outs(%o : memref<?x?xf32>)
  return
}

// -----

// Near miss: the row length is static and a multiple of V, the layout
// contiguous: one kernel, 128-bit accesses, no check (and static rows: no
// branch at all).
// CHECK-LABEL: func.func @static_n
// CHECK-NOT: extract_aligned_pointer_as_index
// CHECK-NOT: scf.if
// CHECK: gpu.launch
// CHECK: vector.load {{.*}} : memref<64x4096xf32>, vector<4xf32>
// CHECK-NOT: gpu.launch
func.func @static_n(%x: memref<64x4096xf32>, %o: memref<64x4096xf32>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<64x4096xf32>) outs(%o : memref<64x4096xf32>)
  return
}

// -----

// Near miss: a static row length that V does not divide (4099) decides at
// compile time: one scalar kernel, no check, even with dynamic rows.
// CHECK-LABEL: func.func @static_odd_n
// CHECK-NOT: extract_aligned_pointer_as_index
// CHECK: gpu.launch
// CHECK-NOT: vector.load
// CHECK-NOT: gpu.launch
func.func @static_odd_n(%x: memref<?x4099xf32>, %o: memref<?x4099xf32>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x4099xf32>) outs(%o : memref<?x4099xf32>)
  return
}

// -----

// bf16: V = 8 (16 bytes); a dynamic offset (a view into a larger buffer)
// is checked too.
// CHECK-LABEL: func.func @bf16_offset
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK: %{{.*}}, %[[OFF:.*]], %{{.*}}:2, %{{.*}}:2 = memref.extract_strided_metadata
// CHECK: arith.muli %[[OFF]], %[[C2]]
// CHECK: scf.if
// CHECK: vector.load {{.*}} vector<8xbf16>
// CHECK: } else {
func.func @bf16_offset(%x: memref<?x?xbf16, strided<[?, 1], offset: ?>>, %o: memref<?x?xbf16>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x?xbf16, strided<[?, 1], offset: ?>>) outs(%o : memref<?x?xbf16>)
  return
}
