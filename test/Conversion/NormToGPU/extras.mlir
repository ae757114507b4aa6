// RUN: norm-opt %s --convert-norm-to-gpu -cse -split-input-file | FileCheck %s

// Residual, residual_out, mean and rstd; a run-time eps; gamma/beta and
// output of other element types than the input.
// CHECK-LABEL: func.func @layer_norm_extras
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x4096xbf16>, %[[R:[^:]*]]: memref<?x4096xbf16>, %[[G:[^:]*]]: memref<4096xf32>, %[[B:[^:]*]]: memref<4096xf32>, %[[O:[^:]*]]: memref<?x4096xf16>, %[[S:[^:]*]]: memref<?x4096xbf16>, %[[MEAN:[^:]*]]: memref<?xf32>, %[[RSTD:[^:]*]]: memref<?xf32>, %[[E:[^:]*]]: f16)
// eps is converted to the compute type on the host.
// CHECK: %[[EPS:.*]] = arith.extf %[[E]] : f16 to f32
// CHECK: gpu.launch blocks(%[[BID:[^,]*]], {{.*}} threads(%[[TID:[^,]*]],
// The row spans eight warps: every thread reads h[row, 0] = round(x + r)
// as the common pivot.
// CHECK: %[[X0:.*]] = memref.load %[[X]][%[[BID]], %c0] : memref<?x4096xbf16>
// CHECK: %[[R0:.*]] = memref.load %[[R]][%[[BID]], %c0] : memref<?x4096xbf16>
// h = x + r in f32, rounded to bf16: what residual_out receives, and what
// is normalised.
// CHECK: %[[XV:.*]] = vector.load %[[X]][%[[BID]], %[[COL:.*]]] {{.*}} vector<8xbf16>
// CHECK: %[[XW:.*]] = vector.bitcast %[[XV]]
// CHECK: %[[XE:.*]] = vector.extract %[[XW]][0]
// CHECK: %[[XL:.*]] = arith.shli %[[XE]], %c16_i32 : i32
// CHECK: %[[XF:.*]] = arith.bitcast %[[XL]] : i32 to f32
// CHECK: %[[RV:.*]] = vector.load %[[R]][%[[BID]], %[[COL]]] {{.*}} vector<8xbf16>
// CHECK: %[[RW:.*]] = vector.bitcast %[[RV]]
// CHECK: %[[RE:.*]] = vector.extract %[[RW]][0]
// CHECK: %[[RL:.*]] = arith.shli %[[RE]], %c16_i32 : i32
// CHECK: %[[RF:.*]] = arith.bitcast %[[RL]] : i32 to f32
// CHECK: %[[SUM:.*]] = arith.addf %[[XF]], %[[RF]] : f32
// CHECK: %[[H:.*]] = arith.truncf %[[SUM]] : f32 to bf16
// CHECK: %[[HF:.*]] = arith.extf %[[H]] : bf16 to f32
// residual_out may be the residual (in place): it is written only after a
// barrier, once every thread of the block has read r[row, 0] for the pivot.
// CHECK-NOT: vector.store
// CHECK: gpu.barrier
// CHECK-NEXT: %[[HS:.*]] = arith.truncf %[[HF]] : f32 to bf16
// CHECK: %[[HV:.*]] = vector.from_elements %[[HS]], {{.*}} : vector<8xbf16>
// CHECK: vector.store %[[HV]], %[[S]][%[[BID]], %[[COL]]] {alignment = 16 : i64}
// CHECK: gpu.barrier
// CHECK: %[[VAR:.*]] = arith.addf %{{.*}}, %[[EPS]] : f32
// Thread 0 of the row stores its mean (pivot + offset) and rstd.
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[TID]], %c0 : index
// CHECK: scf.if %[[FIRST]] {
// CHECK: %[[M:.*]] = arith.addf
// CHECK: memref.store %[[M]], %[[MEAN]][%[[BID]]] : memref<?xf32>
// CHECK: memref.store %{{.*}}, %[[RSTD]][%[[BID]]] : memref<?xf32>
// CHECK: }
// f32 gamma and beta (256-bit loads, split by the back end), f16 output.
// CHECK: vector.load %[[G]][%[[COL]]] {alignment = 16 : i64} : memref<4096xf32>, vector<8xf32>
// CHECK: vector.load %[[B]][%[[COL]]] {alignment = 16 : i64} : memref<4096xf32>, vector<8xf32>
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: vector.store %{{.*}}, %[[O]][%[[BID]], %[[COL]]] {alignment = 16 : i64} : memref<?x4096xf16>, vector<8xf16>
func.func @layer_norm_extras(%x: memref<?x4096xbf16>, %r: memref<?x4096xbf16>, %g: memref<4096xf32>, %b: memref<4096xf32>, %o: memref<?x4096xf16>, %s: memref<?x4096xbf16>, %m: memref<?xf32>, %v: memref<?xf32>, %e: f16) {
  norm.layer_norm eps(%e : f16) ins(%x : memref<?x4096xbf16>) residual(%r : memref<?x4096xbf16>) gamma(%g : memref<4096xf32>) beta(%b : memref<4096xf32>) outs(%o : memref<?x4096xf16>) residual_out(%s : memref<?x4096xbf16>) mean(%m : memref<?xf32>) rstd(%v : memref<?xf32>)
  return
}

