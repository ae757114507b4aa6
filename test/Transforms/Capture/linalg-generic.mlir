// RUN: norm-opt %s --norm-capture -split-input-file | FileCheck %s
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s | FileCheck %s --check-prefix=EQUIV %}

// Decomposed norms written as linalg.generic chains: one generic per step
// as torch-mlir lowers them, and steps fused into fewer generics.

// EQUIV-NOT: FAIL
// EQUIV: {{^}}7 passed, 0 failed

#id = affine_map<(d0, d1) -> (d0, d1)>
#keep = affine_map<(d0, d1) -> (d0, 0)>
#col = affine_map<(d0, d1) -> (d1)>

// torch-mlir's aten.native_layer_norm decomposition: keepdim statistics
// (4x1, read through (d0, 0)), mean as sum / N, eps an f64 scalar truncated
// and multiplied by alpha = 1, the affine steps with alpha too.
// CHECK-LABEL: func @torch_layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[G:.*]]: tensor<64xf32>, %[[B:.*]]: tensor<64xf32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<4x64xf32>
// CHECK: %[[Y:.*]] = norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<4x64xf32>) gamma(%[[G]] : tensor<64xf32>) beta(%[[B]] : tensor<64xf32>) outs(%[[INIT]] : tensor<4x64xf32>) -> tensor<4x64xf32>
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @torch_layer_norm(%x: tensor<4x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64 : i64
  %eps = arith.constant 1.0e-05 : f64
  %alpha = arith.constant 1 : i64
  %stat_init = tensor.empty() : tensor<4x1xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%stat_init : tensor<4x1xf32>) -> tensor<4x1xf32>
  %sum = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<4x1xf32>
  %mean = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%sum : tensor<4x1xf32>) outs(%stat_init : tensor<4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %nf = arith.sitofp %n : i64 to f32
    %0 = arith.divf %in, %nf : f32
    linalg.yield %0 : f32
  } -> tensor<4x1xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %centred = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %mean : tensor<4x64xf32>, tensor<4x1xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %a = arith.sitofp %alpha : i64 to f32
    %0 = arith.mulf %m, %a : f32
    %1 = arith.subf %in, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4x64xf32>
  %square = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%centred, %centred : tensor<4x64xf32>, tensor<4x64xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %0 = arith.mulf %in, %in2 : f32
    linalg.yield %0 : f32
  } -> tensor<4x64xf32>
  %acc2 = linalg.fill ins(%zero : f32) outs(%stat_init : tensor<4x1xf32>) -> tensor<4x1xf32>
  %sumsq = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]}
      ins(%square : tensor<4x64xf32>) outs(%acc2 : tensor<4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<4x1xf32>
  %var = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%sumsq : tensor<4x1xf32>) outs(%stat_init : tensor<4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %nf = arith.sitofp %n : i64 to f32
    %0 = arith.divf %in, %nf : f32
    linalg.yield %0 : f32
  } -> tensor<4x1xf32>
  %rstd = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%var : tensor<4x1xf32>) outs(%stat_init : tensor<4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = arith.truncf %eps : f64 to f32
    %a = arith.sitofp %alpha : i64 to f32
    %0 = arith.mulf %e, %a : f32
    %1 = arith.addf %in, %0 : f32
    %2 = math.rsqrt %1 : f32
    linalg.yield %2 : f32
  } -> tensor<4x1xf32>
  %normed = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel"]}
      ins(%centred, %rstd : tensor<4x64xf32>, tensor<4x1xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %r: f32, %out: f32):
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<4x64xf32>
  %scaled = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%normed, %g : tensor<4x64xf32>, tensor<64xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %w: f32, %out: f32):
    %0 = arith.mulf %in, %w : f32
    linalg.yield %0 : f32
  } -> tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%scaled, %b : tensor<4x64xf32>, tensor<64xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %a = arith.sitofp %alpha : i64 to f32
    %0 = arith.mulf %bias, %a : f32
    %1 = arith.addf %in, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// torch-mlir's aten.rms_norm: collapsed statistics (tensor<8xf32>), square
