// RUN: norm-opt %s --norm-capture -split-input-file | FileCheck %s
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s | FileCheck %s --check-prefix=EQUIV %}

// The variants every spelling funnels into: dynamic N, run-time eps,
// residual adds, cast sandwiches, output casts, statistics with other
// users, rank 1, several norms per function.

// EQUIV-NOT: FAIL
// EQUIV: {{^}}17 passed, 0 failed

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// Dynamic shapes: N from tensor.dim, index_cast and sitofp.
// CHECK-LABEL: func @dynamic_layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<?x?xf32>, %[[G:.*]]: tensor<?xf32>)
// CHECK: %[[D0:.*]] = tensor.dim %[[X]], %{{.*}}
// CHECK: %[[D1:.*]] = tensor.dim %[[X]], %{{.*}}
// CHECK: %[[INIT:.*]] = tensor.empty(%[[D0]], %[[D1]]) : tensor<?x?xf32>
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<?x?xf32>) gamma(%[[G]] : tensor<?xf32>) outs(%[[INIT]] : tensor<?x?xf32>)
// CHECK-NOT: linalg.generic
func.func @dynamic_layer_norm(%x: tensor<?x?xf32>, %g: tensor<?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows_n = tensor.dim %x, %c0 : tensor<?x?xf32>
  %cols_n = tensor.dim %x, %c1 : tensor<?x?xf32>
  %cols_i = arith.index_cast %cols_n : index to i64
  %n = arith.sitofp %cols_i : i64 to f32
  %rows = tensor.empty(%rows_n) : tensor<?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<?xf32>) -> tensor<?xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x?xf32>) outs(%acc : tensor<?xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.addf %in, %o : f32
    linalg.yield %0 : f32
  } -> tensor<?xf32>
  %var = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %sum : tensor<?x?xf32>, tensor<?xf32>) outs(%acc : tensor<?xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %m = arith.divf %s, %n : f32
    %0 = arith.subf %in, %m : f32
    %1 = arith.mulf %0, %0 : f32
    %2 = arith.addf %o, %1 : f32
    linalg.yield %2 : f32
  } -> tensor<?xf32>
  %full = tensor.empty(%rows_n, %cols_n) : tensor<?x?xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum, %var, %g : tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) outs(%full : tensor<?x?xf32>) {
  ^bb0(%in: f32, %s: f32, %v: f32, %w: f32, %o: f32):
    %m = arith.divf %s, %n : f32
    %vn = arith.divf %v, %n : f32
    %ve = arith.addf %vn, %eps : f32
    %r = math.rsqrt %ve : f32
    %c = arith.subf %in, %m : f32
    %0 = arith.mulf %c, %r : f32
    %1 = arith.mulf %0, %w : f32
    linalg.yield %1 : f32
  } -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row3 = affine_map<(d0, d1, d2) -> (d0)>

