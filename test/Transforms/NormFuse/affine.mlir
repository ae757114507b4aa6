// RUN: norm-opt %s --norm-fuse --split-input-file | FileCheck %s

// --norm-fuse: a following multiply by a weight broadcast along the rows
// becomes gamma, a following add of one becomes beta; with a gamma / beta
// already there they compose.

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @gamma_generic
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[W:.*]]: tensor<64xf32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[Y:.*]] = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<4x64xf32>) gamma(%[[W]] : tensor<64xf32>)
// CHECK: return %[[Y]]
func.func @gamma_generic(%x: tensor<4x64xf32>, %w: tensor<64xf32>) -> tensor<4x64xf32> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %z = linalg.generic {indexing_maps = [#row, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%w, %y : tensor<64xf32>, tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %b, %a : f32
    linalg.yield %m : f32
  } -> tensor<4x64xf32>
  return %z : tensor<4x64xf32>
}

// -----

// arith.mulf on tensors with the weight broadcast by linalg.broadcast.
// CHECK-LABEL: func @gamma_arith_broadcast
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[W:.*]]: tensor<64xf32>)
// CHECK-NOT: arith.mulf
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<4x64xf32>) gamma(%[[W]] : tensor<64xf32>)
func.func @gamma_arith_broadcast(%x: tensor<4x64xf32>, %w: tensor<64xf32>) -> tensor<4x64xf32> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %wb = linalg.broadcast ins(%w : tensor<64xf32>) outs(%o : tensor<4x64xf32>) dimensions = [0]
  %z = arith.mulf %y, %wb : tensor<4x64xf32>
  return %z : tensor<4x64xf32>
}

// -----

// tosa.mul by a 1x64 weight: collapsed to the normalised shape.
// CHECK-LABEL: func @gamma_tosa_mul
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[W:.*]]: tensor<1x64xf32>)
// CHECK: %[[G:.*]] = tensor.collapse_shape %[[W]] {{\[}}[0, 1]] : tensor<1x64xf32> into tensor<64xf32>
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<4x64xf32>) gamma(%[[G]] : tensor<64xf32>)
// CHECK-NOT: tosa.mul
func.func @gamma_tosa_mul(%x: tensor<4x64xf32>, %w: tensor<1x64xf32>) -> tensor<4x64xf32> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %z = tosa.mul %y, %w, %shift : (tensor<4x64xf32>, tensor<1x64xf32>, tensor<1xi8>) -> tensor<4x64xf32>
  return %z : tensor<4x64xf32>
}

// -----

// With gamma and beta present: (y * g + b) * w = y * (g * w) + b * w.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @gamma_compose
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[G:.*]]: tensor<64xf32>, %[[B:.*]]: tensor<64xf32>, %[[W:.*]]: tensor<64xf32>)
// CHECK: %[[GW:.*]] = linalg.generic {{.*}} ins(%[[G]], %[[W]] : tensor<64xf32>, tensor<64xf32>)
// CHECK: arith.mulf
// CHECK: %[[BW:.*]] = linalg.generic {{.*}} ins(%[[B]], %[[W]] : tensor<64xf32>, tensor<64xf32>)
// CHECK: arith.mulf
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<4x64xf32>) gamma(%[[GW]] : tensor<64xf32>) beta(%[[BW]] : tensor<64xf32>)
func.func @gamma_compose(%x: tensor<4x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>, %w: tensor<64xf32>) -> tensor<4x64xf32> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x64xf32>) gamma(%g : tensor<64xf32>) beta(%b : tensor<64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %z = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %w : tensor<4x64xf32>, tensor<64xf32>) outs(%o : tensor<4x64xf32>) {
  ^bb0(%a: f32, %c: f32, %d: f32):
    %m = arith.mulf %a, %c : f32
    linalg.yield %m : f32
  } -> tensor<4x64xf32>
  return %z : tensor<4x64xf32>
}

// -----

