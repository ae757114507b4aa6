// RUN: norm-opt %s --convert-norm-to-gpu -cse -split-input-file | FileCheck %s

// bf16, N = 4096: one row a block of 256 threads, two vectors of 8 a
// thread. RMSNorm needs no pivot and no count: one butterfly of the scaled
// sum of squares, then one value a warp through workgroup memory.

// CHECK-LABEL: func.func @rms_norm_bf16
// CHECK-SAME: (%[[X:.*]]: memref<?x4096xbf16>, %[[G:.*]]: memref<4096xbf16>, %[[O:.*]]: memref<?x4096xbf16>)
// CHECK: %[[M:.*]] = memref.dim %[[X]], %c0
// CHECK: gpu.launch blocks(%[[BID:[^,]*]], {{.*}}) in (%{{[^ ]*}} = %[[M]], {{.*}}) threads(%[[TID:[^,]*]], {{.*}}) in (%{{[^ ]*}} = %c256, {{.*}}) workgroup(%[[SMEM:[^ ]*]] : memref<24xf32, #gpu.address_space<workgroup>>)
// c = 1/sqrt(4096) scales every element before it is squared.
// CHECK: %[[C:.*]] = arith.constant 1.562500e-02 : f32
// CHECK: %[[V0:.*]] = vector.load %[[X]][%[[BID]], %{{.*}}] {alignment = 16 : i64} : memref<?x4096xbf16>, vector<8xbf16>
// CHECK: %[[W0:.*]] = vector.bitcast %[[V0]] : vector<8xbf16> to vector<4xi32>
// CHECK: %[[E0:.*]] = vector.extract %[[W0]][0] : i32 from vector<4xi32>
// CHECK: %[[L0:.*]] = arith.shli %[[E0]], %c16_i32 : i32
// CHECK: %[[H0:.*]] = arith.bitcast %[[L0]] : i32 to f32
// CHECK: vector.load %[[X]][%[[BID]], %{{.*}}] {alignment = 16 : i64} : memref<?x4096xbf16>, vector<8xbf16>
// The squares and their sum may contract into fused multiply-adds.
// CHECK: %[[S0:.*]] = arith.mulf %[[H0]], %[[C]] : f32
// CHECK: %[[SQ0:.*]] = arith.mulf %[[S0]], %[[S0]] fastmath<contract> : f32
// CHECK: arith.addf %[[SQ0]], %{{.*}} fastmath<contract> : f32
// CHECK-NOT: gpu.shuffle  idx
// CHECK: gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c8_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c4_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32 : f32
// CHECK: %[[Q:.*]], %{{.*}} = gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : f32
// CHECK: memref.store %{{.*}}, %[[SMEM]]
// CHECK: gpu.barrier
// Lane l reads warp l mod 8's sum; a butterfly over 8 lanes adds them.
// CHECK: arith.remui %{{.*}}, %c8 : index
// CHECK-COUNT-1: memref.load %[[SMEM]]
// CHECK-NOT: memref.load %[[SMEM]]
// CHECK: gpu.shuffle  xor %{{.*}}, %c4_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : f32
// CHECK: %[[SUM:.*]] = arith.addf
// CHECK-NOT: gpu.shuffle
// rstd = 1/sqrt(ms + eps) (rsqrt.approx), NaN when ms overflowed to +inf.
// CHECK: %[[EPS:.*]] = arith.addf %[[SUM]], %cst : f32
// CHECK: %[[RSTD:.*]] = math.rsqrt %[[EPS]] fastmath<afn> : f32
// CHECK: %[[INF:.*]] = arith.cmpf oeq, %[[SUM]], %{{.*}} : f32
// CHECK: %[[R:.*]] = arith.select %[[INF]], %{{.*}}, %[[RSTD]] : f32
// No mean: y = h * rstd * gamma.
// CHECK: vector.load %[[G]]
// CHECK: %[[Y0:.*]] = arith.mulf %[[H0]], %[[R]] : f32
// CHECK: vector.store %{{.*}}, %[[O]][%[[BID]], %{{.*}}] {alignment = 16 : i64} : memref<?x4096xbf16>, vector<8xbf16>
// CHECK: vector.store %{{.*}}, %[[O]][%[[BID]], %{{.*}}] {alignment = 16 : i64} : memref<?x4096xbf16>, vector<8xbf16>
func.func @rms_norm_bf16(%x: memref<?x4096xbf16>, %g: memref<4096xbf16>, %o: memref<?x4096xbf16>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x4096xbf16>) gamma(%g : memref<4096xbf16>) outs(%o : memref<?x4096xbf16>)
  return
}

// -----

// f16 in, f32 out: 128-bit loads of 8 f16, 256-bit stores of 8 f32 (still
// 16-byte aligned: the back end splits them).

// CHECK-LABEL: func.func @rms_norm_f16_to_f32
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<?x1024xf16>, vector<8xf16>
// CHECK: vector.store %{{.*}} {alignment = 16 : i64} : memref<?x1024xf32>, vector<8xf32>
func.func @rms_norm_f16_to_f32(%x: memref<?x1024xf16>, %o: memref<?x1024xf32>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x1024xf16>) outs(%o : memref<?x1024xf32>)
  return
}
