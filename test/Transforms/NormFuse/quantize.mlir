// RUN: norm-opt %s --norm-fuse --split-input-file | FileCheck %s

// --norm-fuse: a per-tensor scale, round-half-to-even, saturate, convert
// chain after a norm becomes a quantised output with out_scale.

#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @i8_round_then_clamp
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[G:.*]]: tensor<64xf32>, %[[S:.*]]: f32)
// CHECK: %[[O:.*]] = tensor.empty() : tensor<4x64xi8>
// CHECK: %[[Q:.*]] = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<4x64xf32>) gamma(%[[G]] : tensor<64xf32>) out_scale(%[[S]] : f32) outs(%[[O]] : tensor<4x64xi8>) -> tensor<4x64xi8>
// CHECK-NOT: linalg.generic
// CHECK: return %[[Q]]
func.func @i8_round_then_clamp(%x: tensor<4x64xf32>, %g: tensor<64xf32>, %s: f32) -> tensor<4x64xi8> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) gamma(%g : tensor<64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %e = tensor.empty() : tensor<4x64xi8>
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<4x64xf32>) outs(%e : tensor<4x64xi8>) {
  ^bb0(%a: f32, %c: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %d = arith.divf %a, %s : f32
    %r = math.roundeven %d : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x64xi8>
  return %q : tensor<4x64xi8>
}

// -----

// Clamp (min first) then round; the scale is a 0-d tensor input.
#id = affine_map<(d0, d1) -> (d0, d1)>
#scalar = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func @i8_clamp_then_round_tensor_scale
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[ST:.*]]: tensor<f32>)
// CHECK: %[[S:.*]] = tensor.extract %[[ST]][] : tensor<f32>
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<4x64xf32>) out_scale(%[[S]] : f32) outs(%{{.*}} : tensor<4x64xi8>)
// CHECK-NOT: linalg.generic
func.func @i8_clamp_then_round_tensor_scale(%x: tensor<4x64xf32>, %st: tensor<f32>) -> tensor<4x64xi8> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %e = tensor.empty() : tensor<4x64xi8>
  %q = linalg.generic {indexing_maps = [#scalar, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%st, %y : tensor<f32>, tensor<4x64xf32>) outs(%e : tensor<4x64xi8>) {
  ^bb0(%s: f32, %a: f32, %c: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %d = arith.divf %a, %s : f32
    %c1 = arith.minimumf %hi, %d : f32
    %c2 = arith.maximumf %lo, %c1 : f32
    %r = math.roundeven %c2 : f32
    %i = arith.fptosi %r : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x64xi8>
  return %q : tensor<4x64xi8>
}

// -----

// f8E4M3FN with a constant scale from the body: cloned next to the op.
#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @f8_constant_scale
// CHECK: %[[S:.*]] = arith.constant 1.250000e-01 : f32
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<4x64xf32>) out_scale(%[[S]] : f32) outs(%{{.*}} : tensor<4x64xf8E4M3FN>) -> tensor<4x64xf8E4M3FN>
// CHECK-NOT: linalg.generic
func.func @f8_constant_scale(%x: tensor<4x64xf32>) -> tensor<4x64xf8E4M3FN> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %e = tensor.empty() : tensor<4x64xf8E4M3FN>
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<4x64xf32>) outs(%e : tensor<4x64xf8E4M3FN>) {
  ^bb0(%a: f32, %c: f8E4M3FN):
    %s = arith.constant 0.125 : f32
    %lo = arith.constant -448.0 : f32
    %hi = arith.constant 448.0 : f32
    %d = arith.divf %a, %s : f32
    %c1 = arith.maximumf %d, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %t = arith.truncf %c2 : f32 to f8E4M3FN
    linalg.yield %t : f8E4M3FN
  } -> tensor<4x64xf8E4M3FN>
  return %q : tensor<4x64xf8E4M3FN>
}

// -----

// A bf16 output extended to f32 and quantised: the fused op divides the
// unrounded value (within one quantisation step).
#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @i8_from_bf16
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xbf16>, %[[S:.*]]: f32)
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<4x64xbf16>) out_scale(%[[S]] : f32) outs(%{{.*}} : tensor<4x64xi8>)
func.func @i8_from_bf16(%x: tensor<4x64xbf16>, %s: f32) -> tensor<4x64xi8> {
  %o = tensor.empty() : tensor<4x64xbf16>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xbf16>) outs(%o : tensor<4x64xbf16>) -> tensor<4x64xbf16>
  %e = tensor.empty() : tensor<4x64xi8>
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<4x64xbf16>) outs(%e : tensor<4x64xi8>) {
  ^bb0(%a: bf16, %c: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %w = arith.extf %a : bf16 to f32
    %d = arith.divf %w, %s : f32
    %r = math.roundeven %d : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x64xi8>
  return %q : tensor<4x64xi8>
}

// -----

// Refused: math.round rounds half away from zero.
#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @round_half_away
// CHECK: norm.rms_norm {{.*}} outs(%{{.*}} : tensor<4x64xf32>)
// CHECK: linalg.generic
func.func @round_half_away(%x: tensor<4x64xf32>, %s: f32) -> tensor<4x64xi8> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %e = tensor.empty() : tensor<4x64xi8>
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<4x64xf32>) outs(%e : tensor<4x64xi8>) {
  ^bb0(%a: f32, %c: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %d = arith.divf %a, %s : f32
    %r = math.round %d : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x64xi8>
  return %q : tensor<4x64xi8>
}

// -----

// Refused: a symmetric [-127, 127] range.
#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @symmetric_range
// CHECK: norm.rms_norm {{.*}} outs(%{{.*}} : tensor<4x64xf32>)
// CHECK: linalg.generic
func.func @symmetric_range(%x: tensor<4x64xf32>, %s: f32) -> tensor<4x64xi8> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %e = tensor.empty() : tensor<4x64xi8>
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<4x64xf32>) outs(%e : tensor<4x64xi8>) {
  ^bb0(%a: f32, %c: i8):
    %lo = arith.constant -127.0 : f32
    %hi = arith.constant 127.0 : f32
    %d = arith.divf %a, %s : f32
    %r = math.roundeven %d : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x64xi8>
  return %q : tensor<4x64xi8>
}

