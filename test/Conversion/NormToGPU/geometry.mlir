// RUN: norm-opt %s --convert-norm-to-gpu -cse -split-input-file | FileCheck %s

// How rows map onto threads, and when loads are vectors, chosen from N and
// the layouts.

// N = 512 f32: one warp a row (four vectors a thread), eight rows a block.
// A warp needs no workgroup memory and no barrier.
// CHECK-LABEL: func.func @warp_per_row
// CHECK: gpu.launch {{.*}} threads({{.*}}) in (%{{[^ ]*}} = %c256, {{.*}}) {
// CHECK: %[[LANE:.*]] = arith.remui %{{.*}}, %c32_i32 : i32
// CHECK-COUNT-4: vector.load {{.*}} : memref<?x512xf32>, vector<4xf32>
// CHECK: %[[LANE0:.*]] = arith.index_cast %c0 : index to i32
// CHECK: gpu.shuffle  idx %{{.*}}, %[[LANE0]], %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
func.func @warp_per_row(%x: memref<?x512xf32>, %o: memref<?x512xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x512xf32>) outs(%o : memref<?x512xf32>)
  return
}

// -----

// N = 64 f32: four lanes a row, 64 rows a block; the butterfly stays within
// the four lanes, and the pivot comes from the first lane of the group.
// CHECK-LABEL: func.func @part_of_a_warp_per_row
// CHECK: %[[GRID:.*]] = arith.ceildivui %{{.*}}, %c64
// CHECK: gpu.launch {{.*}} in (%{{[^ ]*}} = %[[GRID]], {{.*}} threads(%[[TID:[^,]*]], {{.*}}) in (%{{[^ ]*}} = %c256, {{.*}}) {
// CHECK: %[[TID32:.*]] = arith.index_castui %[[TID]] : index to i32
// CHECK: %[[T:.*]] = arith.remui %[[TID32]], %c4_i32 : i32
// CHECK: %[[LANE:.*]] = arith.remui %[[TID32]], %c32_i32 : i32
// CHECK: %[[LANEX:.*]] = arith.index_castui %[[LANE]] : i32 to index
// CHECK: %[[TX:.*]] = arith.index_castui %[[T]] : i32 to index
// CHECK: %[[FIRST:.*]] = arith.subi %[[LANEX]], %[[TX]] : index
// CHECK: %[[SRC:.*]] = arith.index_cast %[[FIRST]] : index to i32
// CHECK: gpu.shuffle  idx %{{.*}}, %[[SRC]], %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32
// CHECK-NOT: gpu.shuffle
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
func.func @part_of_a_warp_per_row(%x: memref<?x64xf32>, %o: memref<?x64xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x64xf32>) outs(%o : memref<?x64xf32>)
  return
}

// -----

// N = 768 bf16: 96 vectors for 64 threads, so the second vector of a thread
// may not exist: its load is guarded (zeros otherwise) and its store
// guarded. For RMSNorm the zeros' squares add nothing: no mask.
// CHECK-LABEL: func.func @partial_last_vector
// CHECK: vector.load {{.*}} : memref<?x768xbf16>, vector<8xbf16>
// CHECK: %[[HAS:.*]] = arith.cmpi ult, %{{.*}}, %c96 : index
// CHECK: %{{.*}}:8 = scf.if %[[HAS]] -> (f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK: vector.load {{.*}} : memref<?x768xbf16>, vector<8xbf16>
// CHECK: } else {
// CHECK: scf.yield %[[ZERO:.*]], %[[ZERO]], %[[ZERO]], %[[ZERO]], %[[ZERO]], %[[ZERO]], %[[ZERO]], %[[ZERO]] :
// CHECK-NOT: arith.select %[[HAS]]
// CHECK: gpu.barrier
// The second store nested in the first's guard (a valid row), where the
// addresses the first computed are there to reuse.
// CHECK: scf.if %[[VALID:.*]] {
// CHECK: vector.store {{.*}} : memref<?x768xbf16>, vector<8xbf16>
// CHECK: scf.if %[[HAS]] {
// CHECK: vector.store {{.*}} : memref<?x768xbf16>, vector<8xbf16>
// CHECK: }
// CHECK: }
func.func @partial_last_vector(%x: memref<?x768xbf16>, %o: memref<?x768xbf16>) {
  norm.rms_norm eps(1.0e-05) ins(%x : memref<?x768xbf16>) outs(%o : memref<?x768xbf16>)
  return
}

// -----

