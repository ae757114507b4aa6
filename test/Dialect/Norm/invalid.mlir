// RUN: norm-opt %s -split-input-file -verify-diagnostics

// One case per verifier message of norm.layer_norm / norm.rms_norm.

func.func @rank0(%x: tensor<f32>, %o: tensor<f32>) -> tensor<f32> {
  // expected-error @+1 {{expects an input of rank >= 1}}
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<f32>) outs(%o : tensor<f32>) -> tensor<f32>
  return %y : tensor<f32>
}

// -----

func.func @mixed_tensor_memref(%x: tensor<4x8xf32>, %g: memref<8xf32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects its shaped operands to be all tensors or all memrefs}}
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x8xf32>) gamma(%g : memref<8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @axis_out_of_range(%x: tensor<4x8xf32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{axis 2 is out of range for an input of rank 2}}
  %y = norm.layer_norm axis(2) eps(1.0e-5) ins(%x : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @integer_input(%x: tensor<4x8xi32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects a floating-point input element type, got 'i32'}}
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x8xi32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @empty_row(%x: tensor<4x0xf32>, %o: tensor<4x0xf32>) -> tensor<4x0xf32> {
  // expected-error @+1 {{expects non-empty normalised dimensions}}
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x0xf32>) outs(%o : tensor<4x0xf32>) -> tensor<4x0xf32>
  return %y : tensor<4x0xf32>
}

// -----

func.func @output_shape(%x: tensor<4x8xf32>, %o: tensor<4x9xf32>) -> tensor<4x9xf32> {
  // expected-error @+1 {{expects the output shape 4x9 to match the input shape 4x8}}
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x8xf32>) outs(%o : tensor<4x9xf32>) -> tensor<4x9xf32>
  return %y : tensor<4x9xf32>
}

// -----

func.func @output_f8e5m2(%x: tensor<4x8xf32>, %o: tensor<4x8xf8E5M2>, %s: f32) -> tensor<4x8xf8E5M2> {
  // expected-error @+1 {{expects the output element type to be a float of at least 16 bits, or i8 or f8E4M3FN with an out_scale, got 'f8E5M2'}}
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x8xf32>) out_scale(%s : f32) outs(%o : tensor<4x8xf8E5M2>) -> tensor<4x8xf8E5M2>
  return %y : tensor<4x8xf8E5M2>
}

// -----

func.func @i8_without_scale(%x: tensor<4x8xf32>, %o: tensor<4x8xi8>) -> tensor<4x8xi8> {
  // expected-error @+1 {{expects an out_scale operand for the quantised output element type 'i8'}}
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x8xf32>) outs(%o : tensor<4x8xi8>) -> tensor<4x8xi8>
  return %y : tensor<4x8xi8>
}

// -----

func.func @scale_for_float_output(%x: tensor<4x8xf32>, %o: tensor<4x8xbf16>, %s: f32) -> tensor<4x8xbf16> {
  // expected-error @+1 {{has an out_scale operand but its output element type 'bf16' is not quantised (i8 or f8E4M3FN)}}
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x8xf32>) out_scale(%s : f32) outs(%o : tensor<4x8xbf16>) -> tensor<4x8xbf16>
  return %y : tensor<4x8xbf16>
}

// -----

func.func @residual_shape(%x: tensor<4x8xf32>, %r: tensor<8xf32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects the residual shape 8 to match the input shape 4x8}}
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x8xf32>) residual(%r : tensor<8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @residual_type(%x: tensor<4x8xf32>, %r: tensor<4x8xf16>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects the residual element type 'f16' to match the input element type 'f32'}}
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x8xf32>) residual(%r : tensor<4x8xf16>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @integer_gamma(%x: tensor<4x8xf32>, %g: tensor<8xi32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects a floating-point gamma element type, got 'i32'}}
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x8xf32>) gamma(%g : tensor<8xi32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @gamma_beta_types(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf16>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects gamma and beta to have the same element type, got 'f32' and 'f16'}}
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x8xf32>) gamma(%g : tensor<8xf32>) beta(%b : tensor<8xf16>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @residual_out_without_residual(%x: tensor<4x8xf32>, %o: tensor<4x8xf32>, %h: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{has a residual_out destination but no residual operand}}
  %y:2 = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) residual_out(%h : tensor<4x8xf32>) -> tensor<4x8xf32>, tensor<4x8xf32>
  return %y#0 : tensor<4x8xf32>
}

// -----

func.func @residual_out_type(%x: tensor<4x8xbf16>, %r: tensor<4x8xbf16>, %o: tensor<4x8xbf16>, %h: tensor<4x8xf32>) -> tensor<4x8xbf16> {
  // expected-error @+1 {{expects the residual_out element type 'f32' to match the input element type 'bf16'}}
  %y:2 = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x8xbf16>) residual(%r : tensor<4x8xbf16>) outs(%o : tensor<4x8xbf16>) residual_out(%h : tensor<4x8xf32>) -> tensor<4x8xbf16>, tensor<4x8xf32>
  return %y#0 : tensor<4x8xbf16>
}

// -----

func.func @both_eps(%x: tensor<4x8xf32>, %e: f32, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects either the epsilon attribute or an eps operand, not both}}
  %y = norm.rms_norm eps(%e : f32) ins(%x : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) {epsilon = 1.0e-6 : f64} -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @no_eps(%x: tensor<4x8xf32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects an epsilon: the epsilon attribute or an eps operand}}
  %y = norm.rms_norm ins(%x : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @negative_eps(%x: tensor<4x8xf32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects epsilon to be a positive finite number, got -1.000000e-05}}
  %y = norm.layer_norm eps(-1.0e-5) ins(%x : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