// Two dynamic trailing dims: N = dim(1) * dim(2) with arith.muli, then
// index_castui and uitofp; 1/N computed as a scalar division.
// CHECK-LABEL: func @dynamic_two_dims_rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x?xf32>)
// CHECK: norm.rms_norm axis(1) eps(1.0e-06) ins(%[[X]] : tensor<?x?x?xf32>)
func.func @dynamic_two_dims_rms_norm(%x: tensor<?x?x?xf32>) -> tensor<?x?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %d0 = tensor.dim %x, %c0 : tensor<?x?x?xf32>
  %d1 = tensor.dim %x, %c1 : tensor<?x?x?xf32>
  %d2 = tensor.dim %x, %c2 : tensor<?x?x?xf32>
  %count = arith.muli %d1, %d2 : index
  %count_i = arith.index_castui %count : index to i32
  %n = arith.uitofp %count_i : i32 to f32
  %inv_n = arith.divf %one, %n : f32
  %rows = tensor.empty(%d0) : tensor<?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<?xf32>) -> tensor<?xf32>
  %ss = linalg.generic {indexing_maps = [#id3, #row3], iterator_types = ["parallel", "reduction", "reduction"]}
      ins(%x : tensor<?x?x?xf32>) outs(%acc : tensor<?xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<?xf32>
  %full = tensor.empty(%d0, %d1, %d2) : tensor<?x?x?xf32>
  %y = linalg.generic {indexing_maps = [#id3, #row3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %ss : tensor<?x?x?xf32>, tensor<?xf32>) outs(%full : tensor<?x?x?xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.mulf %s, %inv_n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<?x?x?xf32>
  return %y : tensor<?x?x?xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// eps a run-time f64 argument, truncated in the body: the op takes it.
// CHECK-LABEL: func @runtime_eps_f64
// CHECK-SAME: (%[[X:.*]]: tensor<2x16xf32>, %[[G:.*]]: tensor<16xf32>, %[[E:.*]]: f64)
// CHECK: norm.rms_norm eps(%[[E]] : f64) ins(%[[X]] : tensor<2x16xf32>) gamma(%[[G]] : tensor<16xf32>)
func.func @runtime_eps_f64(%x: tensor<2x16xf32>, %g: tensor<16xf32>, %e: f64) -> tensor<2x16xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 16.0 : f32
  %rows = tensor.empty() : tensor<2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<2xf32>) -> tensor<2xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<2x16xf32>) outs(%acc : tensor<2xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<2xf32>
  %full = tensor.empty() : tensor<2x16xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss, %g : tensor<2x16xf32>, tensor<2xf32>, tensor<16xf32>) outs(%full : tensor<2x16xf32>) {
  ^bb0(%in: f32, %s: f32, %w: f32, %o: f32):
    %et = arith.truncf %e : f64 to f32
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %et : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %w, %in : f32
    %1 = arith.mulf %0, %r : f32
    linalg.yield %1 : f32
  } -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// A residual add fused into the generics (never materialised): the op's
// residual operand.
// CHECK-LABEL: func @residual_fused
// CHECK-SAME: (%[[A:.*]]: tensor<3x32xf32>, %[[R:.*]]: tensor<3x32xf32>)
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[A]] : tensor<3x32xf32>) residual(%[[R]] : tensor<3x32xf32>)
func.func @residual_fused(%a: tensor<3x32xf32>, %res: tensor<3x32xf32>) -> tensor<3x32xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 32.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %rows = tensor.empty() : tensor<3xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<3xf32>) -> tensor<3xf32>
  %ss = linalg.generic {indexing_maps = [#id, #id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a, %res : tensor<3x32xf32>, tensor<3x32xf32>) outs(%acc : tensor<3xf32>) {
  ^bb0(%x0: f32, %x1: f32, %o: f32):
    %h = arith.addf %x0, %x1 : f32
    %0 = arith.mulf %h, %h : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<3xf32>
  %full = tensor.empty() : tensor<3x32xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %res, %ss : tensor<3x32xf32>, tensor<3x32xf32>, tensor<3xf32>) outs(%full : tensor<3x32xf32>) {
  ^bb0(%x0: f32, %x1: f32, %s: f32, %o: f32):
    %h = arith.addf %x1, %x0 : f32
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %h, %r : f32
    linalg.yield %0 : f32
  } -> tensor<3x32xf32>
  return %y : tensor<3x32xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// The residual stream: the sum is returned as well, so it stays and is
// the norm's input (no second add).
// CHECK-LABEL: func @residual_stream
// CHECK: %[[H:.*]] = linalg.add
// CHECK: %[[Y:.*]] = norm.rms_norm eps(1.0e-06) ins(%[[H]] : tensor<3x32xf32>) outs
// CHECK: return %[[Y]], %[[H]]
func.func @residual_stream(%a: tensor<3x32xf32>, %res: tensor<3x32xf32>) -> (tensor<3x32xf32>, tensor<3x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 32.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %full = tensor.empty() : tensor<3x32xf32>
  %h = linalg.add ins(%a, %res : tensor<3x32xf32>, tensor<3x32xf32>) outs(%full : tensor<3x32xf32>) -> tensor<3x32xf32>
  %rows = tensor.empty() : tensor<3xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<3xf32>) -> tensor<3xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%h : tensor<3x32xf32>) outs(%acc : tensor<3xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<3xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h, %ss : tensor<3x32xf32>, tensor<3xf32>) outs(%full : tensor<3x32xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<3x32xf32>
  return %y, %h : tensor<3x32xf32>, tensor<3x32xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// HuggingFace LlamaRMSNorm in f16 as linalg generics: extf, statistics and
// scaling in f32, truncf, then the f16 weight.
// CHECK-LABEL: func @llama_rms_norm_f16
// CHECK-SAME: (%[[X:.*]]: tensor<2x64xf16>, %[[G:.*]]: tensor<64xf16>)
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<2x64xf16>) gamma(%[[G]] : tensor<64xf16>) outs(%{{.*}} : tensor<2x64xf16>) -> tensor<2x64xf16>
// CHECK-NOT: linalg.generic
func.func @llama_rms_norm_f16(%x: tensor<2x64xf16>, %g: tensor<64xf16>) -> tensor<2x64xf16> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %fullf = tensor.empty() : tensor<2x64xf32>
  %xf = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<2x64xf16>) outs(%fullf : tensor<2x64xf32>) {
  ^bb0(%in: f16, %o: f32):
    %0 = arith.extf %in : f16 to f32
    linalg.yield %0 : f32
  } -> tensor<2x64xf32>
  %rows = tensor.empty() : tensor<2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<2xf32>) -> tensor<2xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%xf : tensor<2x64xf32>) outs(%acc : tensor<2xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<2xf32>
  %fullh = tensor.empty() : tensor<2x64xf16>
  %nh = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%xf, %ss : tensor<2x64xf32>, tensor<2xf32>) outs(%fullh : tensor<2x64xf16>) {
  ^bb0(%in: f32, %s: f32, %o: f16):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    %1 = arith.truncf %0 : f32 to f16
    linalg.yield %1 : f16
  } -> tensor<2x64xf16>
  %y = linalg.generic {indexing_maps = [#col, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %nh : tensor<64xf16>, tensor<2x64xf16>) outs(%fullh : tensor<2x64xf16>) {
  ^bb0(%w: f16, %in: f16, %o: f16):
    %0 = arith.mulf %w, %in : f16
    linalg.yield %0 : f16
  } -> tensor<2x64xf16>
  return %y : tensor<2x64xf16>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// An f32 norm whose result is truncated to f16: the op's output type.
// CHECK-LABEL: func @output_cast
// CHECK-SAME: (%[[X:.*]]: tensor<2x32xf32>)
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<2x32xf32>) outs(%{{.*}} : tensor<2x32xf16>) -> tensor<2x32xf16>
func.func @output_cast(%x: tensor<2x32xf32>) -> tensor<2x32xf16> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 32.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<2xf32>) -> tensor<2xf32>
  %stats:2 = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<2x32xf32>) outs(%acc, %acc : tensor<2xf32>, tensor<2xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32):
    %0 = arith.addf %s, %in : f32
    %1 = arith.mulf %in, %in : f32
    %2 = arith.addf %q, %1 : f32
    linalg.yield %0, %2 : f32, f32
  } -> (tensor<2xf32>, tensor<2xf32>)
  %fullh = tensor.empty() : tensor<2x32xf16>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %stats#0, %stats#1 : tensor<2x32xf32>, tensor<2xf32>, tensor<2xf32>) outs(%fullh : tensor<2x32xf16>) {
  ^bb0(%in: f32, %s: f32, %q: f32, %o: f16):
    %mean = arith.divf %s, %n : f32
    %ms = arith.divf %q, %n : f32
    %m2 = arith.mulf %mean, %mean : f32
    %var = arith.subf %ms, %m2 : f32
    %ve = arith.addf %var, %eps : f32
    %r = math.rsqrt %ve : f32
    %c = arith.subf %in, %mean : f32
    %0 = arith.mulf %c, %r : f32
    %1 = arith.truncf %0 : f32 to f16
    linalg.yield %1 : f16
  } -> tensor<2x32xf16>
  return %y : tensor<2x32xf16>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// The mean is also returned (as aten.native_layer_norm does): its producers