// A multiply then an add: gamma, then beta.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @gamma_then_beta
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xbf16>, %[[W:.*]]: tensor<64xbf16>, %[[C:.*]]: tensor<64xbf16>)
// CHECK-NOT: linalg.generic
// CHECK: %[[Y:.*]] = norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<4x64xbf16>) gamma(%[[W]] : tensor<64xbf16>) beta(%[[C]] : tensor<64xbf16>)
// CHECK: return %[[Y]]
func.func @gamma_then_beta(%x: tensor<4x64xbf16>, %w: tensor<64xbf16>, %c: tensor<64xbf16>) -> tensor<4x64xbf16> {
  %o = tensor.empty() : tensor<4x64xbf16>
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x64xbf16>) outs(%o : tensor<4x64xbf16>) -> tensor<4x64xbf16>
  %z = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %w : tensor<4x64xbf16>, tensor<64xbf16>) outs(%o : tensor<4x64xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %d: bf16):
    %m = arith.mulf %a, %b : bf16
    linalg.yield %m : bf16
  } -> tensor<4x64xbf16>
  %s = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%z, %c : tensor<4x64xbf16>, tensor<64xbf16>) outs(%o : tensor<4x64xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %d: bf16):
    %m = arith.addf %a, %b : bf16
    linalg.yield %m : bf16
  } -> tensor<4x64xbf16>
  return %s : tensor<4x64xbf16>
}

// -----

// An add onto an existing beta composes: beta(b + w).
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @beta_compose
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[B:.*]]: tensor<64xf32>, %[[W:.*]]: tensor<64xf32>)
// CHECK: %[[BW:.*]] = linalg.generic {{.*}} ins(%[[B]], %[[W]] : tensor<64xf32>, tensor<64xf32>)
// CHECK: arith.addf
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<4x64xf32>) beta(%[[BW]] : tensor<64xf32>)
func.func @beta_compose(%x: tensor<4x64xf32>, %b: tensor<64xf32>, %w: tensor<64xf32>) -> tensor<4x64xf32> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x64xf32>) beta(%b : tensor<64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %z = linalg.generic {indexing_maps = [#row, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%w, %y : tensor<64xf32>, tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) {
  ^bb0(%a: f32, %c: f32, %d: f32):
    %m = arith.addf %a, %c : f32
    linalg.yield %m : f32
  } -> tensor<4x64xf32>
  return %z : tensor<4x64xf32>
}

// -----

// Several normalised dims: the weight is indexed by both.
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func @gamma_rank3
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x5xf32>, %[[W:.*]]: tensor<3x5xf32>)
// CHECK: norm.layer_norm axis(1) eps(1.0e-05) ins(%[[X]] : tensor<2x3x5xf32>) gamma(%[[W]] : tensor<3x5xf32>)
func.func @gamma_rank3(%x: tensor<2x3x5xf32>, %w: tensor<3x5xf32>) -> tensor<2x3x5xf32> {
  %o = tensor.empty() : tensor<2x3x5xf32>
  %y = norm.layer_norm axis(1) eps(1.0e-5) ins(%x : tensor<2x3x5xf32>) outs(%o : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %z = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%y, %w : tensor<2x3x5xf32>, tensor<3x5xf32>) outs(%o : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %c: f32, %d: f32):
    %m = arith.mulf %a, %c : f32
    linalg.yield %m : f32
  } -> tensor<2x3x5xf32>
  return %z : tensor<2x3x5xf32>
}

// -----

// Refused: a per-row (column-broadcast) multiply is not a gamma.
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @per_row_multiply
// CHECK: norm.rms_norm
// CHECK-NOT: gamma
// CHECK: linalg.generic
func.func @per_row_multiply(%x: tensor<4x64xf32>, %w: tensor<4xf32>) -> tensor<4x64xf32> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %z = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %w : tensor<4x64xf32>, tensor<4xf32>) outs(%o : tensor<4x64xf32>) {
  ^bb0(%a: f32, %c: f32, %d: f32):
    %m = arith.mulf %a, %c : f32
    linalg.yield %m : f32
  } -> tensor<4x64xf32>
  return %z : tensor<4x64xf32>
}

// -----

// Refused: an elementwise product with a full tensor.
// CHECK-LABEL: func @full_multiply
// CHECK: norm.rms_norm
// CHECK-NOT: gamma
// CHECK: arith.mulf
func.func @full_multiply(%x: tensor<4x64xf32>, %w: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %z = arith.mulf %y, %w : tensor<4x64xf32>
  return %z : tensor<4x64xf32>
}

