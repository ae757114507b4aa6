// Dynamic quantisation's verifier: each error at the op, naming what is
// wrong.
// RUN: norm-opt %s -split-input-file -verify-diagnostics

func.func @group_does_not_divide(%x: tensor<4x100xf32>, %q: tensor<4x100xi8>, %s: tensor<4x3xf32>) {
  // expected-error @+1 {{expects the group_size 32 to divide the row length 100}}
  %y:2 = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x100xf32>) outs(%q : tensor<4x100xi8>) scales(%s : tensor<4x3xf32>) group_size(32) -> tensor<4x100xi8>, tensor<4x3xf32>
  return
}

// -----

func.func @not_quantised(%x: tensor<4x128xf32>, %q: tensor<4x128xi16>, %s: tensor<4xf32>) {
  // expected-error @+1 {{expects the output element type to be a float of at least 16 bits, or i8 or f8E4M3FN with an out_scale or scales, got 'i16'}}
  %y:2 = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x128xf32>) outs(%q : tensor<4x128xi16>) scales(%s : tensor<4xf32>) -> tensor<4x128xi16>, tensor<4xf32>
  return
}

// -----

func.func @fp8_e5m2(%x: tensor<4x128xf32>, %q: tensor<4x128xf8E5M2>, %s: tensor<4xf32>) {
  // expected-error @+1 {{expects the output element type to be a float of at least 16 bits, or i8 or f8E4M3FN with an out_scale or scales, got 'f8E5M2'}}
  %y:2 = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x128xf32>) outs(%q : tensor<4x128xf8E5M2>) scales(%s : tensor<4xf32>) -> tensor<4x128xf8E5M2>, tensor<4xf32>
  return
}

// -----

func.func @float_output(%x: tensor<4x128xf32>, %q: tensor<4x128xbf16>, %s: tensor<4xf32>) {
  // expected-error @+1 {{has a scales destination but its output element type 'bf16' is not quantised (i8 or f8E4M3FN)}}
  %y:2 = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x128xf32>) outs(%q : tensor<4x128xbf16>) scales(%s : tensor<4xf32>) -> tensor<4x128xbf16>, tensor<4xf32>
  return
}

// -----

func.func @per_token_shape(%x: tensor<4x128xf32>, %q: tensor<4x128xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{expects the scales shape 4x1 to match the row shape 4}}
  %y:2 = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x128xf32>) outs(%q : tensor<4x128xi8>) scales(%s : tensor<4x1xf32>) -> tensor<4x128xi8>, tensor<4x1xf32>
  return
}

// -----

func.func @per_group_shape(%x: tensor<4x128xf32>, %q: tensor<4x128xi8>, %s: tensor<4x4xf32>) {
  // expected-error @+1 {{expects the scales shape 4x4 to match the rows x groups shape 4x2}}
  %y:2 = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x128xf32>) outs(%q : tensor<4x128xi8>) scales(%s : tensor<4x4xf32>) group_size(64) -> tensor<4x128xi8>, tensor<4x4xf32>
  return
}

// -----

func.func @per_group_two_dims(%x: tensor<4x2x64xf32>, %q: tensor<4x2x64xi8>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{expects one normalised dimension for per-group scales, got 2}}
  %y:2 = norm.layer_norm axis(1) eps(1.0e-5) ins(%x : tensor<4x2x64xf32>) outs(%q : tensor<4x2x64xi8>) scales(%s : tensor<4x2xf32>) group_size(64) -> tensor<4x2x64xi8>, tensor<4x2xf32>
  return
}

// -----

func.func @f16_scales(%x: tensor<4x128xf32>, %q: tensor<4x128xi8>, %s: tensor<4xf16>) {
  // expected-error @+1 {{expects f32 scales, got 'f16'}}
  %y:2 = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x128xf32>) outs(%q : tensor<4x128xi8>) scales(%s : tensor<4xf16>) -> tensor<4x128xi8>, tensor<4xf16>
  return
}

// -----

func.func @both_scales(%x: tensor<4x128xf32>, %q: tensor<4x128xi8>, %s: tensor<4xf32>, %t: f32) {
  // expected-error @+1 {{expects either an out_scale operand (a static scale) or a scales destination (dynamic scales), not both}}
  %y:2 = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x128xf32>) out_scale(%t : f32) outs(%q : tensor<4x128xi8>) scales(%s : tensor<4xf32>) -> tensor<4x128xi8>, tensor<4xf32>
  return
}

// -----

func.func @group_without_scales(%x: tensor<4x128xf32>, %q: tensor<4x128xi8>, %t: f32) {
  // expected-error @+1 {{has a group_size but no scales destination}}
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x128xf32>) out_scale(%t : f32) outs(%q : tensor<4x128xi8>) group_size(64) -> tensor<4x128xi8>
  return
}

// -----

func.func @bound_without_scales(%x: tensor<4x128xf32>, %q: tensor<4x128xi8>, %t: f32) {
  // expected-error @+1 {{has a scale_ub operand but no scales destination}}
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x128xf32>) out_scale(%t : f32) scale_ub(%t : f32) outs(%q : tensor<4x128xi8>) -> tensor<4x128xi8>
  return
}

// -----

func.func @negative_floor(%x: tensor<4x128xf32>, %q: tensor<4x128xi8>, %s: tensor<4xf32>) {
  // expected-error @+1 {{expects min_scale to be a finite number >= 0, got -1.0e-03}}
  %y:2 = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x128xf32>) outs(%q : tensor<4x128xi8>) scales(%s : tensor<4xf32>) min_scale(-1.0e-3) -> tensor<4x128xi8>, tensor<4xf32>
  return
}

// -----

func.func @zero_group(%x: tensor<4x128xf32>, %q: tensor<4x128xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{expects a positive group_size, got 0}}
  %y:2 = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x128xf32>) outs(%q : tensor<4x128xi8>) scales(%s : tensor<4x1xf32>) group_size(0) -> tensor<4x128xi8>, tensor<4x1xf32>
  return
}
