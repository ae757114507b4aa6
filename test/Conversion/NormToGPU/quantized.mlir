// RUN: norm-opt %s --convert-norm-to-gpu -cse -split-input-file | FileCheck %s

// Quantised outputs: the kernel divides y by out_scale (a kernel argument,
// converted to the compute type on the host), then quantises each lane as
// the reference decomposition does, and stores the V results of a vector
// at once.

// i8: round half to even, clamp to [-128, 127], NaN to 0, then convert.
// f32 in: 4 lanes a vector, one 32-bit store.
// CHECK-LABEL: func.func @rms_norm_i8
// CHECK-SAME: (%[[X:[^:]*]]: memref<4x64xf32>, %[[G:[^:]*]]: memref<64xf32>, %[[S:[^:]*]]: f32, %[[O:[^:]*]]: memref<4x64xi8>)
// CHECK: gpu.launch
// CHECK: vector.load %[[X]]
// CHECK: %[[GV:.*]] = vector.load %[[G]][%[[COL:.*]]] {{.*}} vector<4xf32>
// CHECK: %[[G0:.*]] = vector.extract %[[GV]][0]
// CHECK: %[[Y:.*]] = arith.mulf %{{.*}}, %[[G0]] fastmath<contract> : f32
// CHECK: %[[Q:.*]] = arith.divf %[[Y]], %[[S]] : f32
// CHECK: %[[NAN:.*]] = arith.cmpf uno, %[[Q]], %[[Q]] : f32
// CHECK: %[[R:.*]] = math.roundeven %[[Q]] : f32
// CHECK: %[[LO:.*]] = arith.constant -1.280000e+02 : f32
// CHECK: %[[MAX:.*]] = arith.maximumf %[[R]], %[[LO]] : f32
// CHECK: %[[HI:.*]] = arith.constant 1.270000e+02 : f32
// CHECK: %[[MIN:.*]] = arith.minimumf %[[MAX]], %[[HI]] : f32
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[SAT:.*]] = arith.select %[[NAN]], %[[ZERO]], %[[MIN]] : f32
// CHECK: %[[I8:.*]] = arith.fptosi %[[SAT]] : f32 to i8
// CHECK-COUNT-3: arith.fptosi %{{.*}} : f32 to i8
// CHECK: %[[V:.*]] = vector.from_elements %[[I8]], %{{.*}}, %{{.*}}, %{{.*}} : vector<4xi8>
// CHECK: vector.store %[[V]], %[[O]][%[[ROW:.*]], %[[COL]]] {alignment = 4 : i64} : memref<4x64xi8>, vector<4xi8>
func.func @rms_norm_i8(%x: memref<4x64xf32>, %g: memref<64xf32>, %s: f32, %o: memref<4x64xi8>) {
  norm.rms_norm eps(1.0e-5) ins(%x : memref<4x64xf32>) gamma(%g : memref<64xf32>) out_scale(%s : f32) outs(%o : memref<4x64xi8>)
  return
}

// -----

// f8E4M3FN: clamp to [-448, 448], then one rounding truncf. bf16 in with a
// residual: residual_out holds h, and 8 lanes a vector give 64-bit stores of
// the quantised output. An f16 scale is extended to f32 on the host.
// CHECK-LABEL: func.func @layer_norm_f8_residual
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x1024xbf16>, %[[R:[^:]*]]: memref<?x1024xbf16>, %[[G:[^:]*]]: memref<1024xbf16>, %[[B:[^:]*]]: memref<1024xbf16>, %[[S:[^:]*]]: f16, %[[O:[^:]*]]: memref<?x1024xf8E4M3FN>, %[[RO:[^:]*]]: memref<?x1024xbf16>)
// CHECK: %[[SCALE:.*]] = arith.extf %[[S]] : f16 to f32
// CHECK: gpu.launch
// CHECK: %[[H:.*]] = arith.truncf %{{.*}} : f32 to bf16
// CHECK: vector.store %{{.*}}, %[[RO]][{{.*}}] {alignment = 16 : i64} : memref<?x1024xbf16>, vector<8xbf16>
// CHECK: vector.load %[[G]]
// CHECK: vector.load %[[B]]
// CHECK: %[[Y:.*]] = arith.addf %{{.*}}, %{{.*}} : f32
// CHECK: %[[Q:.*]] = arith.divf %[[Y]], %[[SCALE]] : f32
// CHECK: %[[LO:.*]] = arith.constant -4.480000e+02 : f32
// CHECK: %[[MAX:.*]] = arith.maximumf %[[Q]], %[[LO]] : f32
// CHECK: %[[HI:.*]] = arith.constant 4.480000e+02 : f32
// CHECK: %[[MIN:.*]] = arith.minimumf %[[MAX]], %[[HI]] : f32
// CHECK: %[[F8:.*]] = arith.truncf %[[MIN]] : f32 to f8E4M3FN
// CHECK: %[[V:.*]] = vector.from_elements %[[F8]], {{.*}} : vector<8xf8E4M3FN>
// CHECK: vector.store %[[V]], %[[O]][{{.*}}] {alignment = 8 : i64} : memref<?x1024xf8E4M3FN>, vector<8xf8E4M3FN>
func.func @layer_norm_f8_residual(%x: memref<?x1024xbf16>, %r: memref<?x1024xbf16>, %g: memref<1024xbf16>, %b: memref<1024xbf16>, %s: f16, %o: memref<?x1024xf8E4M3FN>, %ro: memref<?x1024xbf16>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<?x1024xbf16>) residual(%r : memref<?x1024xbf16>) gamma(%g : memref<1024xbf16>) beta(%b : memref<1024xbf16>) out_scale(%s : f16) outs(%o : memref<?x1024xf8E4M3FN>) residual_out(%ro : memref<?x1024xbf16>)
  return
}

