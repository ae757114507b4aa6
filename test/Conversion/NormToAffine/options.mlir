// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=8 unroll=2 parallel=false" | FileCheck %s --check-prefix=SERIAL
// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=16 unroll=1 nontemporal-threshold=100000 prefetch=true" | FileCheck %s --check-prefix=NT

// SERIAL-LABEL: func @static_large
// Rows as a sequential loop, 8-lane vectors, two accumulators.
// SERIAL-NOT:   affine.parallel
// SERIAL:       affine.for %[[R:.*]] = 0 to 64 {
// SERIAL:         affine.for %{{.*}} = 0 to 992 step 16 iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (vector<8xf32>, vector<8xf32>)
// SERIAL-NOT:   nontemporal
// SERIAL-NOT:   memref.prefetch

// 64 x 1000 bf16 = 128000 bytes >= the threshold: every row is stored
// non-temporally, the first elements up to a 32-byte boundary (16 bf16)
// with a masked store, the aligned vectors, then the rest masked. The next
// row's input is prefetched as this one is normalised.
// NT-DAG:     #[[HEAD:.*]] = affine_map<(d0) -> ({{.*}}d0 mod 32{{.*}} mod 32{{.*}} floordiv 2)>
// NT-DAG:     #[[NEXT:.*]] = affine_map<(d0) -> (d0 + 1, 63)>
// NT-LABEL:   func @static_large
// NT-SAME:      %[[X:[^:]*]]: memref<64x1000xf32>, %[[O:[^:]*]]: memref<64x1000xbf16>
// NT:         affine.parallel (%[[R:.*]]) = (0) to (64)
// NT:           %[[NR:.*]] = affine.min #[[NEXT]](%[[R]])
// NT-NOT:       scf.if %true
// NT:           memref.extract_strided_metadata %[[O]]
// NT:           %[[PTR:.*]] = memref.extract_aligned_pointer_as_index %[[O]]
// NT:           %[[ADDR:.*]] = arith.addi %[[PTR]]
// NT:           %[[MIS:.*]] = affine.apply #[[HEAD]](%[[ADDR]])
// NT:           %[[H:.*]] = arith.minui %[[MIS]], %c1000
// NT:           scf.if
// NT:             vector.create_mask %[[H]]
// NT:             vector.maskedstore %[[O]][%[[R]], %c0]
// NT:           scf.for %[[I:.*]] = %[[H]] to %{{.*}} step %c16
// NT:             memref.prefetch %[[X]][%[[NR]], %[[I]]], read, locality<3>, data
// NT:             vector.store %{{.*}}, %[[O]][%[[R]], %[[I]]] {alignment = 32 : i64, nontemporal = true} : memref<64x1000xbf16>, vector<16xbf16>
// NT:           scf.if
// NT:             vector.maskedstore
func.func @static_large(%x: memref<64x1000xf32>, %o: memref<64x1000xbf16>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<64x1000xf32>) outs(%o : memref<64x1000xbf16>)
  return
}

// -----

// Near miss: 4 x 1000 f32 = 16000 bytes < the threshold: plain stores.
// NT-LABEL:   func @static_small
// NT-NOT:     nontemporal
// NT:         vector.store %{{.*}} : memref<4x1000xf32>, vector<16xf32>
// NT-NOT:     nontemporal
func.func @static_small(%x: memref<4x1000xf32>, %o: memref<4x1000xf32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<4x1000xf32>) outs(%o : memref<4x1000xf32>)
  return
}

// -----

// Dynamic sizes: the choice is made at run time, once, from the output's
// byte size.
// NT-LABEL:   func @dynamic
// NT:         %[[ROWS:.*]] = memref.dim %{{.*}}, %c0
// NT:         %[[N:.*]] = memref.dim %{{.*}}, %c1
// NT:         %[[B1:.*]] = arith.muli %c4{{.*}}, %[[ROWS]]
// NT:         %[[BYTES:.*]] = arith.muli %[[B1]], %[[N]]
// NT:         %[[BIG:.*]] = arith.cmpi uge, %[[BYTES]], %c100000
// NT:         affine.parallel
// NT:           scf.if %[[BIG]] {
// NT:             nontemporal = true
// NT:           } else {
// NT:             affine.for
// NT-NOT:           nontemporal
// NT:           }
func.func @dynamic(%x: memref<?x?xf32>, %o: memref<?x?xf32>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<?x?xf32>) outs(%o : memref<?x?xf32>)
  return
}

// -----

// Residual forms: the first sweep computes h = round(x + r) and writes
// residual_out; later sweeps read h back from residual_out (one load, and
// right when residual_out aliases x or r). The pivot is computed, not read
// from residual_out, which is not written yet.
// SERIAL-LABEL: func @residual
// SERIAL-SAME:    %[[X:[^:]*]]: memref<4x64xbf16>, %[[R:[^:]*]]: memref<4x64xbf16>, %[[O:[^:]*]]: memref<4x64xbf16>, %[[S:[^:]*]]: memref<4x64xbf16>
// SERIAL:         vector.load %[[X]]{{.*}} vector<1xbf16>
// SERIAL:         vector.load %[[R]]{{.*}} vector<1xbf16>
// SERIAL:         affine.for
// SERIAL:           vector.load %[[X]]
// SERIAL:           vector.load %[[R]]
// SERIAL:           arith.addf %{{.*}} : vector<8xf32>
// SERIAL:           arith.truncf %{{.*}} : vector<8xf32> to vector<8xbf16>
// SERIAL:           vector.store %{{.*}}, %[[S]]
// SERIAL:         affine.for
// SERIAL-NOT:       vector.load %[[X]]
// SERIAL:           vector.load %[[S]]
// SERIAL:         affine.for
// SERIAL-NOT:       vector.load %[[X]]
// SERIAL:           vector.load %[[S]]
// SERIAL:           vector.store %{{.*}}, %[[O]]
func.func @residual(%x: memref<4x64xbf16>, %r: memref<4x64xbf16>, %o: memref<4x64xbf16>, %s: memref<4x64xbf16>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<4x64xbf16>) residual(%r : memref<4x64xbf16>) outs(%o : memref<4x64xbf16>) residual_out(%s : memref<4x64xbf16>)
  return
}

// -----

// i8 output with a scale: divide, round half to even, saturate, NaN to 0.
// SERIAL-LABEL: func @quantized_i8
// SERIAL-SAME:    %[[SC:[^:]*]]: f32
// SERIAL:         %[[SV:.*]] = vector.broadcast %[[SC]] : f32 to vector<8xf32>
// SERIAL:         %[[Q:.*]] = arith.divf %{{.*}}, %[[SV]] : vector<8xf32>
// SERIAL:         %[[NAN:.*]] = arith.cmpf uno, %[[Q]], %[[Q]]
// SERIAL:         math.roundeven %[[Q]]
// SERIAL:         arith.maximumf
// SERIAL:         arith.minimumf
// SERIAL:         arith.select %[[NAN]]
// SERIAL:         arith.fptosi %{{.*}} : vector<8xf32> to vector<8xi8>
// SERIAL:         vector.store %{{.*}} : memref<4x64xi8>, vector<8xi8>
func.func @quantized_i8(%x: memref<4x64xf32>, %s: f32, %o: memref<4x64xi8>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<4x64xf32>) out_scale(%s : f32) outs(%o : memref<4x64xi8>)
  return
}
