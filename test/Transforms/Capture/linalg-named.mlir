// RUN: norm-opt %s --norm-capture -split-input-file | FileCheck %s
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s | FileCheck %s --check-prefix=EQUIV %}

// Decomposed norms written with linalg named ops: linalg.reduce, linalg.map,
// linalg.broadcast, linalg.add/sub/mul/div and the unary named ops, and
// linalg.elementwise with broadcasting indexing maps.

// EQUIV-NOT: FAIL
// EQUIV: {{^}}4 passed, 0 failed

// CHECK-LABEL: func @named_layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<4x32xf32>, %[[G:.*]]: tensor<32xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK-NOT: linalg.
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<4x32xf32>) gamma(%[[G]] : tensor<32xf32>) beta(%[[B]] : tensor<32xf32>)
// CHECK-NOT: linalg.
func.func @named_layer_norm(%x: tensor<4x32xf32>, %g: tensor<32xf32>, %b: tensor<32xf32>) -> tensor<4x32xf32> {
  %zero = arith.constant 0.0 : f32
  %inv_n = arith.constant 3.125000e-02 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.reduce ins(%x : tensor<4x32xf32>) outs(%acc : tensor<4xf32>) dimensions = [1]
    (%in: f32, %init: f32) {
      %0 = arith.addf %in, %init : f32
      linalg.yield %0 : f32
    }
  %mean = linalg.map ins(%sum : tensor<4xf32>) outs(%rows : tensor<4xf32>)
    (%in: f32, %init: f32) {
      %0 = arith.mulf %in, %inv_n : f32
      linalg.yield %0 : f32
    }
  %full = tensor.empty() : tensor<4x32xf32>
  %mean_b = linalg.broadcast ins(%mean : tensor<4xf32>) outs(%full : tensor<4x32xf32>) dimensions = [1]
  %c = linalg.sub ins(%x, %mean_b : tensor<4x32xf32>, tensor<4x32xf32>) outs(%full : tensor<4x32xf32>) -> tensor<4x32xf32>
  %sq = linalg.mul ins(%c, %c : tensor<4x32xf32>, tensor<4x32xf32>) outs(%full : tensor<4x32xf32>) -> tensor<4x32xf32>
  %ss = linalg.reduce ins(%sq : tensor<4x32xf32>) outs(%acc : tensor<4xf32>) dimensions = [1]
    (%in: f32, %init: f32) {
      %0 = arith.addf %in, %init : f32
      linalg.yield %0 : f32
    }
  %rstd = linalg.map ins(%ss : tensor<4xf32>) outs(%rows : tensor<4xf32>)
    (%in: f32, %init: f32) {
      %0 = arith.mulf %in, %inv_n : f32
      %1 = arith.addf %0, %eps : f32
      %2 = math.rsqrt %1 : f32
      linalg.yield %2 : f32
    }
  %rstd_b = linalg.broadcast ins(%rstd : tensor<4xf32>) outs(%full : tensor<4x32xf32>) dimensions = [1]
  %n = linalg.mul ins(%c, %rstd_b : tensor<4x32xf32>, tensor<4x32xf32>) outs(%full : tensor<4x32xf32>) -> tensor<4x32xf32>
  %g_b = linalg.broadcast ins(%g : tensor<32xf32>) outs(%full : tensor<4x32xf32>) dimensions = [0]
  %b_b = linalg.broadcast ins(%b : tensor<32xf32>) outs(%full : tensor<4x32xf32>) dimensions = [0]
  %scaled = linalg.mul ins(%g_b, %n : tensor<4x32xf32>, tensor<4x32xf32>) outs(%full : tensor<4x32xf32>) -> tensor<4x32xf32>
  %y = linalg.add ins(%scaled, %b_b : tensor<4x32xf32>, tensor<4x32xf32>) outs(%full : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// RMSNorm with the unary named ops: linalg.square, linalg.sqrt, linalg.div.
// CHECK-LABEL: func @named_rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<3x64xf32>, %[[G:.*]]: tensor<64xf32>)
// CHECK-NOT: linalg.
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<3x64xf32>) gamma(%[[G]] : tensor<64xf32>)
func.func @named_rms_norm(%x: tensor<3x64xf32>, %g: tensor<64xf32>) -> tensor<3x64xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %full = tensor.empty() : tensor<3x64xf32>
  %sq = linalg.square ins(%x : tensor<3x64xf32>) outs(%full : tensor<3x64xf32>) -> tensor<3x64xf32>
  %rows = tensor.empty() : tensor<3xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<3xf32>) -> tensor<3xf32>
  %ss = linalg.reduce ins(%sq : tensor<3x64xf32>) outs(%acc : tensor<3xf32>) dimensions = [1]
    (%in: f32, %init: f32) {
      %0 = arith.addf %init, %in : f32
      linalg.yield %0 : f32
    }
  %ms = linalg.map ins(%ss : tensor<3xf32>) outs(%rows : tensor<3xf32>)
    (%in: f32, %init: f32) {
      %0 = arith.divf %in, %n : f32
      %1 = arith.addf %0, %eps : f32
      linalg.yield %1 : f32
    }
  %sd = linalg.sqrt ins(%ms : tensor<3xf32>) outs(%rows : tensor<3xf32>) -> tensor<3xf32>
  %sd_b = linalg.broadcast ins(%sd : tensor<3xf32>) outs(%full : tensor<3x64xf32>) dimensions = [1]
  %nrm = linalg.div ins(%x, %sd_b : tensor<3x64xf32>, tensor<3x64xf32>) outs(%full : tensor<3x64xf32>) -> tensor<3x64xf32>
  %g_b = linalg.broadcast ins(%g : tensor<64xf32>) outs(%full : tensor<3x64xf32>) dimensions = [0]
  %y = linalg.mul ins(%nrm, %g_b : tensor<3x64xf32>, tensor<3x64xf32>) outs(%full : tensor<3x64xf32>) -> tensor<3x64xf32>
  return %y : tensor<3x64xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// linalg.elementwise with broadcasting indexing maps, linalg.rsqrt and
