// RUN: norm-opt %s -split-input-file --convert-norm-to-affine -verify-diagnostics

// The lowering takes buffers: an op on tensors is reported, not lowered.
func.func @on_tensors(%x: tensor<4x8xf32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @below {{must be bufferized before --convert-norm-to-affine}}
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Regression: element types the row kernels cannot load or store (an f8 or
// tf32 input, f80 statistics) are reported; they used to be lowered into
// conversions that convert-to-llvm leaves behind, and norm-cpu-pipeline
// exited 0 with IR that is not LLVM.
func.func @f8_input(%x: memref<4x8xf8E5M2>, %o: memref<4x8xf32>) {
  // expected-error @below {{'norm.rms_norm' op expects f16, bf16, f32 or f64 elements in the input to lower it to CPU code, got 'f8E5M2'}}
  norm.rms_norm eps(1.0e-6) ins(%x : memref<4x8xf8E5M2>) outs(%o : memref<4x8xf32>)
  return
}

// -----

func.func @tf32_gamma(%x: memref<4x8xf32>, %g: memref<8xtf32>, %o: memref<4x8xf32>) {
  // expected-error @below {{'norm.layer_norm' op expects f16, bf16, f32 or f64 elements in the gamma to lower it to CPU code, got 'tf32'}}
  norm.layer_norm eps(1.0e-5) ins(%x : memref<4x8xf32>) gamma(%g : memref<8xtf32>) outs(%o : memref<4x8xf32>)
  return
}

// -----

func.func @f80_rstd(%x: memref<4x8xf32>, %o: memref<4x8xf32>, %v: memref<4xf80>) {
  // expected-error @below {{'norm.rms_norm' op expects f16, bf16, f32 or f64 elements in the rstd to lower it to CPU code, got 'f80'}}
  norm.rms_norm eps(1.0e-6) ins(%x : memref<4x8xf32>) outs(%o : memref<4x8xf32>) rstd(%v : memref<4xf80>)
  return
}

// -----

func.func @f8_eps(%x: memref<4x8xf32>, %o: memref<4x8xf32>, %e: f8E4M3FN) {
  // expected-error @below {{'norm.rms_norm' op expects f16, bf16, f32 or f64 elements in the eps to lower it to CPU code, got 'f8E4M3FN'}}
  norm.rms_norm eps(%e : f8E4M3FN) ins(%x : memref<4x8xf32>) outs(%o : memref<4x8xf32>)
  return
}

// -----

// Quantised outputs are supported: no diagnostic.
// expected-no-diagnostics
func.func @quantised_f8_output(%x: memref<4x8xf32>, %s: f32, %o: memref<4x8xf8E4M3FN>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<4x8xf32>) out_scale(%s : f32) outs(%o : memref<4x8xf8E4M3FN>)
  return
}
