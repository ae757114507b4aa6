// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=8 unroll=2 parallel=false prefetch=false" | FileCheck %s --check-prefix=SERIAL

// SERIAL-LABEL: func @static_large
// Rows as a sequential loop, 8-lane vectors, two accumulators; 128000 bytes
// of output, below the default non-temporal threshold (32 MiB).
// SERIAL-NOT:   affine.parallel
// SERIAL:       affine.for %[[R:.*]] = 0 to 64 {
// SERIAL:         affine.for %{{.*}} = 0 to 992 step 16 iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (vector<8xf32>, vector<8xf32>)
// SERIAL-NOT:   nontemporal
// SERIAL-NOT:   memref.prefetch

func.func @static_large(%x: memref<64x1000xf32>, %o: memref<64x1000xbf16>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<64x1000xf32>) outs(%o : memref<64x1000xbf16>)
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