// as math.fpowi 2, mean as sum * (1/N), gamma applied last.
// CHECK-LABEL: func @torch_rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<8x96xf32>, %[[G:.*]]: tensor<96xf32>)
// CHECK-NOT: linalg.generic
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<8x96xf32>) gamma(%[[G]] : tensor<96xf32>) outs(%{{.*}} : tensor<8x96xf32>) -> tensor<8x96xf32>
// CHECK-NOT: linalg.generic
func.func @torch_rms_norm(%x: tensor<8x96xf32>, %g: tensor<96xf32>) -> tensor<8x96xf32> {
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2 : i32
  %inv_n = arith.constant 0.010416666666666666 : f32
  %eps = arith.constant 1.0e-06 : f32
  %full = tensor.empty() : tensor<8x96xf32>
  %sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x96xf32>) outs(%full : tensor<8x96xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = math.fpowi %in, %two : f32, i32
    linalg.yield %0 : f32
  } -> tensor<8x96xf32>
  %rows = tensor.empty() : tensor<8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<8xf32>) -> tensor<8xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%sq : tensor<8x96xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %out, %in : f32
    linalg.yield %0 : f32
  } -> tensor<8xf32>
  %rstd = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%sum : tensor<8xf32>) outs(%rows : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %in, %inv_n : f32
    %1 = arith.addf %0, %eps : f32
    %2 = math.rsqrt %1 : f32
    linalg.yield %2 : f32
  } -> tensor<8xf32>
  %normed = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %rstd : tensor<8x96xf32>, tensor<8xf32>) outs(%full : tensor<8x96xf32>) {
  ^bb0(%in: f32, %r: f32, %out: f32):
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<8x96xf32>
  %y = linalg.generic {indexing_maps = [#col, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %normed : tensor<96xf32>, tensor<8x96xf32>) outs(%full : tensor<8x96xf32>) {
  ^bb0(%w: f32, %in: f32, %out: f32):
    %0 = arith.mulf %w, %in : f32
    linalg.yield %0 : f32
  } -> tensor<8x96xf32>
  return %y : tensor<8x96xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// Sum and sum of squares as two outputs of one generic; everything else in
// one elementwise generic (variance as E[x^2] - E[x]^2).
// CHECK-LABEL: func @fused_sum_and_sum_of_squares
// CHECK-SAME: (%[[X:.*]]: tensor<5x48xf32>, %[[G:.*]]: tensor<48xf32>, %[[B:.*]]: tensor<48xf32>)
// CHECK-NOT: linalg.generic
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<5x48xf32>) gamma(%[[G]] : tensor<48xf32>) beta(%[[B]] : tensor<48xf32>)
// CHECK-NOT: linalg.generic
func.func @fused_sum_and_sum_of_squares(%x: tensor<5x48xf32>, %g: tensor<48xf32>, %b: tensor<48xf32>) -> tensor<5x48xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 48.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<5xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<5xf32>) -> tensor<5xf32>
  %stats:2 = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<5x48xf32>) outs(%acc, %acc : tensor<5xf32>, tensor<5xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32):
    %0 = arith.addf %s, %in : f32
    %1 = arith.mulf %in, %in : f32
    %2 = arith.addf %q, %1 : f32
    linalg.yield %0, %2 : f32, f32
  } -> (tensor<5xf32>, tensor<5xf32>)
  %full = tensor.empty() : tensor<5x48xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #col, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %stats#0, %stats#1, %g, %b : tensor<5x48xf32>, tensor<5xf32>, tensor<5xf32>, tensor<48xf32>, tensor<48xf32>) outs(%full : tensor<5x48xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32, %w: f32, %bias: f32, %out: f32):
    %mean = arith.divf %s, %n : f32
    %ms = arith.divf %q, %n : f32
    %m2 = arith.mulf %mean, %mean : f32
    %var = arith.subf %ms, %m2 : f32
    %ve = arith.addf %var, %eps : f32
    %rstd = math.rsqrt %ve : f32
    %c = arith.subf %in, %mean : f32
    %0 = arith.mulf %c, %rstd : f32
    %1 = arith.mulf %0, %w : f32
    %2 = arith.addf %1, %bias : f32
    linalg.yield %2 : f32
  } -> tensor<5x48xf32>
  return %y : tensor<5x48xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// Reduction and elementwise work in one body: the mean accumulates x / N,