// stay, the output is captured.
// CHECK-LABEL: func @mean_has_other_user
// CHECK-SAME: (%[[X:.*]]: tensor<4x16xf32>, %[[G:.*]]: tensor<16xf32>, %[[B:.*]]: tensor<16xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic
// CHECK: %[[MEAN:.*]] = linalg.generic {{.*}} ins(%[[SUM]]
// CHECK: %[[Y:.*]] = norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<4x16xf32>) gamma(%[[G]] : tensor<16xf32>) beta(%[[B]] : tensor<16xf32>)
// CHECK: return %[[Y]], %[[MEAN]]
func.func @mean_has_other_user(%x: tensor<4x16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>) -> (tensor<4x16xf32>, tensor<4xf32>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 16.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x16xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.addf %in, %o : f32
    linalg.yield %0 : f32
  } -> tensor<4xf32>
  %mean = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%sum : tensor<4xf32>) outs(%rows : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.divf %in, %n : f32
    linalg.yield %0 : f32
  } -> tensor<4xf32>
  %var = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %mean : tensor<4x16xf32>, tensor<4xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %m: f32, %o: f32):
    %0 = arith.subf %in, %m : f32
    %1 = arith.mulf %0, %0 : f32
    %2 = arith.addf %o, %1 : f32
    linalg.yield %2 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x16xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #col, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %mean, %var, %g, %b : tensor<4x16xf32>, tensor<4xf32>, tensor<4xf32>, tensor<16xf32>, tensor<16xf32>) outs(%full : tensor<4x16xf32>) {
  ^bb0(%in: f32, %m: f32, %v: f32, %w: f32, %bias: f32, %o: f32):
    %vn = arith.divf %v, %n : f32
    %ve = arith.addf %vn, %eps : f32
    %r = math.rsqrt %ve : f32
    %c = arith.subf %in, %m : f32
    %0 = arith.mulf %c, %r : f32
    %1 = arith.mulf %0, %w : f32
    %2 = arith.addf %1, %bias : f32
    linalg.yield %2 : f32
  } -> tensor<4x16xf32>
  return %y, %mean : tensor<4x16xf32>, tensor<4xf32>
}

