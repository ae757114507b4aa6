// RUN: norm-opt %s --norm-capture -split-input-file | FileCheck %s
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s --allow-uncaptured | FileCheck %s --check-prefix=EQUIV %}

// GroupNorm / InstanceNorm / BatchNorm statistics as front ends emit them.
// torch's group_norm decomposition (DecomposeAtenNativeGroupNormOp) views
// [N, C, H, W] as [N, G, C/G*H*W], normalises the trailing dim (a true
// LayerNorm of the view, with mean.dim and an f64 var.dim), views back and
// applies a per-channel weight and bias; InstanceNorm (DecomposeAtenInstance
// NormOp) normalises the trailing [H, W] of NCHW. There the normalisation
// itself is a norm the op expresses (captured), while the per-channel
// affine varies along C, a dim that is not normalised, and stays after it.
// Channel-last GroupNorm (Keras GroupNormalization: moments over axes
// [1, 2, 4] of [N, H, W, G, C/G]), BatchNorm training statistics (over
// N, H, W of NCHW) and a group affine fused into the normalising generic
// are near misses: left alone.

// EQUIV-NOT: FAIL
// EQUIV: {{^}}7 passed, 0 failed

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#keep = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d1, 0, 0)>

// torch-mlir, F.group_norm(x, 4, w, b) on [2, 8, 2, 3]: aten.view to
// [2, 4, 12] (collapse_shape then expand_shape), mean.dim(-1) as sum + div,
// var.dim(unbiased=False) upcast to f64 and truncated, add.Scalar(eps),
// rsqrt, sub, mul, view back, weight and bias viewed as [8, 1, 1]. The
// LayerNorm of the [2, 4, 12] view is captured; the views and the
// per-channel affine stay.
// CHECK-LABEL: func @torch_group_norm_nchw
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x2x3xf32>, %[[W:.*]]: tensor<8xf32>, %[[B:.*]]: tensor<8xf32>)
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0], [1, 2, 3]]
// CHECK: %[[V:.*]] = tensor.expand_shape %[[C]] {{\[\[}}0], [1, 2]] output_shape [2, 4, 12]
// CHECK-NOT: linalg.generic
// CHECK: %[[N:.*]] = norm.layer_norm eps(1.0e-05) ins(%[[V]] : tensor<2x4x12xf32>) outs(%{{.*}} : tensor<2x4x12xf32>)
// CHECK-NOT: math.rsqrt
// CHECK: tensor.collapse_shape %[[N]]
// CHECK: linalg.generic
// CHECK: return
func.func @torch_group_norm_nchw(%x: tensor<2x8x2x3xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x8x2x3xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %cst64 = arith.constant 0.000000e+00 : f64
  %cst_eps = arith.constant 1.000000e-05 : f64
  %int12 = arith.constant 12 : i64
  %int1 = arith.constant 1 : i64
  %collapsed = tensor.collapse_shape %x [[0], [1, 2, 3]] : tensor<2x8x2x3xf32> into tensor<2x48xf32>
  %view = tensor.expand_shape %collapsed [[0], [1, 2]] output_shape [2, 4, 12] : tensor<2x48xf32> into tensor<2x4x12xf32>
  %0 = tensor.empty() : tensor<2x4x1xf32>
  %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %2 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "parallel", "reduction"]} ins(%view : tensor<2x4x12xf32>) outs(%1 : tensor<2x4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<2x4x1xf32>
  %mean = linalg.generic {indexing_maps = [#keep, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%2 : tensor<2x4x1xf32>) outs(%0 : tensor<2x4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.sitofp %int12 : i64 to f32
    %r = arith.divf %in, %n : f32
    linalg.yield %r : f32
  } -> tensor<2x4x1xf32>
  %3 = tensor.empty() : tensor<2x4x12xf64>
  %4 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%view : tensor<2x4x12xf32>) outs(%3 : tensor<2x4x12xf64>) {
  ^bb0(%in: f32, %out: f64):
    %r = arith.extf %in : f32 to f64
    linalg.yield %r : f64
  } -> tensor<2x4x12xf64>
  %5 = tensor.empty() : tensor<2x4x1xf64>
  %6 = linalg.fill ins(%cst64 : f64) outs(%5 : tensor<2x4x1xf64>) -> tensor<2x4x1xf64>
  %7 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "parallel", "reduction"]} ins(%4 : tensor<2x4x12xf64>) outs(%6 : tensor<2x4x1xf64>) {
  ^bb0(%in: f64, %out: f64):
    %r = arith.addf %in, %out : f64
    linalg.yield %r : f64
  } -> tensor<2x4x1xf64>
  %8 = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%4, %7 : tensor<2x4x12xf64>, tensor<2x4x1xf64>) outs(%3 : tensor<2x4x12xf64>) {
  ^bb0(%in: f64, %in_0: f64, %out: f64):
    %n = arith.sitofp %int12 : i64 to f64
    %m = arith.divf %in_0, %n : f64
    %a = arith.sitofp %int1 : i64 to f64
    %ma = arith.mulf %m, %a : f64
    %d = arith.subf %in, %ma : f64
    %r = arith.mulf %d, %d : f64
    linalg.yield %r : f64
  } -> tensor<2x4x12xf64>
  %9 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "parallel", "reduction"]} ins(%8 : tensor<2x4x12xf64>) outs(%6 : tensor<2x4x1xf64>) {
  ^bb0(%in: f64, %out: f64):
    %r = arith.addf %in, %out : f64
    linalg.yield %r : f64
  } -> tensor<2x4x1xf64>
  %rstd = linalg.generic {indexing_maps = [#keep, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%9 : tensor<2x4x1xf64>) outs(%0 : tensor<2x4x1xf32>) {
  ^bb0(%in: f64, %out: f32):
    %n = arith.sitofp %int12 : i64 to f64
    %v64 = arith.divf %in, %n : f64
    %v = arith.truncf %v64 : f64 to f32
    %e = arith.truncf %cst_eps : f64 to f32
    %a = arith.sitofp %int1 : i64 to f32
    %ea = arith.mulf %e, %a : f32
    %ve = arith.addf %v, %ea : f32
    %r = math.rsqrt %ve : f32
    linalg.yield %r : f32
  } -> tensor<2x4x1xf32>
  %10 = tensor.empty() : tensor<2x4x12xf32>
  %normed = linalg.generic {indexing_maps = [#id, #keep, #keep, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%view, %mean, %rstd : tensor<2x4x12xf32>, tensor<2x4x1xf32>, tensor<2x4x1xf32>) outs(%10 : tensor<2x4x12xf32>) {
  ^bb0(%in: f32, %m: f32, %rs: f32, %out: f32):
    %a = arith.sitofp %int1 : i64 to f32
    %ma = arith.mulf %m, %a : f32
    %d = arith.subf %in, %ma : f32
    %r = arith.mulf %d, %rs : f32
    linalg.yield %r : f32
  } -> tensor<2x4x12xf32>
  %back0 = tensor.collapse_shape %normed [[0], [1, 2]] : tensor<2x4x12xf32> into tensor<2x48xf32>
  %back = tensor.expand_shape %back0 [[0], [1, 2, 3]] output_shape [2, 8, 2, 3] : tensor<2x48xf32> into tensor<2x8x2x3xf32>
  %w3 = tensor.expand_shape %w [[0, 1, 2]] output_shape [8, 1, 1] : tensor<8xf32> into tensor<8x1x1xf32>
  %b3 = tensor.expand_shape %b [[0, 1, 2]] output_shape [8, 1, 1] : tensor<8xf32> into tensor<8x1x1xf32>
  %11 = tensor.empty() : tensor<2x8x2x3xf32>
  %y = linalg.generic {indexing_maps = [#id4, #ch4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%back, %w3, %b3 : tensor<2x8x2x3xf32>, tensor<8x1x1xf32>, tensor<8x1x1xf32>) outs(%11 : tensor<2x8x2x3xf32>) {
  ^bb0(%in: f32, %wv: f32, %bv: f32, %out: f32):
    %s = arith.mulf %in, %wv : f32
    %a = arith.sitofp %int1 : i64 to f32
    %ba = arith.mulf %bv, %a : f32
    %r = arith.addf %s, %ba : f32
    linalg.yield %r : f32
  } -> tensor<2x8x2x3xf32>
  return %y : tensor<2x8x2x3xf32>
}

// -----

// The same group_norm through TorchToTosa: tosa.reshape to [2, 4, 12],
// reduce_sum times 1/12, sub, mul, reduce_sum times 1/12, add eps, rsqrt,
// mul, tosa.reshape back to [2, 8, 2, 3], per-channel weight and bias
// reshaped to [1, 8, 1, 1]. The LayerNorm of the view is captured.
// CHECK-LABEL: func @torch_tosa_group_norm_nchw
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x2x3xf32>, %[[W:.*]]: tensor<8xf32>, %[[B:.*]]: tensor<8xf32>)
// CHECK: %[[V:.*]] = tosa.reshape %[[X]], %{{.*}} : (tensor<2x8x2x3xf32>, !tosa.shape<3>) -> tensor<2x4x12xf32>
// CHECK-NOT: tosa.reduce_sum
// CHECK-NOT: tosa.rsqrt
// CHECK: %[[N:.*]] = norm.layer_norm eps(1.0e-05) ins(%[[V]] : tensor<2x4x12xf32>) outs(%{{.*}} : tensor<2x4x12xf32>)
// CHECK-NOT: tosa.rsqrt
// CHECK: %[[BACK:.*]] = tosa.reshape %[[N]], %{{.*}} : (tensor<2x4x12xf32>, !tosa.shape<4>) -> tensor<2x8x2x3xf32>
// CHECK: tosa.mul %[[BACK]]
// CHECK: tosa.add
// CHECK: return
func.func @torch_tosa_group_norm_nchw(%x: tensor<2x8x2x3xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x8x2x3xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sv = tosa.const_shape {values = dense<[2, 4, 12]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %view = tosa.reshape %x, %sv : (tensor<2x8x2x3xf32>, !tosa.shape<3>) -> tensor<2x4x12xf32>
  %inv_n = "tosa.const"() <{values = dense<0.0833333358> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %eps = "tosa.const"() <{values = dense<9.99999974E-6> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %0 = tosa.reduce_sum %view {axis = 2 : i32} : (tensor<2x4x12xf32>) -> tensor<2x4x1xf32>
  %mean = tosa.mul %0, %inv_n, %shift : (tensor<2x4x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x4x1xf32>
  %d = tosa.sub %view, %mean : (tensor<2x4x12xf32>, tensor<2x4x1xf32>) -> tensor<2x4x12xf32>
  %dd = tosa.mul %d, %d, %shift : (tensor<2x4x12xf32>, tensor<2x4x12xf32>, tensor<1xi8>) -> tensor<2x4x12xf32>
  %1 = tosa.reduce_sum %dd {axis = 2 : i32} : (tensor<2x4x12xf32>) -> tensor<2x4x1xf32>
  %var = tosa.mul %1, %inv_n, %shift : (tensor<2x4x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x4x1xf32>
  %2 = tosa.add %var, %eps : (tensor<2x4x1xf32>, tensor<1x1x1xf32>) -> tensor<2x4x1xf32>
  %3 = tosa.rsqrt %2 : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %4 = tosa.mul %d, %3, %shift : (tensor<2x4x12xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x12xf32>
  %sb = tosa.const_shape {values = dense<[2, 8, 2, 3]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %5 = tosa.reshape %4, %sb : (tensor<2x4x12xf32>, !tosa.shape<4>) -> tensor<2x8x2x3xf32>
  %sc = tosa.const_shape {values = dense<[1, 8, 1, 1]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %w4 = tosa.reshape %w, %sc : (tensor<8xf32>, !tosa.shape<4>) -> tensor<1x8x1x1xf32>
  %b4 = tosa.reshape %b, %sc : (tensor<8xf32>, !tosa.shape<4>) -> tensor<1x8x1x1xf32>
  %6 = tosa.mul %5, %w4, %shift : (tensor<2x8x2x3xf32>, tensor<1x8x1x1xf32>, tensor<1xi8>) -> tensor<2x8x2x3xf32>
  %7 = tosa.add %6, %b4 : (tensor<2x8x2x3xf32>, tensor<1x8x1x1xf32>) -> tensor<2x8x2x3xf32>
  return %7 : tensor<2x8x2x3xf32>
}

// -----
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#keep4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, 0)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (0, d1, 0, 0)>

// torch-mlir, F.instance_norm (DecomposeAtenInstanceNormOp) on NCHW
// [2, 3, 4, 4]: mean.dim over [2, 3] keepdim, expand_as copies, sub, mul,
// sum.dim_IntList, div.Scalar(H*W = 16), add.Scalar(eps), rsqrt, mul, and
// the weight and bias unsqueezed to [1, 3, 1, 1] and expanded. The
// statistics are over the trailing H, W: a LayerNorm of axis 2, captured;
// the per-channel weight and bias stay.
// CHECK-LABEL: func @torch_instance_norm_nchw
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4x4xf32>, %[[W:.*]]: tensor<1x3x1x1xf32>, %[[B:.*]]: tensor<1x3x1x1xf32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[N:.*]] = norm.layer_norm axis(2) eps(1.0e-05) ins(%[[X]] : tensor<2x3x4x4xf32>) outs(%{{.*}} : tensor<2x3x4x4xf32>)
// CHECK-NOT: math.rsqrt
// CHECK: linalg.generic {{.*}} ins(%[[N]], %{{.*}}, %{{.*}} : tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>)
// CHECK: return
func.func @torch_instance_norm_nchw(%x: tensor<2x3x4x4xf32>, %w: tensor<1x3x1x1xf32>, %b: tensor<1x3x1x1xf32>) -> tensor<2x3x4x4xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %cst_eps = arith.constant 1.000000e-05 : f64
  %int16 = arith.constant 16 : i64
  %int1 = arith.constant 1 : i64
  %0 = tensor.empty() : tensor<2x3x1x1xf32>
  %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<2x3x1x1xf32>) -> tensor<2x3x1x1xf32>
  %2 = linalg.generic {indexing_maps = [#id4, #keep4], iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%x : tensor<2x3x4x4xf32>) outs(%1 : tensor<2x3x1x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<2x3x1x1xf32>
  %3 = linalg.generic {indexing_maps = [#keep4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%2 : tensor<2x3x1x1xf32>) outs(%0 : tensor<2x3x1x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.sitofp %int16 : i64 to f32
    %r = arith.divf %in, %n : f32
    linalg.yield %r : f32
  } -> tensor<2x3x1x1xf32>
  %4 = tensor.empty() : tensor<2x3x4x4xf32>
  %5 = linalg.generic {indexing_maps = [#keep4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%3 : tensor<2x3x1x1xf32>) outs(%4 : tensor<2x3x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<2x3x4x4xf32>
  %6 = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x, %5 : tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>) outs(%4 : tensor<2x3x4x4xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %a = arith.sitofp %int1 : i64 to f32
    %m = arith.mulf %in_0, %a : f32
    %r = arith.subf %in, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x3x4x4xf32>
  %7 = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%6, %6 : tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>) outs(%4 : tensor<2x3x4x4xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %r = arith.mulf %in, %in_0 : f32
    linalg.yield %r : f32
  } -> tensor<2x3x4x4xf32>
  %8 = linalg.generic {indexing_maps = [#id4, #keep4], iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%7 : tensor<2x3x4x4xf32>) outs(%1 : tensor<2x3x1x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<2x3x1x1xf32>
  %9 = linalg.generic {indexing_maps = [#keep4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%8 : tensor<2x3x1x1xf32>) outs(%0 : tensor<2x3x1x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.sitofp %int16 : i64 to f32
    %v = arith.divf %in, %n : f32
    %e = arith.truncf %cst_eps : f64 to f32
    %a = arith.sitofp %int1 : i64 to f32
    %ea = arith.mulf %e, %a : f32
    %ve = arith.addf %v, %ea : f32
    %r = math.rsqrt %ve : f32
    linalg.yield %r : f32
  } -> tensor<2x3x1x1xf32>
  %10 = linalg.generic {indexing_maps = [#keep4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%9 : tensor<2x3x1x1xf32>) outs(%4 : tensor<2x3x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<2x3x4x4xf32>
  %11 = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%6, %10 : tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>) outs(%4 : tensor<2x3x4x4xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %r = arith.mulf %in, %in_0 : f32
    linalg.yield %r : f32
  } -> tensor<2x3x4x4xf32>
  %12 = linalg.generic {indexing_maps = [#ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%w : tensor<1x3x1x1xf32>) outs(%4 : tensor<2x3x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<2x3x4x4xf32>
  %13 = linalg.generic {indexing_maps = [#ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%b : tensor<1x3x1x1xf32>) outs(%4 : tensor<2x3x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<2x3x4x4xf32>
  %14 = linalg.generic {indexing_maps = [#id4, #id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%11, %12, %13 : tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>) outs(%4 : tensor<2x3x4x4xf32>) {
  ^bb0(%in: f32, %in_0: f32, %in_1: f32, %out: f32):
    %s = arith.mulf %in, %in_0 : f32
    %a = arith.sitofp %int1 : i64 to f32
    %ba = arith.mulf %in_1, %a : f32
    %r = arith.addf %s, %ba : f32
    linalg.yield %r : f32
  } -> tensor<2x3x4x4xf32>
  return %14 : tensor<2x3x4x4xf32>
}

// -----
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#grp = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d1)>

// GroupNorm as IREE's input pipeline leaves it after reshape propagation:
// NCHW [2, 8, 3, 3] expanded to [N, G, C/G, H, W] = [2, 4, 2, 3, 3], both
// reductions over the trailing d2, d3, d4 into [2, 4], the normalising
// generic on the 5D view, collapsed back, then the per-channel affine in
// its own generic. A LayerNorm of axis 2 of the 5D view: captured.
// CHECK-LABEL: func @iree_group_norm_5d_view
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x3x3xf32>, %[[W:.*]]: tensor<8xf32>, %[[B:.*]]: tensor<8xf32>)
// CHECK: %[[V:.*]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1, 2], [3], [4]] output_shape [2, 4, 2, 3, 3]
// CHECK-NOT: linalg.generic
// CHECK: %[[N:.*]] = norm.layer_norm axis(2) eps(1.0e-05) ins(%[[V]] : tensor<2x4x2x3x3xf32>) outs(%{{.*}} : tensor<2x4x2x3x3xf32>)
// CHECK-NOT: math.rsqrt
// CHECK: %[[BACK:.*]] = tensor.collapse_shape %[[N]]
// CHECK: linalg.generic {{.*}} ins(%[[BACK]], %[[W]], %[[B]] :
// CHECK: return
func.func @iree_group_norm_5d_view(%x: tensor<2x8x3x3xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x8x3x3xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %n = arith.constant 1.800000e+01 : f32
  %eps = arith.constant 9.99999974E-6 : f32
  %view = tensor.expand_shape %x [[0], [1, 2], [3], [4]] output_shape [2, 4, 2, 3, 3] : tensor<2x8x3x3xf32> into tensor<2x4x2x3x3xf32>
  %0 = tensor.empty() : tensor<2x4xf32>
  %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<2x4xf32>) -> tensor<2x4xf32>
  %2 = linalg.generic {indexing_maps = [#id5, #grp], iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%view : tensor<2x4x2x3x3xf32>) outs(%1 : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<2x4xf32>
  %3 = linalg.generic {indexing_maps = [#id5, #grp, #grp], iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%view, %2 : tensor<2x4x2x3x3xf32>, tensor<2x4xf32>) outs(%1 : tensor<2x4xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %m = arith.divf %s, %n : f32
    %d = arith.subf %in, %m : f32
    %sq = arith.mulf %d, %d : f32
    %r = arith.addf %sq, %out : f32
    linalg.yield %r : f32
  } -> tensor<2x4xf32>
  %4 = tensor.empty() : tensor<2x4x2x3x3xf32>
  %5 = linalg.generic {indexing_maps = [#id5, #grp, #grp, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%view, %2, %3 : tensor<2x4x2x3x3xf32>, tensor<2x4xf32>, tensor<2x4xf32>) outs(%4 : tensor<2x4x2x3x3xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32, %out: f32):
    %m = arith.divf %s, %n : f32
    %d = arith.subf %in, %m : f32
    %v = arith.divf %q, %n : f32
    %ve = arith.addf %v, %eps : f32
    %rs = math.rsqrt %ve : f32
    %r = arith.mulf %d, %rs : f32
    linalg.yield %r : f32
  } -> tensor<2x4x2x3x3xf32>
  %back = tensor.collapse_shape %5 [[0], [1, 2], [3], [4]] : tensor<2x4x2x3x3xf32> into tensor<2x8x3x3xf32>
  %6 = tensor.empty() : tensor<2x8x3x3xf32>
  %y = linalg.generic {indexing_maps = [#id4, #ch4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%back, %w, %b : tensor<2x8x3x3xf32>, tensor<8xf32>, tensor<8xf32>) outs(%6 : tensor<2x8x3x3xf32>) {
  ^bb0(%in: f32, %wv: f32, %bv: f32, %out: f32):
    %s = arith.mulf %in, %wv : f32
    %r = arith.addf %s, %bv : f32
    linalg.yield %r : f32
  } -> tensor<2x8x3x3xf32>
  return %y : tensor<2x8x3x3xf32>
}

// -----
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#grp = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1)>
#gw = affine_map<(d0, d1, d2, d3, d4) -> (d1, d2)>

// Near miss. The same 5D GroupNorm with the per-channel weight, viewed as
// [G, C/G], fused into the normalising generic (IREE elementwise fusion):
// the weight varies along d1, the group, which is not normalised, and no
// value holds the normalisation without it. Not a norm the op expresses.
// CHECK-LABEL: func @iree_group_norm_5d_fused_weight
// CHECK-NOT: norm.
func.func @iree_group_norm_5d_fused_weight(%x: tensor<2x4x2x3x3xf32>, %w: tensor<4x2xf32>) -> tensor<2x4x2x3x3xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %n = arith.constant 1.800000e+01 : f32
  %eps = arith.constant 9.99999974E-6 : f32
  %0 = tensor.empty() : tensor<2x4xf32>
  %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<2x4xf32>) -> tensor<2x4xf32>
  %2 = linalg.generic {indexing_maps = [#id5, #grp], iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x : tensor<2x4x2x3x3xf32>) outs(%1 : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<2x4xf32>
  %3 = linalg.generic {indexing_maps = [#id5, #grp, #grp], iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x, %2 : tensor<2x4x2x3x3xf32>, tensor<2x4xf32>) outs(%1 : tensor<2x4xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %m = arith.divf %s, %n : f32
    %d = arith.subf %in, %m : f32
    %sq = arith.mulf %d, %d : f32
    %r = arith.addf %sq, %out : f32
    linalg.yield %r : f32
  } -> tensor<2x4xf32>
  %4 = tensor.empty() : tensor<2x4x2x3x3xf32>
  %5 = linalg.generic {indexing_maps = [#id5, #grp, #grp, #gw, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%x, %2, %3, %w : tensor<2x4x2x3x3xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<4x2xf32>) outs(%4 : tensor<2x4x2x3x3xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32, %wv: f32, %out: f32):
    %m = arith.divf %s, %n : f32
    %d = arith.subf %in, %m : f32
    %v = arith.divf %q, %n : f32
    %ve = arith.addf %v, %eps : f32
    %rs = math.rsqrt %ve : f32
    %nn = arith.mulf %d, %rs : f32
    %r = arith.mulf %nn, %wv : f32
    linalg.yield %r : f32
  } -> tensor<2x4x2x3x3xf32>
  return %5 : tensor<2x4x2x3x3xf32>
}

// -----

// Near miss. Keras GroupNormalization in channels_last (also what TFLite
// models carry): NHWC [2, 4, 4, 8] reshaped to [N, H, W, G, C/G] =
// [2, 4, 4, 2, 4], moments over axes [1, 2, 4]. The reduced dims are not a
// suffix (the group axis 3 sits between them): not expressible by the op.
// CHECK-LABEL: func @keras_group_norm_channels_last
// CHECK-NOT: norm.
func.func @keras_group_norm_channels_last(%x: tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %s5 = tosa.const_shape {values = dense<[2, 4, 4, 2, 4]> : tensor<5xindex>} : () -> !tosa.shape<5>
  %g = tosa.reshape %x, %s5 : (tensor<2x4x4x8xf32>, !tosa.shape<5>) -> tensor<2x4x4x2x4xf32>
  %inv_n = "tosa.const"() <{values = dense<1.562500e-02> : tensor<1x1x1x1x1xf32>}> : () -> tensor<1x1x1x1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.000000e-03> : tensor<1x1x1x1x1xf32>}> : () -> tensor<1x1x1x1x1xf32>
  %0 = tosa.reduce_sum %g {axis = 1 : i32} : (tensor<2x4x4x2x4xf32>) -> tensor<2x1x4x2x4xf32>
  %1 = tosa.reduce_sum %0 {axis = 2 : i32} : (tensor<2x1x4x2x4xf32>) -> tensor<2x1x1x2x4xf32>
  %2 = tosa.reduce_sum %1 {axis = 4 : i32} : (tensor<2x1x1x2x4xf32>) -> tensor<2x1x1x2x1xf32>
  %mean = tosa.mul %2, %inv_n, %shift : (tensor<2x1x1x2x1xf32>, tensor<1x1x1x1x1xf32>, tensor<1xi8>) -> tensor<2x1x1x2x1xf32>
  %d = tosa.sub %g, %mean : (tensor<2x4x4x2x4xf32>, tensor<2x1x1x2x1xf32>) -> tensor<2x4x4x2x4xf32>
  %dd = tosa.mul %d, %d, %shift : (tensor<2x4x4x2x4xf32>, tensor<2x4x4x2x4xf32>, tensor<1xi8>) -> tensor<2x4x4x2x4xf32>
  %3 = tosa.reduce_sum %dd {axis = 1 : i32} : (tensor<2x4x4x2x4xf32>) -> tensor<2x1x4x2x4xf32>
  %4 = tosa.reduce_sum %3 {axis = 2 : i32} : (tensor<2x1x4x2x4xf32>) -> tensor<2x1x1x2x4xf32>
  %5 = tosa.reduce_sum %4 {axis = 4 : i32} : (tensor<2x1x1x2x4xf32>) -> tensor<2x1x1x2x1xf32>
  %var = tosa.mul %5, %inv_n, %shift : (tensor<2x1x1x2x1xf32>, tensor<1x1x1x1x1xf32>, tensor<1xi8>) -> tensor<2x1x1x2x1xf32>
  %6 = tosa.add %var, %eps : (tensor<2x1x1x2x1xf32>, tensor<1x1x1x1x1xf32>) -> tensor<2x1x1x2x1xf32>
  %7 = tosa.rsqrt %6 : (tensor<2x1x1x2x1xf32>) -> tensor<2x1x1x2x1xf32>
  %8 = tosa.mul %d, %7, %shift : (tensor<2x4x4x2x4xf32>, tensor<2x1x1x2x1xf32>, tensor<1xi8>) -> tensor<2x4x4x2x4xf32>
  %s4 = tosa.const_shape {values = dense<[2, 4, 4, 8]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %y = tosa.reshape %8, %s4 : (tensor<2x4x4x2x4xf32>, !tosa.shape<4>) -> tensor<2x4x4x8xf32>
  return %y : tensor<2x4x4x8xf32>
}

// -----
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#bstat = affine_map<(d0, d1, d2, d3) -> (0, d1, 0, 0)>

// Near miss. torch's native_batch_norm in training mode through
// torch-mlir: mean and biased variance per channel, i.e. over N, H, W
// (d0, d2, d3) of NCHW, keepdim [1, C, 1, 1]. The reduced dims are not a
// suffix: BatchNorm statistics, not a norm the op expresses.
// CHECK-LABEL: func @torch_batch_norm_training_statistics
// CHECK-NOT: norm.
func.func @torch_batch_norm_training_statistics(%x: tensor<2x3x4x4xf32>) -> tensor<2x3x4x4xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %cst_eps = arith.constant 1.000000e-05 : f64
  %int32 = arith.constant 32 : i64
  %0 = tensor.empty() : tensor<1x3x1x1xf32>
  %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<1x3x1x1xf32>) -> tensor<1x3x1x1xf32>
  %2 = linalg.generic {indexing_maps = [#id4, #bstat], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%x : tensor<2x3x4x4xf32>) outs(%1 : tensor<1x3x1x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<1x3x1x1xf32>
  %3 = tensor.empty() : tensor<2x3x4x4xf32>
  %4 = linalg.generic {indexing_maps = [#id4, #bstat, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x, %2 : tensor<2x3x4x4xf32>, tensor<1x3x1x1xf32>) outs(%3 : tensor<2x3x4x4xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %n = arith.sitofp %int32 : i64 to f32
    %m = arith.divf %s, %n : f32
    %r = arith.subf %in, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x3x4x4xf32>
  %5 = linalg.generic {indexing_maps = [#id4, #bstat], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%4 : tensor<2x3x4x4xf32>) outs(%1 : tensor<1x3x1x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %sq = arith.mulf %in, %in : f32
    %r = arith.addf %sq, %out : f32
    linalg.yield %r : f32
  } -> tensor<1x3x1x1xf32>
  %6 = linalg.generic {indexing_maps = [#id4, #bstat, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%4, %5 : tensor<2x3x4x4xf32>, tensor<1x3x1x1xf32>) outs(%3 : tensor<2x3x4x4xf32>) {
  ^bb0(%in: f32, %q: f32, %out: f32):
    %n = arith.sitofp %int32 : i64 to f32
    %v = arith.divf %q, %n : f32
    %e = arith.truncf %cst_eps : f64 to f32
    %ve = arith.addf %v, %e : f32
    %rs = math.rsqrt %ve : f32
    %r = arith.mulf %in, %rs : f32
    linalg.yield %r : f32
  } -> tensor<2x3x4x4xf32>
  return %6 : tensor<2x3x4x4xf32>
}