// the variance generic centres and squares (math.powf 2) while it sums; the
// output divides by sqrt(var + eps) and adds beta first.
// CHECK-LABEL: func @fused_reduction_bodies
// CHECK-SAME: (%[[X:.*]]: tensor<3x40xf32>, %[[G:.*]]: tensor<40xf32>, %[[B:.*]]: tensor<40xf32>)
// CHECK-NOT: linalg.generic
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<3x40xf32>) gamma(%[[G]] : tensor<40xf32>) beta(%[[B]] : tensor<40xf32>)
// CHECK-NOT: linalg.generic
func.func @fused_reduction_bodies(%x: tensor<3x40xf32>, %g: tensor<40xf32>, %b: tensor<40xf32>) -> tensor<3x40xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 40.0 : f32
  %two = arith.constant 2.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<3xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<3xf32>) -> tensor<3xf32>
  %mean = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<3x40xf32>) outs(%acc : tensor<3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.divf %in, %n : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<3xf32>
  %var = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %mean : tensor<3x40xf32>, tensor<3xf32>) outs(%acc : tensor<3xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %0 = arith.subf %in, %m : f32
    %1 = math.powf %0, %two : f32
    %2 = arith.divf %1, %n : f32
    %3 = arith.addf %out, %2 : f32
    linalg.yield %3 : f32
  } -> tensor<3xf32>
  %full = tensor.empty() : tensor<3x40xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #col, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %mean, %var, %g, %b : tensor<3x40xf32>, tensor<3xf32>, tensor<3xf32>, tensor<40xf32>, tensor<40xf32>) outs(%full : tensor<3x40xf32>) {
  ^bb0(%in: f32, %m: f32, %v: f32, %w: f32, %bias: f32, %out: f32):
    %ve = arith.addf %eps, %v : f32
    %sd = math.sqrt %ve : f32
    %c = arith.subf %in, %m : f32
    %0 = arith.divf %c, %sd : f32
    %1 = arith.mulf %w, %0 : f32
    %2 = arith.addf %bias, %1 : f32
    linalg.yield %2 : f32
  } -> tensor<3x40xf32>
  return %y : tensor<3x40xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// RMSNorm in two generics whose final one writes into a destination
// passed in: the norm op takes that destination.
// CHECK-LABEL: func @rms_into_destination
// CHECK-SAME: (%[[X:.*]]: tensor<6x32xf32>, %[[G:.*]]: tensor<32xf32>, %[[OUT:.*]]: tensor<6x32xf32>)
// CHECK-NOT: linalg.generic
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<6x32xf32>) gamma(%[[G]] : tensor<32xf32>) outs(%[[OUT]] : tensor<6x32xf32>)
func.func @rms_into_destination(%x: tensor<6x32xf32>, %g: tensor<32xf32>, %out: tensor<6x32xf32>) -> tensor<6x32xf32> {
  %zero = arith.constant 0.0 : f32
  %inv_n = arith.constant 3.125000e-02 : f32
  %eps = arith.constant 1.0e-06 : f32
  %rows = tensor.empty() : tensor<6xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<6xf32>) -> tensor<6xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<6x32xf32>) outs(%acc : tensor<6xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %0, %o : f32
    linalg.yield %1 : f32
  } -> tensor<6xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss, %g : tensor<6x32xf32>, tensor<6xf32>, tensor<32xf32>) outs(%out : tensor<6x32xf32>) {
  ^bb0(%in: f32, %s: f32, %w: f32, %o: f32):
    %ms = arith.mulf %s, %inv_n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    %1 = arith.mulf %0, %w : f32
    linalg.yield %1 : f32
  } -> tensor<6x32xf32>
  return %y : tensor<6x32xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// A plain LayerNorm (no gamma, no beta) whose rstd comes as a reciprocal of
