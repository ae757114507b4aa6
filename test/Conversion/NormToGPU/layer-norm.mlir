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
// Row group and thread within the row (in 32 bits); the last block's spare
// groups read the last row and store nothing.
// CHECK: %[[TID32:.*]] = arith.index_castui %[[TID]] : index to i32
// CHECK: %[[GROUP32:.*]] = arith.divui %[[TID32]], %c64_i32
// CHECK: %[[GROUP:.*]] = arith.index_castui %[[GROUP32]] : i32 to index
// CHECK: %[[T:.*]] = arith.remui %[[TID32]], %c64_i32
// CHECK: %[[ROW:.*]] = arith.addi %{{.*}}, %[[GROUP]]
// CHECK: %[[VALID:.*]] = arith.cmpi ult, %[[ROW]], %[[M]]
// CHECK: %[[LAST:.*]] = arith.subi %[[M]], %c1
// CHECK: %[[LOADROW:.*]] = arith.minui %[[ROW]], %[[LAST]]
// The row spans two warps: every thread reads the row's first element as
// the common pivot P (0 if it is not finite).
// CHECK: %[[FIRST:.*]] = memref.load %[[X]][%[[LOADROW]], %c0] : memref<?x768xf32>
// CHECK: %[[BELOW:.*]] = arith.cmpf olt, %[[FIRST]], %{{.*}} : f32
// CHECK: %[[ABOVE:.*]] = arith.cmpf ogt, %[[FIRST]], %{{.*}} : f32
// CHECK: %[[FINITE:.*]] = arith.andi %[[BELOW]], %[[ABOVE]] : i1
// CHECK: %[[P:.*]] = arith.select %[[FINITE]], %[[FIRST]], %{{.*}} : f32
// Three 128-bit loads of the row, all issued before any arithmetic.
// CHECK: vector.load %[[X]][%[[LOADROW]], %{{.*}}] {alignment = 16 : i64} : memref<?x768xf32>, vector<4xf32>
// CHECK: vector.load %[[X]][%[[LOADROW]], %{{.*}}] {alignment = 16 : i64} : memref<?x768xf32>, vector<4xf32>
// CHECK: vector.load %[[X]][%[[LOADROW]], %{{.*}}] {alignment = 16 : i64} : memref<?x768xf32>, vector<4xf32>
// Pass 1, the mean: the held values become h - P, summed in order within
// a vector, then through a butterfly of adds.
// CHECK: %[[D0:.*]] = arith.subf %{{.*}}, %[[P]] : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c8_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c4_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : f32
// Lane 0 of each warp publishes its sum; after a barrier lane l reads warp
// l mod 2's, and one more butterfly step adds the two.
// CHECK: scf.if
// CHECK-COUNT-1: memref.store %{{.*}}, %[[SMEM]][%{{.*}}]
// CHECK-NEXT: }
// CHECK-NEXT: gpu.barrier
// CHECK: arith.remui %{{.*}}, %c2 : index
// CHECK: %[[PART:.*]] = memref.load %[[SMEM]]
// CHECK: %[[OTHER:.*]], %{{.*}} = gpu.shuffle  xor %[[PART]], %c1_i32, %c32_i32 : f32
// CHECK: %[[S:.*]] = arith.addf %[[PART]], %[[OTHER]] fastmath<contract> : f32
// The offset d = S * (1/N), a multiplication; the held values become
// x c = fma(h - P, c, -(d c)).
// CHECK: %[[OFFSET:.*]] = arith.mulf %[[S]], %cst{{.*}} : f32
// CHECK: %[[DC:.*]] = arith.mulf %[[OFFSET]], %[[C:.*]] : f32
// CHECK: %[[NDC:.*]] = arith.negf %[[DC]] : f32
// CHECK: %[[XC0:.*]] = math.fma %[[D0]], %[[C]], %[[NDC]] : f32
// Pass 2, over the same registers: the squares of x c (contractible into
// fused multiply-adds), a second butterfly, a second barrier.
// CHECK: arith.mulf %[[XC0]], %[[XC0]] fastmath<contract> : f32
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: memref.store %{{.*}}, %[[SMEM]]
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : f32
// CHECK-NOT: gpu.shuffle
// rstd = rsqrt (approximate), NaN when the sum of squares overflowed; the
// outputs are x c times rstd / c = rstd sqrt(N).
// CHECK: %[[R:.*]] = math.rsqrt %{{.*}} fastmath<afn> : f32
// CHECK: %[[OVER:.*]] = arith.cmpf oeq, %{{.*}}, %cst{{.*}} : f32
// CHECK: %[[RSTD:.*]] = arith.select %[[OVER]], %{{.*}}, %[[R]] : f32
// CHECK: %[[SCALE:.*]] = arith.mulf %[[RSTD]], %cst{{.*}} : f32
// Normalise from registers; gamma and beta are read with vector loads, all
// before the first store.
// CHECK: vector.load %[[G]]
// CHECK: vector.load %[[B]]
// CHECK: %[[Y0:.*]] = arith.mulf %[[XC0]], %[[SCALE]] : f32
// CHECK: %[[YG0:.*]] = arith.mulf %[[Y0]], %{{.*}} fastmath<contract> : f32
// CHECK: arith.addf %[[YG0]], %{{.*}} fastmath<contract> : f32
// CHECK-NOT: vector.store
// CHECK: vector.load %[[G]]
// CHECK: vector.load %[[B]]
// CHECK-NOT: vector.store
// CHECK: vector.load %[[G]]
// CHECK: vector.load %[[B]]
// The stores, on a valid row (where the clamped row is the row):
// CHECK: scf.if %[[VALID]] {
// CHECK: vector.store %{{.*}}, %[[O]][%[[LOADROW]], %{{.*}}] {alignment = 16 : i64} : memref<?x768xf32>, vector<4xf32>
// CHECK-COUNT-2: vector.store %{{.*}}, %[[O]]
// CHECK: gpu.terminator

