// RUN: norm-opt %s --convert-norm-to-gpu -cse -split-input-file | FileCheck %s
// RUN: norm-opt %s --convert-norm-to-gpu -split-input-file | FileCheck %s --check-prefix=LOADS

// N = 768 f32: 192 vectors of 4, 64 threads a row (two warps, three vectors
// each), four rows a block of 256 threads.

// CHECK-LABEL: func.func @layer_norm_f32
// CHECK-SAME: (%[[X:.*]]: memref<?x768xf32>, %[[G:.*]]: memref<768xf32>, %[[B:.*]]: memref<768xf32>, %[[O:.*]]: memref<?x768xf32>)
// CHECK: %[[M:.*]] = memref.dim %[[X]], %c0
// CHECK: %[[GRID:.*]] = arith.ceildivui %[[M]], %c4
// CHECK: %[[ANY:.*]] = arith.cmpi ugt, %[[M]], %c0
// CHECK: scf.if %[[ANY]] {
// CHECK: gpu.launch blocks(%[[BID:[^,]*]], {{.*}}) in (%{{[^ ]*}} = %[[GRID]], {{.*}}) threads(%[[TID:[^,]*]], {{.*}}) in (%{{[^ ]*}} = %c256, {{.*}}) workgroup(%[[SMEM:[^ ]*]] : memref<48xf32, #gpu.address_space<workgroup>>)
// Row group and thread within the row; the last block's spare groups read
// the last row and store nothing.
// CHECK: %[[GROUP:.*]] = arith.divui %[[TID]], %c64
// CHECK: %[[T:.*]] = arith.remui %[[TID]], %c64
// CHECK: %[[ROW:.*]] = arith.addi %{{.*}}, %[[GROUP]]
// CHECK: %[[VALID:.*]] = arith.cmpi ult, %[[ROW]], %[[M]]
// CHECK: %[[LAST:.*]] = arith.subi %[[M]], %c1
// CHECK: %[[LOADROW:.*]] = arith.minui %[[ROW]], %[[LAST]]
// Three 128-bit loads of the row, all issued before any arithmetic.
// CHECK: vector.load %[[X]][%[[LOADROW]], %{{.*}}] {alignment = 16 : i64} : memref<?x768xf32>, vector<4xf32>
// CHECK: vector.load %[[X]][%[[LOADROW]], %{{.*}}] {alignment = 16 : i64} : memref<?x768xf32>, vector<4xf32>
// CHECK: vector.load %[[X]][%[[LOADROW]], %{{.*}}] {alignment = 16 : i64} : memref<?x768xf32>, vector<4xf32>
// Pass 1, the mean: the warp's pivot comes from lane 0 (0 if it is not
// finite), the shifted sum goes through a butterfly of adds.
// CHECK: %[[FIRST:.*]], %{{.*}} = gpu.shuffle  idx %{{.*}}, %{{.*}}, %c32_i32 : f32
// CHECK: %[[BELOW:.*]] = arith.cmpf olt, %[[FIRST]], %{{.*}} : f32
// CHECK: %[[ABOVE:.*]] = arith.cmpf ogt, %[[FIRST]], %{{.*}} : f32
// CHECK: %[[FINITE:.*]] = arith.andi %[[BELOW]], %[[ABOVE]] : i1
// CHECK: %[[P:.*]] = arith.select %[[FINITE]], %[[FIRST]], %{{.*}} : f32
// CHECK: arith.subf %{{.*}}, %[[P]] : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c8_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c4_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : f32
// Lane 0 of each warp publishes (S, P, n); after a barrier every thread
// adds the two warps' sums, rebased on warp 0's pivot.
// CHECK: scf.if
// CHECK-COUNT-3: memref.store %{{.*}}, %[[SMEM]][%{{.*}}]
// CHECK: gpu.barrier
// CHECK: memref.load %[[SMEM]]
// CHECK: %[[P0:.*]] = memref.load %[[SMEM]]
// CHECK: %[[OFFSET:.*]] = arith.divf %{{.*}}, %cst{{.*}} : f32
// Pass 2, over the same registers: the squares of ((h - P0) - offset) * c,
// a second butterfly, a second barrier.
// CHECK: %[[D:.*]] = arith.subf %{{.*}}, %[[P0]] : f32
// CHECK: arith.subf %[[D]], %[[OFFSET]] : f32
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK-NOT: gpu.shuffle
// CHECK: memref.store %{{.*}}, %[[SMEM]]
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: math.sqrt
// CHECK: arith.cmpf oeq, %{{.*}}, %cst{{.*}} : f32
// Normalise from registers; gamma and beta are read with vector loads.
// CHECK: scf.if %[[VALID]] {
// CHECK: vector.load %[[G]]
// CHECK: vector.load %[[B]]
// CHECK: vector.store %{{.*}}, %[[O]][%[[ROW]], %{{.*}}] {alignment = 16 : i64} : memref<?x768xf32>, vector<4xf32>
// CHECK-COUNT-2: vector.store %{{.*}}, %[[O]]
// CHECK: gpu.terminator