// -----

// A rank-1 input: a single row, axis 0.
// CHECK-LABEL: func @rank1_rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<64xf32>)
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<64xf32>) outs(%{{.*}} : tensor<64xf32>) -> tensor<64xf32>
func.func @rank1_rms_norm(%x: tensor<64xf32>) -> tensor<64xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %scalar = tensor.empty() : tensor<f32>
  %acc = linalg.fill ins(%zero : f32) outs(%scalar : tensor<f32>) -> tensor<f32>
  %ss = linalg.reduce ins(%x : tensor<64xf32>) outs(%acc : tensor<f32>) dimensions = [0]
    (%in: f32, %init: f32) {
      %0 = arith.mulf %in, %in : f32
      %1 = arith.addf %0, %init : f32
      linalg.yield %1 : f32
    }
  %full = tensor.empty() : tensor<64xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x, %ss : tensor<64xf32>, tensor<f32>) outs(%full : tensor<64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<64xf32>
  return %y : tensor<64xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// Two norms of one input in one function, and a norm of a norm: each is
// captured on its own.
// CHECK-LABEL: func @several_norms
// CHECK-SAME: (%[[X:.*]]: tensor<3x16xf32>)
// CHECK-DAG: %[[LN:.*]] = norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<3x16xf32>)
// CHECK-DAG: %[[RMS:.*]] = norm.rms_norm eps(1.0e-05) ins(%[[X]] : tensor<3x16xf32>)
// CHECK: %[[RMS2:.*]] = norm.rms_norm eps(1.0e-05) ins(%[[LN]] : tensor<3x16xf32>)
// CHECK: return %[[RMS]], %[[RMS2]]
func.func @several_norms(%x: tensor<3x16xf32>) -> (tensor<3x16xf32>, tensor<3x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 16.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<3xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<3xf32>) -> tensor<3xf32>
  %full = tensor.empty() : tensor<3x16xf32>
  %stats:2 = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<3x16xf32>) outs(%acc, %acc : tensor<3xf32>, tensor<3xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32):
    %0 = arith.addf %s, %in : f32
    %1 = arith.mulf %in, %in : f32
    %2 = arith.addf %q, %1 : f32
    linalg.yield %0, %2 : f32, f32
  } -> (tensor<3xf32>, tensor<3xf32>)
  %ln = linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %stats#0, %stats#1 : tensor<3x16xf32>, tensor<3xf32>, tensor<3xf32>) outs(%full : tensor<3x16xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32, %o: f32):
    %mean = arith.divf %s, %n : f32
    %ms = arith.divf %q, %n : f32
    %m2 = arith.mulf %mean, %mean : f32
    %var = arith.subf %ms, %m2 : f32
    %ve = arith.addf %var, %eps : f32
    %r = math.rsqrt %ve : f32
    %c = arith.subf %in, %mean : f32
    %0 = arith.mulf %c, %r : f32
    linalg.yield %0 : f32
  } -> tensor<3x16xf32>
  %rms = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %stats#1 : tensor<3x16xf32>, tensor<3xf32>) outs(%full : tensor<3x16xf32>) {
  ^bb0(%in: f32, %q: f32, %o: f32):
    %ms = arith.divf %q, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<3x16xf32>
  %ss2 = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%ln : tensor<3x16xf32>) outs(%acc : tensor<3xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<3xf32>
  %rms2 = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%ln, %ss2 : tensor<3x16xf32>, tensor<3xf32>) outs(%full : tensor<3x16xf32>) {
  ^bb0(%in: f32, %q: f32, %o: f32):
    %ms = arith.divf %q, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<3x16xf32>
  return %rms, %rms2 : tensor<3x16xf32>, tensor<3x16xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#keep = affine_map<(d0, d1) -> (d0, 0)>
#col = affine_map<(d0, d1) -> (d1)>

// A batch of one row (unit leading dim), statistics in f64 from an f32
// input (extf to f64 and truncf back), keepdim statistics.
// CHECK-LABEL: func @unit_rows_f64_compute
// CHECK-SAME: (%[[X:.*]]: tensor<1x32xf32>, %[[G:.*]]: tensor<32xf32>)
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<1x32xf32>) gamma(%[[G]] : tensor<32xf32>) outs(%{{.*}} : tensor<1x32xf32>)
func.func @unit_rows_f64_compute(%x: tensor<1x32xf32>, %g: tensor<32xf32>) -> tensor<1x32xf32> {
  %zero = arith.constant 0.0 : f64
  %n = arith.constant 32.0 : f64
  %eps = arith.constant 1.0e-06 : f64
  %stat = tensor.empty() : tensor<1x1xf64>
  %acc = linalg.fill ins(%zero : f64) outs(%stat : tensor<1x1xf64>) -> tensor<1x1xf64>
  %ss = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<1x32xf32>) outs(%acc : tensor<1x1xf64>) {
  ^bb0(%in: f32, %o: f64):
    %d = arith.extf %in : f32 to f64
    %0 = arith.mulf %d, %d : f64
    %1 = arith.addf %o, %0 : f64
    linalg.yield %1 : f64
  } -> tensor<1x1xf64>
  %full = tensor.empty() : tensor<1x32xf32>
  %y = linalg.generic {indexing_maps = [#id, #keep, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss, %g : tensor<1x32xf32>, tensor<1x1xf64>, tensor<32xf32>) outs(%full : tensor<1x32xf32>) {
  ^bb0(%in: f32, %s: f64, %w: f32, %o: f32):
    %ms = arith.divf %s, %n : f64
    %ve = arith.addf %ms, %eps : f64
    %r = math.rsqrt %ve : f64
    %d = arith.extf %in : f32 to f64
    %0 = arith.mulf %d, %r : f64
    %1 = arith.truncf %0 : f64 to f32
    %2 = arith.mulf %1, %w : f32
    linalg.yield %2 : f32
  } -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// gamma folded into rstd before it meets the centred input:
// (x - mean) * (rstd * gamma) + beta, with gamma and beta in bf16 extended
// in the body.
// CHECK-LABEL: func @gamma_into_rstd
// CHECK-SAME: (%[[X:.*]]: tensor<2x24xf32>, %[[G:.*]]: tensor<24xbf16>, %[[B:.*]]: tensor<24xbf16>)
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<2x24xf32>) gamma(%[[G]] : tensor<24xbf16>) beta(%[[B]] : tensor<24xbf16>)
func.func @gamma_into_rstd(%x: tensor<2x24xf32>, %g: tensor<24xbf16>, %b: tensor<24xbf16>) -> tensor<2x24xf32> {
  %c2 = arith.constant 2 : i32
  %zero = arith.constant 0.0 : f32
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
  %var = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %sum : tensor<2x24xf32>, tensor<2xf32>) outs(%acc : tensor<2xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %m = arith.divf %s, %n : f32
    %0 = arith.subf %in, %m : f32
    %1 = math.fpowi %0, %c2 : f32, i32
    %2 = arith.addf %o, %1 : f32
    linalg.yield %2 : f32
  } -> tensor<2xf32>
  %full = tensor.empty() : tensor<2x24xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #col, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum, %var, %g, %b : tensor<2x24xf32>, tensor<2xf32>, tensor<2xf32>, tensor<24xbf16>, tensor<24xbf16>) outs(%full : tensor<2x24xf32>) {
  ^bb0(%in: f32, %s: f32, %v: f32, %wh: bf16, %bh: bf16, %o: f32):
    %w = arith.extf %wh : bf16 to f32
    %bias = arith.extf %bh : bf16 to f32
    %m = arith.divf %s, %n : f32
    %vn = arith.divf %v, %n : f32
    %ve = arith.addf %vn, %eps : f32
    %r = math.rsqrt %ve : f32
    %rw = arith.mulf %r, %w : f32
    %c = arith.subf %in, %m : f32
    %0 = arith.mulf %c, %rw : f32
    %1 = arith.addf %0, %bias : f32
    linalg.yield %1 : f32
  } -> tensor<2x24xf32>
  return %y : tensor<2x24xf32>
}

