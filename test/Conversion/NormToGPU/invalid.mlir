// RUN: norm-opt %s --convert-norm-to-gpu -split-input-file -verify-diagnostics

func.func @tensors(%x: tensor<4x8xf32>, %init: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @below {{'norm.layer_norm' op expects memref operands; bufferize the op before lowering it to GPU code}}
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x8xf32>) outs(%init : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @f8_input(%x: memref<4x8xf8E4M3FN>, %o: memref<4x8xf32>) {
  // expected-error @below {{'norm.rms_norm' op expects f16, bf16, f32 or f64 elements in the input to lower it to GPU code, got 'f8E4M3FN'}}
  norm.rms_norm eps(1.0e-5) ins(%x : memref<4x8xf8E4M3FN>) outs(%o : memref<4x8xf32>)
  return
}

// -----

func.func @f80_stats(%x: memref<4x8xf32>, %o: memref<4x8xf32>, %v: memref<4xf80>) {
  // expected-error @below {{'norm.rms_norm' op expects f16, bf16, f32 or f64 elements in the rstd to lower it to GPU code, got 'f80'}}
  norm.rms_norm eps(1.0e-5) ins(%x : memref<4x8xf32>) outs(%o : memref<4x8xf32>) rstd(%v : memref<4xf80>)
  return
}

// -----

// The normalised dims [8, 16] are 32 elements apart: not one contiguous run.
func.func @gapped_rows(%x: memref<4x8x16xf32, strided<[256, 32, 1]>>, %o: memref<4x8x16xf32>) {
  // expected-error @below {{'norm.layer_norm' op expects the input to be contiguous within its row dimensions and within its normalised dimensions, got 'memref<4x8x16xf32, strided<[256, 32, 1]>>'}}
  norm.layer_norm axis(1) eps(1.0e-5) ins(%x : memref<4x8x16xf32, strided<[256, 32, 1]>>) outs(%o : memref<4x8x16xf32>)
  return
}

// -----

// A near miss of the above: rows far apart but each contiguous is fine.
// expected-no-diagnostics
func.func @padded_rows(%x: memref<4x8x16xf32, strided<[256, 16, 1]>>, %o: memref<4x8x16xf32>) {
  norm.layer_norm axis(1) eps(1.0e-5) ins(%x : memref<4x8x16xf32, strided<[256, 16, 1]>>) outs(%o : memref<4x8x16xf32>)
  return
}

// -----

func.func @gapped_gamma(%x: memref<4x8x16xf32>, %g: memref<8x16xf32, strided<[32, 1]>>, %o: memref<4x8x16xf32>) {
  // expected-error @below {{'norm.layer_norm' op expects the gamma to be contiguous within its row dimensions and within its normalised dimensions, got 'memref<8x16xf32, strided<[32, 1]>>'}}
  norm.layer_norm axis(1) eps(1.0e-5) ins(%x : memref<4x8x16xf32>) gamma(%g : memref<8x16xf32, strided<[32, 1]>>) outs(%o : memref<4x8x16xf32>)
  return
}

// -----

func.func @workgroup_memory(%x: memref<4x8xf32, #gpu.address_space<workgroup>>, %o: memref<4x8xf32>) {
  // expected-error @below {{'norm.layer_norm' op expects the input in global memory, got memory space #gpu.address_space<workgroup>}}
  norm.layer_norm eps(1.0e-5) ins(%x : memref<4x8xf32, #gpu.address_space<workgroup>>) outs(%o : memref<4x8xf32>)
  return
}

// -----

func.func @inside_a_kernel(%x: memref<4x8xf32>, %o: memref<4x8xf32>) {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    // expected-error @below {{'norm.layer_norm' op is already in GPU code; only host code can launch a kernel}}
    norm.layer_norm eps(1.0e-5) ins(%x : memref<4x8xf32>) outs(%o : memref<4x8xf32>)
    gpu.terminator
  }
  return
}

// -----

// Every op is checked before any is rewritten: a refused op leaves the
// others alone, and both diagnostics are reported.
func.func @two_refused(%x: memref<4x8xf8E5M2>, %t: tensor<4x8xf32>, %o: memref<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @below {{'norm.rms_norm' op expects f16, bf16, f32 or f64 elements in the input to lower it to GPU code, got 'f8E5M2'}}
  norm.rms_norm eps(1.0e-5) ins(%x : memref<4x8xf8E5M2>) outs(%o : memref<4x8xf32>)
  // expected-error @below {{'norm.rms_norm' op expects memref operands; bufferize the op before lowering it to GPU code}}
  %y = norm.rms_norm eps(1.0e-5) ins(%t : tensor<4x8xf32>) outs(%t : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// The quantised types are only for an output with an out_scale; other
// output types the verifier allows are refused here.
func.func @tf32_output(%x: memref<4x64xf32>, %o: memref<4x64xtf32>) {
  // expected-error @below {{'norm.rms_norm' op expects f16, bf16, f32 or f64 elements in the output (or i8 or f8E4M3FN with an out_scale) to lower it to GPU code, got 'tf32'}}
  norm.rms_norm eps(1.0e-5) ins(%x : memref<4x64xf32>) outs(%o : memref<4x64xtf32>)
  return
}

// -----

// An out_scale the kernel could not receive (no f8 kernel arguments).
func.func @f8_out_scale(%x: memref<4x64xf32>, %s: f8E5M2, %o: memref<4x64xi8>) {
  // expected-error @below {{'norm.rms_norm' op expects an f16, bf16, f32 or f64 out_scale to lower it to GPU code, got 'f8E5M2'}}
  norm.rms_norm eps(1.0e-5) ins(%x : memref<4x64xf32>) out_scale(%s : f8E5M2) outs(%o : memref<4x64xi8>)
  return
}

// -----

// Quantised outputs lower (see quantized.mlir).
// expected-no-diagnostics
func.func @quantised_output(%x: memref<4x64xf32>, %s: f32, %o: memref<4x64xi8>) {
  norm.rms_norm eps(1.0e-5) ins(%x : memref<4x64xf32>) out_scale(%s : f32) outs(%o : memref<4x64xi8>)
  return
}

// -----

// Gradient ops take the same checks, naming the operand.
func.func @grad_tensors(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %r: tensor<4xf32>, %init: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @below {{'norm.rms_norm_grad' op expects memref operands; bufferize the op before lowering it to GPU code}}
  %dx = norm.rms_norm_grad ins(%x : tensor<4x8xf32>) dy(%dy : tensor<4x8xf32>) rstd(%r : tensor<4xf32>)
      outs dx(%init : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %dx : tensor<4x8xf32>
}

// -----

func.func @grad_strided_dy(%x: memref<4x8x16xf32>, %dy: memref<4x8x16xf32, strided<[256, 32, 1]>>, %r: memref<4xf32>, %dx: memref<4x8x16xf32>) {
  // expected-error @below {{'norm.rms_norm_grad' op expects the output gradient to be contiguous within its row dimensions and within its normalised dimensions, got 'memref<4x8x16xf32, strided<[256, 32, 1]>>'}}
  norm.rms_norm_grad axis(1) ins(%x : memref<4x8x16xf32>) dy(%dy : memref<4x8x16xf32, strided<[256, 32, 1]>>) rstd(%r : memref<4xf32>)
      outs dx(%dx : memref<4x8x16xf32>)
  return
}

// -----

func.func @grad_private_dgamma(%x: memref<4x8xf32>, %dy: memref<4x8xf32>, %m: memref<4xf32>, %r: memref<4xf32>,
                               %dg: memref<8xf32, #gpu.address_space<private>>) {
  // expected-error @below {{'norm.layer_norm_grad' op expects the gamma gradient (dgamma) in global memory, got memory space #gpu.address_space<private>}}
  norm.layer_norm_grad ins(%x : memref<4x8xf32>) dy(%dy : memref<4x8xf32>) mean(%m : memref<4xf32>) rstd(%r : memref<4xf32>)
      outs dgamma(%dg : memref<8xf32, #gpu.address_space<private>>)
  return
}
