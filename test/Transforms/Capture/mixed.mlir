// RUN: norm-opt %s --norm-capture -split-input-file | FileCheck %s
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s | FileCheck %s --check-prefix=EQUIV %}

// Chains that mix spellings: what a partially legalised module holds.

// EQUIV-NOT: FAIL
// EQUIV: {{^}}3 passed, 0 failed

#id = affine_map<(d0, d1) -> (d0, d1)>

// A TOSA chain with a linalg.generic square in the middle.
// CHECK-LABEL: func @tosa_with_linalg_square
// CHECK-SAME: (%[[X:.*]]: tensor<2x32xf32>, %[[G:.*]]: tensor<1x32xf32>, %[[B:.*]]: tensor<1x32xf32>)
// CHECK-NOT: tosa.reduce_sum
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<2x32xf32>) gamma(%{{.*}} : tensor<32xf32>) beta(%{{.*}} : tensor<32xf32>)
// CHECK-NOT: linalg.generic
func.func @tosa_with_linalg_square(%x: tensor<2x32xf32>, %g: tensor<1x32xf32>, %b: tensor<1x32xf32>) -> tensor<2x32xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<3.125000e-02> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.0e-05> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %sum = tosa.reduce_sum %x {axis = 1 : i32} : (tensor<2x32xf32>) -> tensor<2x1xf32>
  %mean = tosa.mul %sum, %inv_n, %shift : (tensor<2x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<2x1xf32>
  %c = tosa.sub %x, %mean : (tensor<2x32xf32>, tensor<2x1xf32>) -> tensor<2x32xf32>
  %full = tensor.empty() : tensor<2x32xf32>
  %sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : tensor<2x32xf32>) outs(%full : tensor<2x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %in, %in : f32
    linalg.yield %0 : f32
  } -> tensor<2x32xf32>
  %ss = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<2x32xf32>) -> tensor<2x1xf32>
  %var = tosa.mul %ss, %inv_n, %shift : (tensor<2x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<2x1xf32>
  %ve = tosa.add %var, %eps : (tensor<2x1xf32>, tensor<1x1xf32>) -> tensor<2x1xf32>
  %r = tosa.rsqrt %ve : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %n = tosa.mul %c, %r, %shift : (tensor<2x32xf32>, tensor<2x1xf32>, tensor<1xi8>) -> tensor<2x32xf32>
  %s = tosa.mul %n, %g, %shift : (tensor<2x32xf32>, tensor<1x32xf32>, tensor<1xi8>) -> tensor<2x32xf32>
  %y = tosa.add %s, %b : (tensor<2x32xf32>, tensor<1x32xf32>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}

// -----

// linalg statistics, TOSA elementwise output through an expand_shape.
// CHECK-LABEL: func @linalg_stats_tosa_output
// CHECK-SAME: (%[[X:.*]]: tensor<4x16xf32>)
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<4x16xf32>)
// CHECK-NOT: tosa.mul
func.func @linalg_stats_tosa_output(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 16.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.reduce ins(%x : tensor<4x16xf32>) outs(%acc : tensor<4xf32>) dimensions = [1]
    (%in: f32, %init: f32) {
      %0 = arith.mulf %in, %in : f32
      %1 = arith.addf %0, %init : f32
      linalg.yield %1 : f32
    }
  %r = linalg.map ins(%ss : tensor<4xf32>) outs(%rows : tensor<4xf32>)
    (%in: f32, %init: f32) {
      %0 = arith.divf %in, %n : f32
      %1 = arith.addf %0, %eps : f32
      %2 = math.rsqrt %1 : f32
      linalg.yield %2 : f32
    }
  %r2 = tensor.expand_shape %r [[0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
  %y = tosa.mul %x, %r2, %shift : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// TOSA statistics, arith on tensors for the output (through
// linalg.broadcast of a collapsed statistic).
// CHECK-LABEL: func @tosa_stats_arith_output
// CHECK-SAME: (%[[X:.*]]: tensor<3x8xf32>, %[[G:.*]]: tensor<8xf32>)
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<3x8xf32>) gamma(%[[G]] : tensor<8xf32>)
func.func @tosa_stats_arith_output(%x: tensor<3x8xf32>, %g: tensor<8xf32>) -> tensor<3x8xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<1.250000e-01> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.0e-05> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %sum = tosa.reduce_sum %x {axis = 1 : i32} : (tensor<3x8xf32>) -> tensor<3x1xf32>
  %mean = tosa.mul %sum, %inv_n, %shift : (tensor<3x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<3x1xf32>
  %c = tosa.sub %x, %mean : (tensor<3x8xf32>, tensor<3x1xf32>) -> tensor<3x8xf32>
  %sq = tosa.mul %c, %c, %shift : (tensor<3x8xf32>, tensor<3x8xf32>, tensor<1xi8>) -> tensor<3x8xf32>
  %ss = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<3x8xf32>) -> tensor<3x1xf32>
  %var = tosa.mul %ss, %inv_n, %shift : (tensor<3x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<3x1xf32>
  %ve = tosa.add %var, %eps : (tensor<3x1xf32>, tensor<1x1xf32>) -> tensor<3x1xf32>
  %r = tosa.rsqrt %ve : (tensor<3x1xf32>) -> tensor<3x1xf32>
  %rc = tensor.collapse_shape %r [[0, 1]] : tensor<3x1xf32> into tensor<3xf32>
  %full = tensor.empty() : tensor<3x8xf32>
  %r_b = linalg.broadcast ins(%rc : tensor<3xf32>) outs(%full : tensor<3x8xf32>) dimensions = [1]
  %g_b = linalg.broadcast ins(%g : tensor<8xf32>) outs(%full : tensor<3x8xf32>) dimensions = [0]
  %n = arith.mulf %c, %r_b : tensor<3x8xf32>
  %y = arith.mulf %n, %g_b : tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}