// Each input element is read once: three vector loads, nothing else.
// LOADS-LABEL: func.func @layer_norm_f32
// LOADS-COUNT-3: vector.load %arg0
// LOADS-NOT: %arg0[
// LOADS: gpu.terminator
func.func @layer_norm_f32(%x: memref<?x768xf32>, %g: memref<768xf32>, %b: memref<768xf32>, %o: memref<?x768xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x768xf32>) gamma(%g : memref<768xf32>) beta(%b : memref<768xf32>) outs(%o : memref<?x768xf32>)
  return
}

// -----

// Static rows, a multiple of the rows per block: a constant grid, no guard
// around the launch, no spare groups.

// CHECK-LABEL: func.func @layer_norm_static_rows
// CHECK-NOT: scf.if
// CHECK: %[[GRID:.*]] = arith.constant 2 : index
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[GRID]],
// CHECK-NOT: arith.minui
// CHECK: gpu.terminator

// LOADS-LABEL: func.func @layer_norm_static_rows
func.func @layer_norm_static_rows(%x: memref<8x768xf32>, %o: memref<8x768xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<8x768xf32>) outs(%o : memref<8x768xf32>)
  return
}

// -----

// bf16, one row a block: 512 vectors of 8 bf16, 256 threads, two vectors a
// thread, eight warps; statistics in f32.

// CHECK-LABEL: func.func @layer_norm_bf16
// CHECK: gpu.launch blocks(%[[BID:[^,]*]], {{.*}}) threads({{.*}}) in (%{{[^ ]*}} = %c256, {{.*}}) workgroup(%{{.*}} : memref<48xf32, #gpu.address_space<workgroup>>)
// CHECK: vector.load %{{.*}}[%[[BID]], %{{.*}}] {alignment = 16 : i64} : memref<?x4096xbf16>, vector<8xbf16>
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: vector.load %{{.*}}[%[[BID]], %{{.*}}] {alignment = 16 : i64} : memref<?x4096xbf16>, vector<8xbf16>
// CHECK: gpu.barrier
// CHECK: gpu.barrier
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: vector.from_elements {{.*}} : vector<8xbf16>
// CHECK: vector.store %{{.*}}, %{{.*}}[%[[BID]], %{{.*}}] {alignment = 16 : i64} : memref<?x4096xbf16>, vector<8xbf16>

// LOADS-LABEL: func.func @layer_norm_bf16
// LOADS-COUNT-2: vector.load %arg0
// LOADS-NOT: %arg0[
// LOADS: gpu.terminator
func.func @layer_norm_bf16(%x: memref<?x4096xbf16>, %g: memref<4096xbf16>, %b: memref<4096xbf16>, %o: memref<?x4096xbf16>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x4096xbf16>) gamma(%g : memref<4096xbf16>) beta(%b : memref<4096xbf16>) outs(%o : memref<?x4096xbf16>)
  return
}