// -----

// RMSNorm, residual and residual_out, gamma, i8: the fused_add_rms_norm +
// quantisation of an int8 inference stack.
// CHECK-LABEL: func.func @rms_norm_i8_residual
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x4096xf16>, %[[R:[^:]*]]: memref<?x4096xf16>, %[[G:[^:]*]]: memref<4096xf16>, %[[S:[^:]*]]: f32, %[[O:[^:]*]]: memref<?x4096xi8>, %[[RO:[^:]*]]: memref<?x4096xf16>)
// CHECK: gpu.launch
// CHECK: vector.store %{{.*}}, %[[RO]][{{.*}}] {{.*}} : memref<?x4096xf16>, vector<8xf16>
// CHECK: arith.divf %{{.*}}, %[[S]] : f32
// CHECK: math.roundeven
// CHECK: arith.fptosi %{{.*}} : f32 to i8
// CHECK: vector.store %{{.*}}, %[[O]][{{.*}}] {alignment = 8 : i64} : memref<?x4096xi8>, vector<8xi8>
func.func @rms_norm_i8_residual(%x: memref<?x4096xf16>, %r: memref<?x4096xf16>, %g: memref<4096xf16>, %s: f32, %o: memref<?x4096xi8>, %ro: memref<?x4096xf16>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<?x4096xf16>) residual(%r : memref<?x4096xf16>) gamma(%g : memref<4096xf16>) out_scale(%s : f32) outs(%o : memref<?x4096xi8>) residual_out(%ro : memref<?x4096xf16>)
  return
}

// -----

// A streamed row of dynamic length and f64 statistics: the scale is
// extended to f64 on the host, and the quantisation runs in f64. Two
// kinds of kernel, chosen per call: 2 elements an access (16 bytes of f64)
// where N and the layouts allow it, else one at a time (shown).
// CHECK-LABEL: func.func @layer_norm_f64_i8_dynamic
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x?xf64>, %[[S:[^:]*]]: f32, %[[O:[^:]*]]: memref<?x?xi8>)
// CHECK: %[[SCALE:.*]] = arith.extf %[[S]] : f32 to f64
// A row of run-time length is addressed through a 1-D view of it.
// CHECK: gpu.launch
// CHECK: %[[OROW:.*]] = memref.subview %[[O]][%{{.*}}, 0] [1, %{{.*}}] [1, 1] : memref<?x?xi8> to memref<?xi8, strided<[1], offset: ?>>
// CHECK: vector.store %{{.*}}, %[[OROW]][{{.*}}] {alignment = 2 : i64} : memref<?xi8, strided<[1], offset: ?>>, vector<2xi8>
// Three more row-length buckets and the streamed wide kernel, then the
// scalar one.
// CHECK-COUNT-4: gpu.launch
// CHECK: gpu.launch
// CHECK: %[[OROW1:.*]] = memref.subview %[[O]]
// CHECK: scf.for
// CHECK: %[[Q:.*]] = arith.divf %{{.*}}, %[[SCALE]] : f64
// CHECK: math.roundeven %[[Q]] : f64
// CHECK: %[[I8:.*]] = arith.fptosi %{{.*}} : f64 to i8
// CHECK: memref.store %[[I8]], %[[OROW1]][{{.*}}] : memref<?xi8, strided<[1], offset: ?>>
func.func @layer_norm_f64_i8_dynamic(%x: memref<?x?xf64>, %s: f32, %o: memref<?x?xi8>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<?x?xf64>) out_scale(%s : f32) outs(%o : memref<?x?xi8>)
  return
}

// -----

// An f32 scale with f32 statistics is used as it is; an f8E4M3FN output of
// an f32 input is stored 4 bytes at a time.
// CHECK-LABEL: func.func @rms_norm_f8
// CHECK-SAME: (%[[X:[^:]*]]: memref<8x512xf32>, %[[S:[^:]*]]: f32, %[[O:[^:]*]]: memref<8x512xf8E4M3FN>, %[[RSTD:[^:]*]]: memref<8xf32>)
// CHECK-NOT: arith.extf %[[S]]
// CHECK: gpu.launch
// CHECK: memref.store %{{.*}}, %[[RSTD]]
// CHECK: arith.divf %{{.*}}, %[[S]] : f32
// CHECK: arith.truncf %{{.*}} : f32 to f8E4M3FN
// CHECK: vector.store %{{.*}}, %[[O]][{{.*}}] {alignment = 4 : i64} : memref<8x512xf8E4M3FN>, vector<4xf8E4M3FN>
func.func @rms_norm_f8(%x: memref<8x512xf32>, %s: f32, %o: memref<8x512xf8E4M3FN>, %v: memref<8xf32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<8x512xf32>) out_scale(%s : f32) outs(%o : memref<8x512xf8E4M3FN>) rstd(%v : memref<8xf32>)
  return
}