// Each input element is read from memory once: the pivot (the row's first
// element, in the cache line of warp 0's first load) and three vector loads,
// nothing else.
// LOADS-LABEL: func.func @layer_norm_f32
// LOADS: memref.load %arg0
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
// bf16 to f32 is an integer shift or mask of each 32-bit word of two.
// CHECK: %[[V:.*]] = vector.load %{{.*}}[%[[BID]], %{{.*}}] {alignment = 16 : i64} : memref<?x4096xbf16>, vector<8xbf16>
// CHECK: %[[WORDS:.*]] = vector.bitcast %[[V]] : vector<8xbf16> to vector<4xi32>
// CHECK: %[[WORD:.*]] = vector.extract %[[WORDS]][0] : i32 from vector<4xi32>
// CHECK: %[[LOW:.*]] = arith.shli %[[WORD]], %c16_i32 : i32
// CHECK: %[[HIGH:.*]] = arith.andi %[[WORD]], %c-65536_i32 : i32
// CHECK: arith.bitcast %[[LOW]] : i32 to f32
// CHECK: arith.bitcast %[[HIGH]] : i32 to f32
// CHECK-NOT: arith.extf
// CHECK: vector.load %{{.*}}[%[[BID]], %{{.*}}] {alignment = 16 : i64} : memref<?x4096xbf16>, vector<8xbf16>
// CHECK: gpu.barrier
// CHECK: gpu.barrier
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: vector.from_elements {{.*}} : vector<8xbf16>
// CHECK: vector.store %{{.*}}, %{{.*}}[%[[BID]], %{{.*}}] {alignment = 16 : i64} : memref<?x4096xbf16>, vector<8xbf16>

// LOADS-LABEL: func.func @layer_norm_bf16
// LOADS: memref.load %arg0
// LOADS-COUNT-2: vector.load %arg0
// LOADS-NOT: %arg0[
// LOADS: gpu.terminator
func.func @layer_norm_bf16(%x: memref<?x4096xbf16>, %g: memref<4096xbf16>, %b: memref<4096xbf16>, %o: memref<?x4096xbf16>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x4096xbf16>) gamma(%g : memref<4096xbf16>) beta(%b : memref<4096xbf16>) outs(%o : memref<?x4096xbf16>)
  return
}