// -----

// Centred on the mean over the last dim, scaled by the root of the mean
// square of that centred tensor over the last two dims: not a LayerNorm,
// but exactly an RMSNorm (axis 1) of the centred tensor, which exists.
// CHECK-LABEL: func @rms_of_centred_tensor
// CHECK: %[[C:.*]] = tosa.sub
// CHECK: norm.rms_norm axis(1) eps(1.0e-05) ins(%[[C]] : tensor<2x4x8xf32>)
func.func @rms_of_centred_tensor(%x: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv8 = "tosa.const"() <{values = dense<1.250000e-01> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %inv32 = "tosa.const"() <{values = dense<3.125000e-02> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.0e-05> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %sum = tosa.reduce_sum %x {axis = 2 : i32} : (tensor<2x4x8xf32>) -> tensor<2x4x1xf32>
  %mean = tosa.mul %sum, %inv8, %shift : (tensor<2x4x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x4x1xf32>
  %c = tosa.sub %x, %mean : (tensor<2x4x8xf32>, tensor<2x4x1xf32>) -> tensor<2x4x8xf32>
  %sq = tosa.mul %c, %c, %shift : (tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<1xi8>) -> tensor<2x4x8xf32>
  %q2 = tosa.reduce_sum %sq {axis = 2 : i32} : (tensor<2x4x8xf32>) -> tensor<2x4x1xf32>
  %q1 = tosa.reduce_sum %q2 {axis = 1 : i32} : (tensor<2x4x1xf32>) -> tensor<2x1x1xf32>
  %var = tosa.mul %q1, %inv32, %shift : (tensor<2x1x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x1x1xf32>
  %ve = tosa.add %var, %eps : (tensor<2x1x1xf32>, tensor<1x1x1xf32>) -> tensor<2x1x1xf32>
  %r = tosa.rsqrt %ve : (tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %y = tosa.mul %c, %r, %shift : (tensor<2x4x8xf32>, tensor<2x1x1xf32>, tensor<1xi8>) -> tensor<2x4x8xf32>
  return %y : tensor<2x4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// The mean square as a sum of (x * c)^2 with c = 1/sqrt(N) (the scaled form
// that keeps the sum in range).
// CHECK-LABEL: func @scaled_square
// CHECK-SAME: (%[[X:.*]]: tensor<2x64xf32>)
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<2x64xf32>)
func.func @scaled_square(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %zero = arith.constant 0.0 : f32
  %c = arith.constant 1.250000e-01 : f32
  %eps = arith.constant 1.0e-06 : f32
  %rows = tensor.empty() : tensor<2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<2xf32>) -> tensor<2xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<2x64xf32>) outs(%acc : tensor<2xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %c : f32
    %1 = arith.mulf %0, %0 : f32
    %2 = arith.addf %o, %1 : f32
    linalg.yield %2 : f32
  } -> tensor<2xf32>
  %full = tensor.empty() : tensor<2x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<2x64xf32>, tensor<2xf32>) outs(%full : tensor<2x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ve = arith.addf %s, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<2x64xf32>
  return %y : tensor<2x64xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// A norm of a matmul: the translation stops at the contraction, whose
// result is the norm's input.
// CHECK-LABEL: func @norm_of_matmul
// CHECK: %[[MM:.*]] = linalg.matmul
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[MM]] : tensor<4x32xf32>)
func.func @norm_of_matmul(%a: tensor<4x8xf32>, %w: tensor<8x32xf32>) -> tensor<4x32xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 32.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %full = tensor.empty() : tensor<4x32xf32>
  %zf = linalg.fill ins(%zero : f32) outs(%full : tensor<4x32xf32>) -> tensor<4x32xf32>
  %x = linalg.matmul ins(%a, %w : tensor<4x8xf32>, tensor<8x32xf32>) outs(%zf : tensor<4x32xf32>) -> tensor<4x32xf32>
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x32xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<4x32xf32>, tensor<4xf32>) outs(%full : tensor<4x32xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// The inverse root as math.powf(v + eps, -0.5), and as sqrt(1 / (v + eps)).
// CHECK-LABEL: func @powf_minus_half
// CHECK: norm.rms_norm eps(1.0e-05) ins(%{{.*}} : tensor<3x16xf32>)
// CHECK-LABEL: func @sqrt_of_reciprocal
// CHECK: norm.rms_norm eps(1.0e-05) ins(%{{.*}} : tensor<3x16xf32>)
func.func @powf_minus_half(%x: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 16.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %mhalf = arith.constant -0.5 : f32
  %rows = tensor.empty() : tensor<3xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<3xf32>) -> tensor<3xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<3x16xf32>) outs(%acc : tensor<3xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<3xf32>
  %full = tensor.empty() : tensor<3x16xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<3x16xf32>, tensor<3xf32>) outs(%full : tensor<3x16xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.powf %ve, %mhalf : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

func.func @sqrt_of_reciprocal(%x: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 16.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<3xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<3xf32>) -> tensor<3xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<3x16xf32>) outs(%acc : tensor<3xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<3xf32>
  %full = tensor.empty() : tensor<3x16xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<3x16xf32>, tensor<3xf32>) outs(%full : tensor<3x16xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %inv = arith.divf %one, %ve : f32
    %r = math.sqrt %inv : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}