// a square root, in the order (rstd * (x - mean)).
// CHECK-LABEL: func @plain_layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<2x24xf32>)
// CHECK-NOT: linalg.generic
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<2x24xf32>) outs(%{{.*}} : tensor<2x24xf32>) -> tensor<2x24xf32>
func.func @plain_layer_norm(%x: tensor<2x24xf32>) -> tensor<2x24xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 24.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<2xf32>) -> tensor<2xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<2x24xf32>) outs(%acc : tensor<2xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.addf %in, %o : f32
    linalg.yield %0 : f32
  } -> tensor<2xf32>
  %full = tensor.empty() : tensor<2x24xf32>
  %c = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : tensor<2x24xf32>, tensor<2xf32>) outs(%full : tensor<2x24xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %m = arith.divf %s, %n : f32
    %0 = arith.subf %in, %m : f32
    linalg.yield %0 : f32
  } -> tensor<2x24xf32>
  %var = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%c : tensor<2x24xf32>) outs(%acc : tensor<2xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<2xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %var : tensor<2x24xf32>, tensor<2xf32>) outs(%full : tensor<2x24xf32>) {
  ^bb0(%in: f32, %v: f32, %o: f32):
    %0 = arith.divf %v, %n : f32
    %1 = arith.addf %0, %eps : f32
    %2 = math.sqrt %1 : f32
    %3 = arith.divf %one, %2 : f32
    %4 = arith.mulf %3, %in : f32
    linalg.yield %4 : f32
  } -> tensor<2x24xf32>
  return %y : tensor<2x24xf32>
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row3 = affine_map<(d0, d1, d2) -> (d0)>
#norm3 = affine_map<(d0, d1, d2) -> (d1, d2)>

// A LayerNorm over the two trailing dims of a rank-3 tensor, statistics
// reduced over both in one generic; the whole output in one generic.
// CHECK-LABEL: func @two_trailing_dims
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x16xf32>, %[[G:.*]]: tensor<3x16xf32>, %[[B:.*]]: tensor<3x16xf32>)
// CHECK: norm.layer_norm axis(1) eps(1.0e-05) ins(%[[X]] : tensor<2x3x16xf32>) gamma(%[[G]] : tensor<3x16xf32>) beta(%[[B]] : tensor<3x16xf32>)
func.func @two_trailing_dims(%x: tensor<2x3x16xf32>, %g: tensor<3x16xf32>, %b: tensor<3x16xf32>) -> tensor<2x3x16xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 48.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<2xf32>) -> tensor<2xf32>
  %sum = linalg.generic {indexing_maps = [#id3, #row3], iterator_types = ["parallel", "reduction", "reduction"]}
      ins(%x : tensor<2x3x16xf32>) outs(%acc : tensor<2xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.addf %in, %o : f32
    linalg.yield %0 : f32
  } -> tensor<2xf32>
  %var = linalg.generic {indexing_maps = [#id3, #row3, #row3], iterator_types = ["parallel", "reduction", "reduction"]}
      ins(%x, %sum : tensor<2x3x16xf32>, tensor<2xf32>) outs(%acc : tensor<2xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %m = arith.divf %s, %n : f32
    %0 = arith.subf %in, %m : f32
    %1 = arith.mulf %0, %0 : f32
    %2 = arith.addf %o, %1 : f32
    linalg.yield %2 : f32
  } -> tensor<2xf32>
  %full = tensor.empty() : tensor<2x3x16xf32>
  %y = linalg.generic {indexing_maps = [#id3, #row3, #row3, #norm3, #norm3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %sum, %var, %g, %b : tensor<2x3x16xf32>, tensor<2xf32>, tensor<2xf32>, tensor<3x16xf32>, tensor<3x16xf32>) outs(%full : tensor<2x3x16xf32>) {
  ^bb0(%in: f32, %s: f32, %v: f32, %w: f32, %bias: f32, %o: f32):
    %m = arith.divf %s, %n : f32
    %vn = arith.divf %v, %n : f32
    %ve = arith.addf %vn, %eps : f32
    %r = math.rsqrt %ve : f32
    %c = arith.subf %in, %m : f32
    %0 = arith.mulf %c, %r : f32
    %1 = arith.mulf %0, %w : f32
    %2 = arith.addf %1, %bias : f32
    linalg.yield %2 : f32
  } -> tensor<2x3x16xf32>
  return %y : tensor<2x3x16xf32>
}