// -----

// Refused: normalising dims 1 and 2 but broadcasting the weight along dim 1.
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#last = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func @wrong_broadcast_rank3
// CHECK: norm.layer_norm
// CHECK-NOT: gamma
// CHECK: linalg.generic
func.func @wrong_broadcast_rank3(%x: tensor<2x3x5xf32>, %w: tensor<5xf32>) -> tensor<2x3x5xf32> {
  %o = tensor.empty() : tensor<2x3x5xf32>
  %y = norm.layer_norm axis(1) eps(1.0e-5) ins(%x : tensor<2x3x5xf32>) outs(%o : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %z = linalg.generic {indexing_maps = [#id, #last, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%y, %w : tensor<2x3x5xf32>, tensor<5xf32>) outs(%o : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %c: f32, %d: f32):
    %m = arith.mulf %a, %c : f32
    linalg.yield %m : f32
  } -> tensor<2x3x5xf32>
  return %z : tensor<2x3x5xf32>
}

// -----

// Refused: a bias after rms_norm (it has no shift).
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @rms_norm_bias
// CHECK: norm.rms_norm
// CHECK: linalg.generic
func.func @rms_norm_bias(%x: tensor<4x64xf32>, %w: tensor<64xf32>) -> tensor<4x64xf32> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %z = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %w : tensor<4x64xf32>, tensor<64xf32>) outs(%o : tensor<4x64xf32>) {
  ^bb0(%a: f32, %c: f32, %d: f32):
    %m = arith.addf %a, %c : f32
    linalg.yield %m : f32
  } -> tensor<4x64xf32>
  return %z : tensor<4x64xf32>
}

// -----

// Refused: the unscaled output is also used.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @output_used_twice
// CHECK: norm.rms_norm
// CHECK-NOT: gamma
// CHECK: linalg.generic
func.func @output_used_twice(%x: tensor<4x64xf32>, %w: tensor<64xf32>) -> (tensor<4x64xf32>, tensor<4x64xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %z = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %w : tensor<4x64xf32>, tensor<64xf32>) outs(%o : tensor<4x64xf32>) {
  ^bb0(%a: f32, %c: f32, %d: f32):
    %m = arith.mulf %a, %c : f32
    linalg.yield %m : f32
  } -> tensor<4x64xf32>
  return %z, %y : tensor<4x64xf32>, tensor<4x64xf32>
}

// -----

// Refused: the weight is computed after the norm.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @weight_after_norm
// CHECK: norm.rms_norm
// CHECK-NOT: gamma
// CHECK: linalg.generic
func.func @weight_after_norm(%x: tensor<4x64xf32>, %w: tensor<64xf32>) -> tensor<4x64xf32> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %w2 = arith.mulf %w, %w : tensor<64xf32>
  %z = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %w2 : tensor<4x64xf32>, tensor<64xf32>) outs(%o : tensor<4x64xf32>) {
  ^bb0(%a: f32, %c: f32, %d: f32):
    %m = arith.mulf %a, %c : f32
    linalg.yield %m : f32
  } -> tensor<4x64xf32>
  return %z : tensor<4x64xf32>
}

// -----

// Refused: composing would mix an f16 gamma with an f32 weight.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @mixed_gamma_types
// CHECK: norm.rms_norm {{.*}} gamma(%{{.*}} : tensor<64xf16>)
// CHECK: linalg.generic
func.func @mixed_gamma_types(%x: tensor<4x64xf32>, %g: tensor<64xf16>, %w: tensor<64xf32>) -> tensor<4x64xf32> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) gamma(%g : tensor<64xf16>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %z = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %w : tensor<4x64xf32>, tensor<64xf32>) outs(%o : tensor<4x64xf32>) {
  ^bb0(%a: f32, %c: f32, %d: f32):
    %m = arith.mulf %a, %c : f32
    linalg.yield %m : f32
  } -> tensor<4x64xf32>
  return %z : tensor<4x64xf32>
}
