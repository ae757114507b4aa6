// RUN: norm-opt %s -split-input-file -verify-diagnostics

func.func @no_destination(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>) {
  // expected-error @+1 {{expects at least one destination: dx, dgamma or dbeta}}
  norm.layer_norm_grad eps(1.0e-05) ins(%x : tensor<4x8xf32>) dy(%dy : tensor<4x8xf32>) outs
  return
}

// -----

func.func @rms_no_destination(%x: memref<4x8xf32>, %dy: memref<4x8xf32>) {
  // expected-error @+1 {{expects at least one destination: dx, dgamma}}
  norm.rms_norm_grad eps(1.0e-05) ins(%x : memref<4x8xf32>) dy(%dy : memref<4x8xf32>) outs
  return
}

// -----

func.func @dy_shape(%x: tensor<4x8xf32>, %dy: tensor<4x9xf32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects the dy shape 4x9 to match the input shape 4x8}}
  %dx = norm.layer_norm_grad eps(1.0e-05) ins(%x : tensor<4x8xf32>) dy(%dy : tensor<4x9xf32>) outs dx(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %dx : tensor<4x8xf32>
}

// -----

func.func @mean_without_rstd(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %m: tensor<4xf32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects mean and rstd to be both operands (saved by the forward op) or both absent (recomputed from the input)}}
  %dx = norm.layer_norm_grad eps(1.0e-05) ins(%x : tensor<4x8xf32>) dy(%dy : tensor<4x8xf32>) mean(%m : tensor<4xf32>) outs dx(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %dx : tensor<4x8xf32>
}

// -----

func.func @recompute_without_eps(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{recomputes its statistics from the input and expects an epsilon for them}}
  %dx = norm.rms_norm_grad ins(%x : tensor<4x8xf32>) dy(%dy : tensor<4x8xf32>) outs dx(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %dx : tensor<4x8xf32>
}

// -----

func.func @eps_with_saved(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %r: tensor<4xf32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{has an epsilon, but its statistics are operands: epsilon is only used to recompute them}}
  %dx = norm.rms_norm_grad eps(1.0e-06) ins(%x : tensor<4x8xf32>) dy(%dy : tensor<4x8xf32>) rstd(%r : tensor<4xf32>) outs dx(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %dx : tensor<4x8xf32>
}

// -----

func.func @rstd_shape(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %r: tensor<8xf32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects the rstd shape 8 to match the row shape 4}}
  %dx = norm.rms_norm_grad ins(%x : tensor<4x8xf32>) dy(%dy : tensor<4x8xf32>) rstd(%r : tensor<8xf32>) outs dx(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %dx : tensor<4x8xf32>
}

// -----

func.func @dgamma_shape(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects the dgamma shape 4x8 to match the normalised shape 8}}
  %dg = norm.layer_norm_grad eps(1.0e-05) ins(%x : tensor<4x8xf32>) dy(%dy : tensor<4x8xf32>) outs dgamma(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %dg : tensor<4x8xf32>
}

// -----

func.func @residual_grad_without_dx(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %dr: tensor<4x8xf32>, %o: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{has a residual_grad operand but no dx destination to add it into}}
  %dg = norm.layer_norm_grad eps(1.0e-05) ins(%x : tensor<4x8xf32>) dy(%dy : tensor<4x8xf32>) residual_grad(%dr : tensor<4x8xf32>) outs dgamma(%o : tensor<8xf32>) -> tensor<8xf32>
  return %dg : tensor<8xf32>
}

// -----

func.func @residual_grad_type(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %dr: tensor<4x8xf16>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects the residual_grad element type 'f16' to match the dx element type 'f32'}}
  %dx = norm.layer_norm_grad eps(1.0e-05) ins(%x : tensor<4x8xf32>) dy(%dy : tensor<4x8xf32>) residual_grad(%dr : tensor<4x8xf16>) outs dx(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %dx : tensor<4x8xf32>
}

// -----

func.func @dx_i8(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %o: tensor<4x8xi8>) -> tensor<4x8xi8> {
  // expected-error @+1 {{expects a floating-point dx element type, got 'i8'}}
  %dx = norm.layer_norm_grad eps(1.0e-05) ins(%x : tensor<4x8xf32>) dy(%dy : tensor<4x8xf32>) outs dx(%o : tensor<4x8xi8>) -> tensor<4x8xi8>
  return %dx : tensor<4x8xi8>
}

// -----

func.func @dx_f8(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %o: tensor<4x8xf8E4M3FN>) -> tensor<4x8xf8E4M3FN> {
  // expected-error @+1 {{expects the dx element type to be a float of at least 16 bits, got 'f8E4M3FN'}}
  %dx = norm.layer_norm_grad eps(1.0e-05) ins(%x : tensor<4x8xf32>) dy(%dy : tensor<4x8xf32>) outs dx(%o : tensor<4x8xf8E4M3FN>) -> tensor<4x8xf8E4M3FN>
  return %dx : tensor<4x8xf8E4M3FN>
}

// -----

func.func @mixed(%x: tensor<4x8xf32>, %dy: memref<4x8xf32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects its shaped operands to be all tensors or all memrefs}}
  %dx = norm.layer_norm_grad eps(1.0e-05) ins(%x : tensor<4x8xf32>) dy(%dy : memref<4x8xf32>) outs dx(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %dx : tensor<4x8xf32>
}

// -----

func.func @axis(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{axis 2 is out of range for an input of rank 2}}
  %dx = norm.layer_norm_grad axis(2) eps(1.0e-05) ins(%x : tensor<4x8xf32>) dy(%dy : tensor<4x8xf32>) outs dx(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %dx : tensor<4x8xf32>
}

// -----

func.func @eps_zero(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects epsilon to be a positive finite number, got 0.0e+00}}
  %dx = norm.layer_norm_grad eps(0.0) ins(%x : tensor<4x8xf32>) dy(%dy : tensor<4x8xf32>) outs dx(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %dx : tensor<4x8xf32>
}

// -----

func.func @result_count(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %o: tensor<4x8xf32>, %g: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expected the number of tensor results (1) to be equal to the number of output tensors (2)}}
  %dx = norm.layer_norm_grad eps(1.0e-05) ins(%x : tensor<4x8xf32>) dy(%dy : tensor<4x8xf32>) outs dx(%o : tensor<4x8xf32>) dgamma(%g : tensor<8xf32>) -> tensor<4x8xf32>
  return %dx : tensor<4x8xf32>
}