// The same for LayerNorm: the missing vector's zeros minus the pivot are
// not zero, so its contribution to each sum is masked.
// CHECK-LABEL: func.func @partial_last_vector_layer_norm
// CHECK: %[[HAS:.*]] = arith.cmpi ult, %{{.*}}, %c96 : index
// CHECK: scf.if %[[HAS]] -> (f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK: arith.select %[[HAS]], %{{.*}}, %{{.*}} : f32
// CHECK: gpu.barrier
// CHECK: arith.select %[[HAS]], %{{.*}}, %{{.*}} : f32
// CHECK: gpu.barrier
// CHECK: scf.if %{{.*}} {
// CHECK: vector.store {{.*}} : memref<?x768xbf16>, vector<8xbf16>
// CHECK: scf.if %[[HAS]] {
// CHECK: vector.store {{.*}} : memref<?x768xbf16>, vector<8xbf16>
func.func @partial_last_vector_layer_norm(%x: memref<?x768xbf16>, %o: memref<?x768xbf16>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x768xbf16>) outs(%o : memref<?x768xbf16>)
  return
}

// -----

// N = 770 f32 is not a multiple of 4 but is of 2: 64-bit vectors.
// CHECK-LABEL: func.func @half_width_vectors
// CHECK: vector.load {{.*}} {alignment = 8 : i64} : memref<?x770xf32>, vector<2xf32>
// CHECK-NOT: vector<4xf32>
// CHECK: vector.store {{.*}} {alignment = 8 : i64} : memref<?x770xf32>, vector<2xf32>
func.func @half_width_vectors(%x: memref<?x770xf32>, %o: memref<?x770xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x770xf32>) outs(%o : memref<?x770xf32>)
  return
}

// -----

// N = 771 f32: scalar loads and stores.
// CHECK-LABEL: func.func @scalar_path
// CHECK-NOT: vector.load
// CHECK: memref.load %{{.*}} : memref<?x771xf32>
// CHECK-NOT: vector.store
// CHECK: memref.store %{{.*}} : memref<?x771xf32>
func.func @scalar_path(%x: memref<?x771xf32>, %o: memref<?x771xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x771xf32>) outs(%o : memref<?x771xf32>)
  return
}

// -----

// N = 768 but a dynamic offset: the alignment of a row is known only at
// run time, so two kernels, chosen per call: 128-bit accesses when the
// first element is 16-byte aligned, else scalar accesses for every operand
// (the vector width is shared).
// CHECK-LABEL: func.func @unknown_offset
// CHECK: %{{.*}}, %[[OFFSET:.*]], %{{.*}}:2, %{{.*}}:2 = memref.extract_strided_metadata
// CHECK: arith.muli %[[OFFSET]], %c4
// CHECK: scf.if
// CHECK: vector.load %{{.*}} : memref<?x768xf32, strided<[768, 1], offset: ?>>, vector<4xf32>
// CHECK: vector.store %{{.*}} : memref<?x768xf32>, vector<4xf32>
// CHECK: } else {
// CHECK: gpu.launch
// CHECK-NOT: vector.load
// CHECK: memref.load %{{.*}} : memref<?x768xf32, strided<[768, 1], offset: ?>>
// CHECK-NOT: vector.store
// CHECK: memref.store %{{.*}} : memref<?x768xf32>
func.func @unknown_offset(%x: memref<?x768xf32, strided<[768, 1], offset: ?>>, %o: memref<?x768xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x768xf32, strided<[768, 1], offset: ?>>) outs(%o : memref<?x768xf32>)
  return
}

// -----

// Rows 770 floats apart: a row starts on an 8-byte boundary only.
// CHECK-LABEL: func.func @row_stride_8_bytes
// CHECK: vector.load {{.*}} {alignment = 8 : i64} : memref<?x768xf32, strided<[770, 1]>>, vector<2xf32>
func.func @row_stride_8_bytes(%x: memref<?x768xf32, strided<[770, 1]>>, %o: memref<?x768xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x768xf32, strided<[770, 1]>>) outs(%o : memref<?x768xf32>)
  return
}

// -----

// f64: 128-bit vectors of 2, statistics and workgroup memory in f64.
// CHECK-LABEL: func.func @f64
// CHECK: workgroup(%{{.*}} : memref<{{[0-9]+}}xf64, #gpu.address_space<workgroup>>)
// CHECK: vector.load {{.*}} {alignment = 16 : i64} : memref<?x1000xf64>, vector<2xf64>
// CHECK: gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32 : f64
func.func @f64(%x: memref<?x1000xf64>, %o: memref<?x1000xf64>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x1000xf64>) outs(%o : memref<?x1000xf64>)
  return
}

// -----

