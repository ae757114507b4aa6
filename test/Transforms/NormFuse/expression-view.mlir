// RUN: norm-opt %s --norm-fuse --split-input-file | FileCheck %s

// --norm-fuse recognises its neighbours in the capture's expression view
// (lib/Transforms/FuseMatch.cpp, RowStatistics.cpp), so every spelling the
// view reads is fused alike: statistics computed with TOSA ops or through
// reshapes, weights broadcast by linalg.broadcast into any elementwise op.

// The rstd of the input, as TFLite -> TOSA computes it: reduce_sum with
// keepdim, a multiply by 1/N, rsqrt, then a reshape to the row shape.
// CHECK-LABEL: func @rms_rstd_from_tosa
// CHECK-SAME: (%[[X:.*]]: tensor<4x32xf32>)
// CHECK: %[[Y:.*]]:2 = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<4x32xf32>) outs(%{{.*}} : tensor<4x32xf32>) rstd(%{{.*}} : tensor<4xf32>)
// CHECK-NOT: tosa.rsqrt
// CHECK: return %[[Y]]#0, %[[Y]]#1
func.func @rms_rstd_from_tosa(%x: tensor<4x32xf32>) -> (tensor<4x32xf32>, tensor<4xf32>) {
  %o = tensor.empty() : tensor<4x32xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x32xf32>) outs(%o : tensor<4x32xf32>) -> tensor<4x32xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv = "tosa.const"() <{values = dense<3.125000e-02> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.000000e-06> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %sq = tosa.mul %x, %x, %shift : (tensor<4x32xf32>, tensor<4x32xf32>, tensor<1xi8>) -> tensor<4x32xf32>
  %ss = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<4x32xf32>) -> tensor<4x1xf32>
  %ms = tosa.mul %ss, %inv, %shift : (tensor<4x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<4x1xf32>
  %ve = tosa.add %ms, %eps : (tensor<4x1xf32>, tensor<1x1xf32>) -> tensor<4x1xf32>
  %r = tosa.rsqrt %ve : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %rows = tensor.collapse_shape %r [[0, 1]] : tensor<4x1xf32> into tensor<4xf32>
  return %y, %rows : tensor<4x32xf32>, tensor<4xf32>
}

// -----

// A weight broadcast by linalg.broadcast into a named linalg.mul: gamma.
// CHECK-LABEL: func @linalg_mul_of_broadcast_weight
// CHECK-SAME: (%[[X:.*]]: tensor<4x32xf32>, %[[W:.*]]: tensor<32xf32>)
// CHECK: %[[Y:.*]] = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<4x32xf32>) gamma(%[[W]] : tensor<32xf32>) outs(%{{.*}} : tensor<4x32xf32>)
// CHECK-NOT: linalg.mul
// CHECK: return %[[Y]]
func.func @linalg_mul_of_broadcast_weight(%x: tensor<4x32xf32>, %w: tensor<32xf32>) -> tensor<4x32xf32> {
  %o = tensor.empty() : tensor<4x32xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x32xf32>) outs(%o : tensor<4x32xf32>) -> tensor<4x32xf32>
  %e = tensor.empty() : tensor<4x32xf32>
  %wb = linalg.broadcast ins(%w : tensor<32xf32>) outs(%e : tensor<4x32xf32>) dimensions = [0]
  %e2 = tensor.empty() : tensor<4x32xf32>
  %z = linalg.mul ins(%y, %wb : tensor<4x32xf32>, tensor<4x32xf32>) outs(%e2 : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %z : tensor<4x32xf32>
}

// -----

// Near miss: a weight broadcast along the normalised dim instead (one value
// per row): not gamma.
// CHECK-LABEL: func @broadcast_along_the_row_is_not_gamma
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}}) outs
// CHECK: linalg.mul
func.func @broadcast_along_the_row_is_not_gamma(%x: tensor<4x32xf32>, %w: tensor<4xf32>) -> tensor<4x32xf32> {
  %o = tensor.empty() : tensor<4x32xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x32xf32>) outs(%o : tensor<4x32xf32>) -> tensor<4x32xf32>
  %e = tensor.empty() : tensor<4x32xf32>
  %wb = linalg.broadcast ins(%w : tensor<4xf32>) outs(%e : tensor<4x32xf32>) dimensions = [1]
  %e2 = tensor.empty() : tensor<4x32xf32>
  %z = linalg.mul ins(%y, %wb : tensor<4x32xf32>, tensor<4x32xf32>) outs(%e2 : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %z : tensor<4x32xf32>
}

// -----

// Near miss: a quantisation that multiplies by a reciprocal scale instead
// of dividing by the scale (q = y * (1/s) rounds differently): not fused.
#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @quantise_by_reciprocal
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}}) outs(%{{.*}} : tensor<4x32xf32>)
// CHECK: arith.fptosi
func.func @quantise_by_reciprocal(%x: tensor<4x32xf32>) -> tensor<4x32xi8> {
  %o = tensor.empty() : tensor<4x32xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x32xf32>) outs(%o : tensor<4x32xf32>) -> tensor<4x32xf32>
  %e = tensor.empty() : tensor<4x32xi8>
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<4x32xf32>) outs(%e : tensor<4x32xi8>) {
  ^bb0(%in: f32, %out: i8):
    %inv = arith.constant 50.0 : f32
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %s = arith.mulf %in, %inv : f32
    %r = math.roundeven %s : f32
    %c0 = arith.maximumf %r, %lo : f32
    %c1 = arith.minimumf %c0, %hi : f32
    %i = arith.fptosi %c1 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x32xi8>
  return %q : tensor<4x32xi8>
}

// -----

// Its positive twin: the same chain dividing by the scale (0.02) is fused.
#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @quantise_by_division
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}}) out_scale(%{{.*}} : f32) outs(%{{.*}} : tensor<4x32xi8>)
// CHECK-NOT: arith.fptosi
func.func @quantise_by_division(%x: tensor<4x32xf32>) -> tensor<4x32xi8> {
  %o = tensor.empty() : tensor<4x32xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x32xf32>) outs(%o : tensor<4x32xf32>) -> tensor<4x32xf32>
  %e = tensor.empty() : tensor<4x32xi8>
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<4x32xf32>) outs(%e : tensor<4x32xi8>) {
  ^bb0(%in: f32, %out: i8):
    %scale = arith.constant 0.02 : f32
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %s = arith.divf %in, %scale : f32
    %r = math.roundeven %s : f32
    %c0 = arith.maximumf %r, %lo : f32
    %c1 = arith.minimumf %c0, %hi : f32
    %i = arith.fptosi %c1 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x32xi8>
  return %q : tensor<4x32xi8>
}