// -----

// Rank 4 normalised over its last two dims: the kernel sees 6 rows of 512.
// Six rows in a block of eight row groups: the spare groups store nothing.
// CHECK-LABEL: func.func @rank4_axis2
// CHECK: %[[X:.*]] = memref.collapse_shape %arg0 {{\[}}[0, 1], [2, 3]] : memref<2x3x8x64xf16> into memref<6x512xf16>
// CHECK: %[[G:.*]] = memref.collapse_shape %arg1 {{\[}}[0, 1]] : memref<8x64xf16> into memref<512xf16>
// CHECK: %[[O:.*]] = memref.collapse_shape %arg2 {{\[}}[0, 1], [2, 3]] : memref<2x3x8x64xf16> into memref<6x512xf16>
// CHECK: %[[MEAN:.*]] = memref.collapse_shape %arg3 {{\[}}[0, 1]] : memref<2x3xf32> into memref<6xf32>
// CHECK: %[[RSTD:.*]] = memref.collapse_shape %arg4 {{\[}}[0, 1]] : memref<2x3xf32> into memref<6xf32>
// CHECK: gpu.launch
// CHECK: vector.load %[[X]]
// CHECK: memref.store %{{.*}}, %[[MEAN]]
// CHECK: memref.store %{{.*}}, %[[RSTD]]
// CHECK: vector.load %[[G]]
// CHECK: vector.store %{{.*}}, %[[O]]
func.func @rank4_axis2(%x: memref<2x3x8x64xf16>, %g: memref<8x64xf16>, %o: memref<2x3x8x64xf16>, %m: memref<2x3xf32>, %v: memref<2x3xf32>) {
  norm.layer_norm axis(2) eps(1.0e-5) ins(%x : memref<2x3x8x64xf16>) gamma(%g : memref<8x64xf16>) outs(%o : memref<2x3x8x64xf16>) mean(%m : memref<2x3xf32>) rstd(%v : memref<2x3xf32>)
  return
}

// -----

// No row dims: one row, expanded to 1 x N; rank-0 mean and rstd.
// CHECK-LABEL: func.func @rank1
// CHECK: %[[X:.*]] = memref.expand_shape %arg0 {{\[}}[0, 1]] output_shape [1, 7] : memref<7xf32> into memref<1x7xf32>
// CHECK: gpu.launch blocks({{.*}}) in (%{{[^ ]*}} = %c1,
// CHECK: memref.load %[[X]]
// CHECK: memref.store %{{.*}}, %arg2[] : memref<f32>
// CHECK: memref.store %{{.*}}, %arg3[] : memref<f32>
func.func @rank1(%x: memref<7xf32>, %o: memref<7xf32>, %m: memref<f32>, %v: memref<f32>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<7xf32>) outs(%o : memref<7xf32>) mean(%m : memref<f32>) rstd(%v : memref<f32>)
  return
}

// -----

// axis 0 of a rank-2 input: everything is one row.
// CHECK-LABEL: func.func @axis0
// CHECK: %[[FLAT:.*]] = memref.collapse_shape %arg0 {{\[}}[0, 1]] : memref<4x8xf32> into memref<32xf32>
// CHECK: memref.expand_shape %[[FLAT]] {{\[}}[0, 1]] output_shape [1, 32] : memref<32xf32> into memref<1x32xf32>
func.func @axis0(%x: memref<4x8xf32>, %o: memref<4x8xf32>) {
  norm.rms_norm axis(0) eps(1.0e-5) ins(%x : memref<4x8xf32>) outs(%o : memref<4x8xf32>)
  return
}

// -----

// No rows at all: nothing to launch (CUDA rejects an empty grid).
// CHECK-LABEL: func.func @no_rows
// CHECK-NOT: gpu.launch
// CHECK-NOT: norm.
// CHECK: return
func.func @no_rows(%x: memref<0x8xf32>, %o: memref<0x8xf32>) {
  norm.rms_norm eps(1.0e-5) ins(%x : memref<0x8xf32>) outs(%o : memref<0x8xf32>)
  return
}
