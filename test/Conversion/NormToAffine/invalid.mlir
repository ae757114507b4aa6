// RUN: norm-opt %s -split-input-file --convert-norm-to-affine -verify-diagnostics

// The lowering takes buffers: an op on tensors is reported, not lowered.
func.func @on_tensors(%x: tensor<4x8xf32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @below {{must be bufferized before --convert-norm-to-affine}}
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