// A dynamic row length: each row is streamed by 256 threads, three times
// (the shifted sum, the centred sum of squares, the output), with the row's
// first element (0 if not finite) as the common pivot; N and 1/sqrt(N) come
// from the host. Such kernels (dynamic-vectors.mlir) access 4 elements at
// a time when N and the layouts allow it, checked per call, and hold rows of
// up to 8192 elements in registers; the last, element by element, is the
// one shown here.
// CHECK-LABEL: func.func @dynamic_row_length
// CHECK-SAME: (%[[X:.*]]: memref<?x?xf32>, %[[O:.*]]: memref<?x?xf32>)
// CHECK: %[[N:.*]] = memref.dim %[[X]], %c1
// CHECK: %[[NF:.*]] = arith.uitofp %{{.*}} : i64 to f32
// CHECK: %[[ROOT:.*]] = math.sqrt %[[NF]] : f32
// CHECK: %[[C:.*]] = arith.divf %{{.*}}, %[[ROOT]] : f32
// Four row-length buckets and the streamed wide kernel, then the scalar
// one.
// CHECK-COUNT-5: gpu.launch
// CHECK: gpu.launch blocks(%[[BID:[^,]*]], {{.*}} threads(%[[TID:[^,]*]], {{.*}}) in (%{{[^ ]*}} = %c256,
// The row, through 1-D views of it; 1/N = c * c, without a division.
// CHECK: %[[XROW:.*]] = memref.subview %[[X]][%[[BID]], 0] [1, %{{.*}}] [1, 1] : memref<?x?xf32> to memref<?xf32, strided<[1], offset: ?>>
// CHECK: %[[OROW:.*]] = memref.subview %[[O]][%[[BID]], 0] [1, %{{.*}}] [1, 1] : memref<?x?xf32> to memref<?xf32, strided<[1], offset: ?>>
// CHECK: %[[INV:.*]] = arith.mulf %[[C]], %[[C]] : f32
// CHECK: %[[FIRST:.*]] = memref.load %[[XROW]][%c0{{.*}}] : memref<?xf32, strided<[1], offset: ?>>
// CHECK: %[[PIVOT:.*]] = arith.select %{{.*}}, %[[FIRST]], %{{.*}} : f32
// CHECK: scf.for %{{.*}} = %[[TID]] to %[[N]] step %c256 iter_args
// CHECK: memref.load %[[XROW]]
// CHECK: arith.subf %{{.*}}, %[[PIVOT]] : f32
// CHECK: gpu.barrier
// CHECK: %[[OFFSET:.*]] = arith.mulf %{{.*}}, %[[INV]] : f32
// CHECK: scf.for %{{.*}} = %[[TID]] to %[[N]] step %c256 iter_args
// CHECK: memref.load %[[XROW]]
// CHECK: %[[D:.*]] = arith.subf %{{.*}}, %[[PIVOT]] : f32
// CHECK: arith.subf %[[D]], %[[OFFSET]] : f32
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %[[TID]] to %[[N]] step %c256 {
// CHECK: memref.load %[[XROW]]
// CHECK: memref.store %{{.*}}, %[[OROW]]
func.func @dynamic_row_length(%x: memref<?x?xf32>, %o: memref<?x?xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x?xf32>) outs(%o : memref<?x?xf32>)
  return
}

// -----

// N = 32768 f32 is too long for registers (32 values a thread even with
// 1024 threads, where ptxas has room for 16): streamed by 512 threads, with
// vector loads, in three passes (sum, sum of squares, output).
// CHECK-LABEL: func.func @too_long_for_registers
// CHECK: threads({{.*}}) in (%{{[^ ]*}} = %c512,
// CHECK: scf.for
// CHECK: vector.load {{.*}} : memref<?x32768xf32>, vector<4xf32>
// CHECK: scf.for
// CHECK: vector.load {{.*}} : memref<?x32768xf32>, vector<4xf32>
// CHECK: scf.for
// CHECK: vector.load {{.*}} : memref<?x32768xf32>, vector<4xf32>
// CHECK: vector.store
func.func @too_long_for_registers(%x: memref<?x32768xf32>, %o: memref<?x32768xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x32768xf32>) outs(%o : memref<?x32768xf32>)
  return
}

// -----

// N = 16384 f32 still fits: 1024 threads, four vectors (16 values) each.
// CHECK-LABEL: func.func @longest_held_in_registers
// CHECK: threads({{.*}}) in (%{{[^ ]*}} = %c1024,
// CHECK-NOT: scf.for
// CHECK-COUNT-4: vector.load {{.*}} : memref<?x16384xf32>, vector<4xf32>
// CHECK-NOT: vector.load {{.*}} : memref<?x16384xf32>
// CHECK: gpu.barrier
func.func @longest_held_in_registers(%x: memref<?x16384xf32>, %o: memref<?x16384xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x16384xf32>) outs(%o : memref<?x16384xf32>)
  return
}
