// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=16 parallel=false prefetch=false" | FileCheck %s --check-prefix=AVX512
// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=8 parallel=false prefetch=false" | FileCheck %s --check-prefix=AVX2
// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=16 unroll=1 parallel=false prefetch=false" | FileCheck %s --check-prefix=ONE

// A sum of squares over a row whose length is known only at run time keeps
// 4x `unroll` accumulators (16 with the default 4), within half the vector
// registers (16 of AVX-512's 32, 8 of AVX2's 16): LLVM cannot unroll that
// loop whole as it does a short static row's, so each step covers more.
// AVX512-LABEL: func @rms_run_time
// AVX512: affine.for %{{.*}} = 0 to {{.*}} step 256 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// AVX512: affine.for %{{.*}} step 16 iter_args(%{{[^,]*}}) -> (vector<16xf32>)
// AVX2-LABEL: func @rms_run_time
// AVX2: affine.for %{{.*}} = 0 to {{.*}} step 64 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// ONE-LABEL: func @rms_run_time
// ONE: affine.for %{{.*}} = 0 to {{.*}} step 64 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
func.func @rms_run_time(%x: memref<?x?xf32>, %o: memref<?x?xf32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<?x?xf32>) outs(%o : memref<?x?xf32>)
  return
}

// -----

// The same op over a static row keeps `unroll`: 4 accumulators, 1 with
// unroll=1.
// AVX512-LABEL: func @rms_static
// AVX512: affine.for %{{.*}} = 0 to 768 step 64 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// ONE-LABEL: func @rms_static
// ONE: affine.for %{{.*}} = 0 to 768 step 16 iter_args(%{{[^,]*}}) -> (vector<16xf32>)
func.func @rms_static(%x: memref<?x768xf32>, %o: memref<?x768xf32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<?x768xf32>) outs(%o : memref<?x768xf32>)
  return
}

// -----

// LayerNorm's one-pass sweep carries two vectors a copy and keeps `unroll`
// copies (8 states); its fallback sum of squares, one vector a copy, has
// the run-time row's 16.
// AVX512-LABEL: func @ln_run_time
// AVX512: affine.for %{{.*}} = 0 to {{.*}} step 64 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// AVX512: affine.for %{{.*}} = 0 to {{.*}} step 256 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
func.func @ln_run_time(%x: memref<?x?xf32>, %o: memref<?x?xf32>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<?x?xf32>) outs(%o : memref<?x?xf32>)
  return
}