// -----

// Refused: a per-row (per-token) scale.
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @per_row_scale
// CHECK: norm.rms_norm {{.*}} outs(%{{.*}} : tensor<4x64xf32>)
// CHECK: linalg.generic
func.func @per_row_scale(%x: tensor<4x64xf32>, %s: tensor<4xf32>) -> tensor<4x64xi8> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %e = tensor.empty() : tensor<4x64xi8>
  %q = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %s : tensor<4x64xf32>, tensor<4xf32>) outs(%e : tensor<4x64xi8>) {
  ^bb0(%a: f32, %sc: f32, %c: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %d = arith.divf %a, %sc : f32
    %r = math.roundeven %d : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x64xi8>
  return %q : tensor<4x64xi8>
}

// -----

// Refused: maxnumf/minnumf send NaN to a bound, where the op gives 0.
#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @nan_ignoring_clamp
// CHECK: norm.rms_norm {{.*}} outs(%{{.*}} : tensor<4x64xf32>)
// CHECK: linalg.generic
func.func @nan_ignoring_clamp(%x: tensor<4x64xf32>, %s: f32) -> tensor<4x64xi8> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %e = tensor.empty() : tensor<4x64xi8>
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<4x64xf32>) outs(%e : tensor<4x64xi8>) {
  ^bb0(%a: f32, %c: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %d = arith.divf %a, %s : f32
    %r = math.roundeven %d : f32
    %c1 = arith.maxnumf %r, %lo : f32
    %c2 = arith.minnumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x64xi8>
  return %q : tensor<4x64xi8>
}

// -----

// Refused: multiplying by a reciprocal scale is not y / s.
#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @reciprocal_scale
// CHECK: norm.rms_norm {{.*}} outs(%{{.*}} : tensor<4x64xf32>)
// CHECK: linalg.generic
func.func @reciprocal_scale(%x: tensor<4x64xf32>, %inv: f32) -> tensor<4x64xf8E4M3FN> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %e = tensor.empty() : tensor<4x64xf8E4M3FN>
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<4x64xf32>) outs(%e : tensor<4x64xf8E4M3FN>) {
  ^bb0(%a: f32, %c: f8E4M3FN):
    %lo = arith.constant -448.0 : f32
    %hi = arith.constant 448.0 : f32
    %d = arith.mulf %a, %inv : f32
    %c1 = arith.maximumf %d, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %t = arith.truncf %c2 : f32 to f8E4M3FN
    linalg.yield %t : f8E4M3FN
  } -> tensor<4x64xf8E4M3FN>
  return %q : tensor<4x64xf8E4M3FN>
}

// -----

// Refused: f8E4M3FN without the saturating clamp.
#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @f8_unclamped
// CHECK: norm.rms_norm {{.*}} outs(%{{.*}} : tensor<4x64xf32>)
// CHECK: linalg.generic
func.func @f8_unclamped(%x: tensor<4x64xf32>, %s: f32) -> tensor<4x64xf8E4M3FN> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %e = tensor.empty() : tensor<4x64xf8E4M3FN>
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<4x64xf32>) outs(%e : tensor<4x64xf8E4M3FN>) {
  ^bb0(%a: f32, %c: f8E4M3FN):
    %d = arith.divf %a, %s : f32
    %t = arith.truncf %d : f32 to f8E4M3FN
    linalg.yield %t : f8E4M3FN
  } -> tensor<4x64xf8E4M3FN>
  return %q : tensor<4x64xf8E4M3FN>
}

// -----

// Refused: the body also reads another tensor.
#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @reads_other_input
// CHECK: norm.rms_norm {{.*}} outs(%{{.*}} : tensor<4x64xf32>)
// CHECK: linalg.generic
func.func @reads_other_input(%x: tensor<4x64xf32>, %z: tensor<4x64xf32>) -> tensor<4x64xi8> {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %e = tensor.empty() : tensor<4x64xi8>
  %q = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %z : tensor<4x64xf32>, tensor<4x64xf32>) outs(%e : tensor<4x64xi8>) {
  ^bb0(%a: f32, %b: f32, %c: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %d = arith.divf %a, %b : f32
    %r = math.roundeven %d : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x64xi8>
  return %q : tensor<4x64xi8>
}
