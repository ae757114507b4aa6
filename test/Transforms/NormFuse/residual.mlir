// RUN: norm-opt %s --norm-fuse --split-input-file | FileCheck %s

// --norm-fuse: an elementwise add producing a norm's input becomes the
// residual operand; other users of the sum read the op's residual sum.

// The sum is also returned: a residual_out destination is added for it.
// CHECK-LABEL: func @arith_add_sum_reused
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[R:.*]]: tensor<4x64xf32>)
// CHECK-NOT: arith.addf
// CHECK: %[[Y:.*]]:2 = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<4x64xf32>) residual(%[[R]] : tensor<4x64xf32>) outs(%{{.*}} : tensor<4x64xf32>) residual_out(%{{.*}} : tensor<4x64xf32>)
// CHECK: return %[[Y]]#0, %[[Y]]#1
func.func @arith_add_sum_reused(%x: tensor<4x64xf32>, %r: tensor<4x64xf32>) -> (tensor<4x64xf32>, tensor<4x64xf32>) {
  %h = arith.addf %x, %r : tensor<4x64xf32>
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%h : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  return %y, %h : tensor<4x64xf32>, tensor<4x64xf32>
}

// -----

// A named linalg.add whose sum has no other user: no residual_out.
// CHECK-LABEL: func @linalg_add
// CHECK-SAME: (%[[X:.*]]: tensor<8x32xf16>, %[[R:.*]]: tensor<8x32xf16>, %[[G:.*]]: tensor<32xf16>, %[[B:.*]]: tensor<32xf16>)
// CHECK-NOT: linalg.add
// CHECK: %[[Y:.*]] = norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<8x32xf16>) residual(%[[R]] : tensor<8x32xf16>) gamma(%[[G]] : tensor<32xf16>) beta(%[[B]] : tensor<32xf16>) outs(%{{.*}} : tensor<8x32xf16>) -> tensor<8x32xf16>
// CHECK: return %[[Y]]
func.func @linalg_add(%x: tensor<8x32xf16>, %r: tensor<8x32xf16>, %g: tensor<32xf16>, %b: tensor<32xf16>) -> tensor<8x32xf16> {
  %e = tensor.empty() : tensor<8x32xf16>
  %h = linalg.add ins(%x, %r : tensor<8x32xf16>, tensor<8x32xf16>) outs(%e : tensor<8x32xf16>) -> tensor<8x32xf16>
  %o = tensor.empty() : tensor<8x32xf16>
  %y = norm.layer_norm eps(1.0e-5) ins(%h : tensor<8x32xf16>) gamma(%g : tensor<32xf16>) beta(%b : tensor<32xf16>) outs(%o : tensor<8x32xf16>) -> tensor<8x32xf16>
  return %y : tensor<8x32xf16>
}

// -----

// A linalg.generic add in bf16, operands in either order, with the sum
// used by a later op.
#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @generic_add_bf16
// CHECK-SAME: (%[[X:.*]]: tensor<2x48xbf16>, %[[R:.*]]: tensor<2x48xbf16>)
// CHECK: %[[Y:.*]]:2 = norm.rms_norm {{.*}} ins(%[[R]] : tensor<2x48xbf16>) residual(%[[X]] : tensor<2x48xbf16>)
// CHECK: %[[NEXT:.*]] = arith.mulf %[[Y]]#1, %[[Y]]#0
// CHECK: return %[[NEXT]]
func.func @generic_add_bf16(%x: tensor<2x48xbf16>, %r: tensor<2x48xbf16>) -> tensor<2x48xbf16> {
  %e = tensor.empty() : tensor<2x48xbf16>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%r, %x : tensor<2x48xbf16>, tensor<2x48xbf16>) outs(%e : tensor<2x48xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %c: bf16):
    %s = arith.addf %b, %a : bf16
    linalg.yield %s : bf16
  } -> tensor<2x48xbf16>
  %y = norm.rms_norm eps(1.0e-6) ins(%h : tensor<2x48xbf16>) outs(%e : tensor<2x48xbf16>) -> tensor<2x48xbf16>
  %next = arith.mulf %h, %y : tensor<2x48xbf16>
  return %next : tensor<2x48xbf16>
}

// -----

// tosa.add of equal shapes.
// CHECK-LABEL: func @tosa_add
// CHECK-SAME: (%[[X:.*]]: tensor<3x16xf32>, %[[R:.*]]: tensor<3x16xf32>)
// CHECK-NOT: tosa.add
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<3x16xf32>) residual(%[[R]] : tensor<3x16xf32>)
func.func @tosa_add(%x: tensor<3x16xf32>, %r: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %h = tosa.add %x, %r : (tensor<3x16xf32>, tensor<3x16xf32>) -> tensor<3x16xf32>
  %o = tensor.empty() : tensor<3x16xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%h : tensor<3x16xf32>) outs(%o : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

// A user of the sum comes before the norm: the fused op goes right after
// the add, where its operands are all available.
// CHECK-LABEL: func @user_before_norm
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[R:.*]]: tensor<4x64xf32>, %[[G:.*]]: tensor<64xf32>)
// CHECK: %[[Y:.*]]:2 = norm.rms_norm {{.*}} ins(%[[X]] : tensor<4x64xf32>) residual(%[[R]] : tensor<4x64xf32>) gamma(%[[G]] : tensor<64xf32>)
// CHECK: %[[EARLY:.*]] = arith.mulf %[[Y]]#1, %[[Y]]#1
// CHECK: return %[[Y]]#0, %[[EARLY]]
func.func @user_before_norm(%x: tensor<4x64xf32>, %r: tensor<4x64xf32>, %g: tensor<64xf32>) -> (tensor<4x64xf32>, tensor<4x64xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %h = arith.addf %x, %r : tensor<4x64xf32>
  %early = arith.mulf %h, %h : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%h : tensor<4x64xf32>) gamma(%g : tensor<64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  return %y, %early : tensor<4x64xf32>, tensor<4x64xf32>
}