// linalg.reciprocal-free rsqrt, linalg.powf with a splat exponent.
// CHECK-LABEL: func @elementwise_rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<2x128xf32>, %[[G:.*]]: tensor<128xf32>)
// CHECK-NOT: linalg.
// CHECK: norm.rms_norm eps(1.0e-05) ins(%[[X]] : tensor<2x128xf32>) gamma(%[[G]] : tensor<128xf32>)
func.func @elementwise_rms_norm(%x: tensor<2x128xf32>, %g: tensor<128xf32>) -> tensor<2x128xf32> {
  %zero = arith.constant 0.0 : f32
  %two = arith.constant dense<2.0> : tensor<2x128xf32>
  %inv_n = arith.constant dense<7.812500e-03> : tensor<2xf32>
  %eps = arith.constant dense<1.0e-05> : tensor<2xf32>
  %full = tensor.empty() : tensor<2x128xf32>
  %sq = linalg.powf ins(%x, %two : tensor<2x128xf32>, tensor<2x128xf32>) outs(%full : tensor<2x128xf32>) -> tensor<2x128xf32>
  %rows = tensor.empty() : tensor<2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<2xf32>) -> tensor<2xf32>
  %ss = linalg.reduce ins(%sq : tensor<2x128xf32>) outs(%acc : tensor<2xf32>) dimensions = [1]
    (%in: f32, %init: f32) {
      %0 = arith.addf %in, %init : f32
      linalg.yield %0 : f32
    }
  %ms = linalg.elementwise kind=#linalg.elementwise_kind<mul>
      ins(%ss, %inv_n : tensor<2xf32>, tensor<2xf32>) outs(%rows : tensor<2xf32>) -> tensor<2xf32>
  %ve = linalg.elementwise kind=#linalg.elementwise_kind<add>
      ins(%ms, %eps : tensor<2xf32>, tensor<2xf32>) outs(%rows : tensor<2xf32>) -> tensor<2xf32>
  %r = linalg.rsqrt ins(%ve : tensor<2xf32>) outs(%rows : tensor<2xf32>) -> tensor<2xf32>
  %nrm = linalg.elementwise kind=#linalg.elementwise_kind<mul>
      indexing_maps = [#id, #row, #id]
      ins(%x, %r : tensor<2x128xf32>, tensor<2xf32>) outs(%full : tensor<2x128xf32>) -> tensor<2x128xf32>
  %y = linalg.elementwise kind=#linalg.elementwise_kind<mul>
      indexing_maps = [#col, #id, #id]
      ins(%g, %nrm : tensor<128xf32>, tensor<2x128xf32>) outs(%full : tensor<2x128xf32>) -> tensor<2x128xf32>
  return %y : tensor<2x128xf32>
}

// -----

// linalg.reciprocal of a square root, the mean broadcast through a
// transposed linalg.broadcast of a keepdim-expanded statistic.
// CHECK-LABEL: func @named_reciprocal_layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<3x16xf32>)
// CHECK-NOT: linalg.
// CHECK: norm.layer_norm eps(1.0e-03) ins(%[[X]] : tensor<3x16xf32>) outs(%{{.*}} : tensor<3x16xf32>)
func.func @named_reciprocal_layer_norm(%x: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 16.0 : f32
  %eps = arith.constant 1.0e-03 : f32
  %rows = tensor.empty() : tensor<3xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<3xf32>) -> tensor<3xf32>
  %sum = linalg.reduce ins(%x : tensor<3x16xf32>) outs(%acc : tensor<3xf32>) dimensions = [1]
    (%in: f32, %init: f32) {
      %0 = arith.addf %in, %init : f32
      linalg.yield %0 : f32
    }
  %mean = linalg.map ins(%sum : tensor<3xf32>) outs(%rows : tensor<3xf32>)
    (%in: f32, %init: f32) {
      %0 = arith.divf %in, %n : f32
      linalg.yield %0 : f32
    }
  %mean_k = tensor.expand_shape %mean [[0, 1]] output_shape [3, 1] : tensor<3xf32> into tensor<3x1xf32>
  %mean_c = tensor.collapse_shape %mean_k [[0, 1]] : tensor<3x1xf32> into tensor<3xf32>
  %full = tensor.empty() : tensor<3x16xf32>
  %mean_b = linalg.broadcast ins(%mean_c : tensor<3xf32>) outs(%full : tensor<3x16xf32>) dimensions = [1]
  %c = linalg.sub ins(%x, %mean_b : tensor<3x16xf32>, tensor<3x16xf32>) outs(%full : tensor<3x16xf32>) -> tensor<3x16xf32>
  %sq = linalg.square ins(%c : tensor<3x16xf32>) outs(%full : tensor<3x16xf32>) -> tensor<3x16xf32>
  %ss = linalg.reduce ins(%sq : tensor<3x16xf32>) outs(%acc : tensor<3xf32>) dimensions = [1]
    (%in: f32, %init: f32) {
      %0 = arith.addf %in, %init : f32
      linalg.yield %0 : f32
    }
  %ve = linalg.map ins(%ss : tensor<3xf32>) outs(%rows : tensor<3xf32>)
    (%in: f32, %init: f32) {
      %0 = arith.divf %in, %n : f32
      %1 = arith.addf %0, %eps : f32
      linalg.yield %1 : f32
    }
  %sd = linalg.sqrt ins(%ve : tensor<3xf32>) outs(%rows : tensor<3xf32>) -> tensor<3xf32>
  %r = linalg.reciprocal ins(%sd : tensor<3xf32>) outs(%rows : tensor<3xf32>) -> tensor<3xf32>
  %tr = tensor.empty() : tensor<16x3xf32>
  %r_t = linalg.broadcast ins(%r : tensor<3xf32>) outs(%tr : tensor<16x3xf32>) dimensions = [0]
  %r_b = linalg.transpose ins(%r_t : tensor<16x3xf32>) outs(%full : tensor<3x16xf32>) permutation = [1, 0]
  %y = linalg.mul ins(%r_b, %c : tensor<3x16xf32>, tensor<3x16xf32>) outs(%full : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}