// -----

// Refused: the add broadcasts a bias along the rows (x + b is not a residual).
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @bias_add_not_residual
// CHECK: linalg.generic
// CHECK: norm.rms_norm
// CHECK-NOT: residual
func.func @bias_add_not_residual(%x: tensor<4x64xf32>, %b: tensor<64xf32>) -> tensor<4x64xf32> {
  %e = tensor.empty() : tensor<4x64xf32>
  %h = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %b : tensor<4x64xf32>, tensor<64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%a: f32, %c: f32, %d: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%h : tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

// Refused: tosa.add broadcasting a 1x64 operand.
// CHECK-LABEL: func @tosa_broadcast_add
// CHECK: tosa.add
// CHECK: norm.layer_norm
// CHECK-NOT: residual
func.func @tosa_broadcast_add(%x: tensor<3x64xf32>, %b: tensor<1x64xf32>) -> tensor<3x64xf32> {
  %h = tosa.add %x, %b : (tensor<3x64xf32>, tensor<1x64xf32>) -> tensor<3x64xf32>
  %o = tensor.empty() : tensor<3x64xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%h : tensor<3x64xf32>) outs(%o : tensor<3x64xf32>) -> tensor<3x64xf32>
  return %y : tensor<3x64xf32>
}

// -----

// Refused: the norm already has a residual.
// CHECK-LABEL: func @already_residual
// CHECK: arith.addf
// CHECK: norm.rms_norm {{.*}} residual(
func.func @already_residual(%x: tensor<4x64xf32>, %r: tensor<4x64xf32>, %s: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %h = arith.addf %x, %r : tensor<4x64xf32>
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%h : tensor<4x64xf32>) residual(%s : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

// Refused: a user of the sum comes first and the gamma is only computed
// after the add, so no single point works.
// CHECK-LABEL: func @no_insertion_point
// CHECK: %[[H:.*]] = arith.addf
// CHECK: norm.rms_norm {{.*}} ins(%[[H]]
func.func @no_insertion_point(%x: tensor<4x64xf32>, %r: tensor<4x64xf32>, %g: tensor<64xf32>) -> (tensor<4x64xf32>, tensor<4x64xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %h = arith.addf %x, %r : tensor<4x64xf32>
  %early = arith.mulf %h, %h : tensor<4x64xf32>
  %g2 = arith.mulf %g, %g : tensor<64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%h : tensor<4x64xf32>) gamma(%g2 : tensor<64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  return %y, %early : tensor<4x64xf32>, tensor<4x64xf32>
}

// -----

// torch-mlir's spelling with a batch of 1: both addends read through
// (0, d1, d2) (a unit dim has one index, so this is element for element).
#bc = affine_map<(d0, d1, d2) -> (0, d1, d2)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func @torch_mlir_unit_dim_maps
// CHECK-SAME: (%[[X:.*]]: tensor<1x5x32xf32>, %[[R:.*]]: tensor<1x5x32xf32>)
// CHECK: %[[Y:.*]]:2 = norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<1x5x32xf32>) residual(%[[R]] : tensor<1x5x32xf32>)
// CHECK: return %[[Y]]#0, %[[Y]]#1
func.func @torch_mlir_unit_dim_maps(%x: tensor<1x5x32xf32>, %r: tensor<1x5x32xf32>) -> (tensor<1x5x32xf32>, tensor<1x5x32xf32>) {
  %e = tensor.empty() : tensor<1x5x32xf32>
  %h = linalg.generic {indexing_maps = [#bc, #bc, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %r : tensor<1x5x32xf32>, tensor<1x5x32xf32>) outs(%e : tensor<1x5x32xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<1x5x32xf32>
  %o = tensor.empty() : tensor<1x5x32xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%h : tensor<1x5x32xf32>) outs(%o : tensor<1x5x32xf32>) -> tensor<1x5x32xf32>
  return %y, %h : tensor<1x5x32xf32>, tensor<1x5x32xf32>
}

// -----

// Near miss: a real broadcast along a non-unit dim (the residual has one
// row for every batch entry): not a residual.
#bc = affine_map<(d0, d1, d2) -> (0, d1, d2)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func @broadcast_residual_is_not_fused
// CHECK: linalg.generic
// CHECK: norm.layer_norm eps(1.0e-05) ins(%{{.*}} : tensor<3x5x32xf32>) outs
func.func @broadcast_residual_is_not_fused(%x: tensor<3x5x32xf32>, %r: tensor<1x5x32xf32>) -> tensor<3x5x32xf32> {
  %e = tensor.empty() : tensor<3x5x32xf32>
  %h = linalg.generic {indexing_maps = [#id3, #bc, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %r : tensor<3x5x32xf32>, tensor<1x5x32xf32>) outs(%e : tensor<3x5x32xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<3x5x32xf32>
  %o = tensor.empty() : tensor<3x5x32xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%h : tensor<3x5x32xf32>) outs(%o : tensor<3x5x32xf32>) -> tensor<3x5x32xf32>
  return %y : tensor<3x5x32xf32>
}
