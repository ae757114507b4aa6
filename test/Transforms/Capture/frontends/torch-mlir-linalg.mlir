// RUN: norm-opt %s --norm-capture -split-input-file | FileCheck %s
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s --allow-uncaptured | FileCheck %s --check-prefix=EQUIV %}

// torch-mlir, TorchToLinalg: what `torch-backend-to-linalg-on-tensors`
// emits after DecomposeComplexOps has split aten.native_layer_norm /
// aten.rms_norm / aten.var into aten.mean.dim (sum.dim_IntList + div.Scalar),
// aten.sub/mul/add.Tensor, aten.add.Scalar, aten.rsqrt and aten.expand_as.
// Its spelling: one linalg.generic per aten op; keepdim statistics written
// through maps with constant 0 (`(d0, d1, 0)`, and `(0, d1, d2)` for a unit
// batch); the integer N of div.Scalar converted in the payload
// (`arith.sitofp %n : i64 to f32`); every alpha of add/sub multiplied in
// (`x - y * sitofp(1)`); the f64 eps of add.Scalar truncated in the payload;
// aten.var upcast to f64 and truncated back (calculateVariance); expand_as
// materialised as a broadcasting copy generic. Function arguments stand for
// the torch_c.to_builtin_tensor values. The last functions are near misses
// torch code also produces (left alone).

// EQUIV-NOT: FAIL
// EQUIV: {{^}}12 passed, 0 failed

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc = affine_map<(d0, d1, d2) -> (0, d1, d2)>
#keep = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#stat = affine_map<(d0, d1, d2) -> (0, d1, 0)>
#col = affine_map<(d0, d1, d2) -> (d2)>

// torch-mlir (today's DecomposeAtenNativeLayerNormOp, F.layer_norm of a
// [1, 6, 32] activation): mean.dim as sum + div.Scalar(64 -> sitofp), the
// mean and rstd broadcast back with expand_as copy generics, sub with alpha,
// mul(d, d), mean.dim again, add.Scalar(eps: f64, alpha), rsqrt, mul, then
// weight and bias (alpha again), all read through `(0, d1, d2)`.
// CHECK-LABEL: func @torch_native_layer_norm_expand_as
// CHECK-SAME: (%[[X:.*]]: tensor<1x6x32xf32>, %[[W:.*]]: tensor<32xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[Y:.*]] = norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<1x6x32xf32>) gamma(%[[W]] : tensor<32xf32>) beta(%[[B]] : tensor<32xf32>) outs(%{{.*}} : tensor<1x6x32xf32>) -> tensor<1x6x32xf32>
// CHECK-NOT: linalg.generic
// CHECK-NOT: math.rsqrt
// CHECK: return %[[Y]]
func.func @torch_native_layer_norm_expand_as(%x: tensor<1x6x32xf32>, %w: tensor<32xf32>, %b: tensor<32xf32>) -> tensor<1x6x32xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %cst_eps = arith.constant 1.000000e-05 : f64
  %int32 = arith.constant 32 : i64
  %int1 = arith.constant 1 : i64
  %0 = tensor.empty() : tensor<1x6x1xf32>
  %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<1x6x1xf32>) -> tensor<1x6x1xf32>
  %2 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<1x6x32xf32>) outs(%1 : tensor<1x6x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<1x6x1xf32>
  %3 = linalg.generic {indexing_maps = [#stat, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%2 : tensor<1x6x1xf32>) outs(%0 : tensor<1x6x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.sitofp %int32 : i64 to f32
    %r = arith.divf %in, %n : f32
    linalg.yield %r : f32
  } -> tensor<1x6x1xf32>
  %4 = tensor.empty() : tensor<1x6x32xf32>
  %5 = linalg.generic {indexing_maps = [#stat, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%3 : tensor<1x6x1xf32>) outs(%4 : tensor<1x6x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x6x32xf32>
  %6 = linalg.generic {indexing_maps = [#bc, #bc, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %5 : tensor<1x6x32xf32>, tensor<1x6x32xf32>) outs(%4 : tensor<1x6x32xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %a = arith.sitofp %int1 : i64 to f32
    %m = arith.mulf %in_0, %a : f32
    %r = arith.subf %in, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x6x32xf32>
  %7 = linalg.generic {indexing_maps = [#bc, #bc, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%6, %6 : tensor<1x6x32xf32>, tensor<1x6x32xf32>) outs(%4 : tensor<1x6x32xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %r = arith.mulf %in, %in_0 : f32
    linalg.yield %r : f32
  } -> tensor<1x6x32xf32>
  %8 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "parallel", "reduction"]} ins(%7 : tensor<1x6x32xf32>) outs(%1 : tensor<1x6x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<1x6x1xf32>
  %9 = linalg.generic {indexing_maps = [#stat, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%8 : tensor<1x6x1xf32>) outs(%0 : tensor<1x6x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.sitofp %int32 : i64 to f32
    %r = arith.divf %in, %n : f32
    linalg.yield %r : f32
  } -> tensor<1x6x1xf32>
  %10 = linalg.generic {indexing_maps = [#stat, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%9 : tensor<1x6x1xf32>) outs(%0 : tensor<1x6x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = arith.truncf %cst_eps : f64 to f32
    %a = arith.sitofp %int1 : i64 to f32
    %ea = arith.mulf %e, %a : f32
    %r = arith.addf %in, %ea : f32
    linalg.yield %r : f32
  } -> tensor<1x6x1xf32>
  %11 = linalg.generic {indexing_maps = [#stat, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%10 : tensor<1x6x1xf32>) outs(%0 : tensor<1x6x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.rsqrt %in : f32
    linalg.yield %r : f32
  } -> tensor<1x6x1xf32>
  %12 = linalg.generic {indexing_maps = [#stat, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%11 : tensor<1x6x1xf32>) outs(%4 : tensor<1x6x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x6x32xf32>
  %13 = linalg.generic {indexing_maps = [#bc, #bc, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%6, %12 : tensor<1x6x32xf32>, tensor<1x6x32xf32>) outs(%4 : tensor<1x6x32xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %r = arith.mulf %in, %in_0 : f32
    linalg.yield %r : f32
  } -> tensor<1x6x32xf32>
  %14 = linalg.generic {indexing_maps = [#bc, #col, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%13, %w : tensor<1x6x32xf32>, tensor<32xf32>) outs(%4 : tensor<1x6x32xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %r = arith.mulf %in, %in_0 : f32
    linalg.yield %r : f32
  } -> tensor<1x6x32xf32>
  %15 = linalg.generic {indexing_maps = [#bc, #col, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%14, %b : tensor<1x6x32xf32>, tensor<32xf32>) outs(%4 : tensor<1x6x32xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %a = arith.sitofp %int1 : i64 to f32
    %m = arith.mulf %in_0, %a : f32
    %r = arith.addf %in, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x6x32xf32>
  return %15 : tensor<1x6x32xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#keep = affine_map<(d0, d1) -> (d0, 0)>
#col = affine_map<(d0, d1) -> (d1)>

// torch-mlir, HuggingFace LlamaRMSNorm on a bf16 [?, 48] activation with a
// dynamic sequence: hidden.to(float32) (extf generic), pow(2) as
// aten.pow.Tensor_Scalar with a float exponent (math.powf of the f64 2.0
// truncated), mean(-1, keepdim=True), add.Scalar(eps), rsqrt, mul,
// .to(bfloat16) (truncf generic), then `weight * hidden` in bf16.
// CHECK-LABEL: func @torch_llama_rms_norm_bf16_dynamic_rows
// CHECK-SAME: (%[[X:.*]]: tensor<?x48xbf16>, %[[W:.*]]: tensor<48xbf16>)
// CHECK-NOT: linalg.generic
// CHECK: %[[Y:.*]] = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<?x48xbf16>) gamma(%[[W]] : tensor<48xbf16>) outs(%{{.*}} : tensor<?x48xbf16>) -> tensor<?x48xbf16>
// CHECK-NOT: linalg.generic
// CHECK-NOT: math.powf
// CHECK: return %[[Y]]
func.func @torch_llama_rms_norm_bf16_dynamic_rows(%x: tensor<?x48xbf16>, %w: tensor<48xbf16>) -> tensor<?x48xbf16> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst_two = arith.constant 2.000000e+00 : f64
  %cst_eps = arith.constant 9.9999999999999995E-7 : f64
  %int48 = arith.constant 48 : i64
  %int1 = arith.constant 1 : i64
  %dim = tensor.dim %x, %c0 : tensor<?x48xbf16>
  %0 = tensor.empty(%dim) : tensor<?x48xf32>
  %1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<?x48xbf16>) outs(%0 : tensor<?x48xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %r = arith.extf %in : bf16 to f32
    linalg.yield %r : f32
  } -> tensor<?x48xf32>
  %2 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%1 : tensor<?x48xf32>) outs(%0 : tensor<?x48xf32>) {
  ^bb0(%in: f32, %out: f32):
    %t = arith.truncf %cst_two : f64 to f32
    %r = math.powf %in, %t : f32
    linalg.yield %r : f32
  } -> tensor<?x48xf32>
  %3 = tensor.empty(%dim) : tensor<?x1xf32>
  %4 = linalg.fill ins(%cst : f32) outs(%3 : tensor<?x1xf32>) -> tensor<?x1xf32>
  %5 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]} ins(%2 : tensor<?x48xf32>) outs(%4 : tensor<?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<?x1xf32>
  %6 = linalg.generic {indexing_maps = [#keep, #id], iterator_types = ["parallel", "parallel"]} ins(%5 : tensor<?x1xf32>) outs(%3 : tensor<?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.sitofp %int48 : i64 to f32
    %r = arith.divf %in, %n : f32
    linalg.yield %r : f32
  } -> tensor<?x1xf32>
  %7 = linalg.generic {indexing_maps = [#keep, #id], iterator_types = ["parallel", "parallel"]} ins(%6 : tensor<?x1xf32>) outs(%3 : tensor<?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = arith.truncf %cst_eps : f64 to f32
    %a = arith.sitofp %int1 : i64 to f32
    %ea = arith.mulf %e, %a : f32
    %r = arith.addf %in, %ea : f32
    linalg.yield %r : f32
  } -> tensor<?x1xf32>
  %8 = linalg.generic {indexing_maps = [#keep, #id], iterator_types = ["parallel", "parallel"]} ins(%7 : tensor<?x1xf32>) outs(%3 : tensor<?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.rsqrt %in : f32
    linalg.yield %r : f32
  } -> tensor<?x1xf32>
  %9 = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel"]} ins(%1, %8 : tensor<?x48xf32>, tensor<?x1xf32>) outs(%0 : tensor<?x48xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %r = arith.mulf %in, %in_0 : f32
    linalg.yield %r : f32
  } -> tensor<?x48xf32>
  %10 = tensor.empty(%dim) : tensor<?x48xbf16>
  %11 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%9 : tensor<?x48xf32>) outs(%10 : tensor<?x48xbf16>) {
  ^bb0(%in: f32, %out: bf16):
    %r = arith.truncf %in : f32 to bf16
    linalg.yield %r : bf16
  } -> tensor<?x48xbf16>
  %12 = linalg.generic {indexing_maps = [#col, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%w, %11 : tensor<48xbf16>, tensor<?x48xbf16>) outs(%10 : tensor<?x48xbf16>) {
  ^bb0(%in: bf16, %in_0: bf16, %out: bf16):
    %r = arith.mulf %in, %in_0 : bf16
    linalg.yield %r : bf16
  } -> tensor<?x48xbf16>
  return %12 : tensor<?x48xbf16>
}

// -----
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#keep2 = affine_map<(d0, d1, d2) -> (d0, 0, 0)>
#wb = affine_map<(d0, d1, d2) -> (d1, d2)>

// torch-mlir, F.layer_norm(x, normalized_shape=[H, W]) with dynamic H and W:
// mean.dim over [1, 2] divides by size(1) * size(2), i.e. tensor.dim ->
// index_cast -> arith.muli on i64 -> sitofp in the payload; keepdim
// statistics [2, 1, 1] read through (d0, 0, 0); weight and bias [H, W].
// CHECK-LABEL: func @torch_layer_norm_two_dynamic_dims
// CHECK-SAME: (%[[X:.*]]: tensor<2x?x?xf32>, %[[W:.*]]: tensor<?x?xf32>, %[[B:.*]]: tensor<?x?xf32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[Y:.*]] = norm.layer_norm axis(1) eps(1.0e-05) ins(%[[X]] : tensor<2x?x?xf32>) gamma(%[[W]] : tensor<?x?xf32>) beta(%[[B]] : tensor<?x?xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @torch_layer_norm_two_dynamic_dims(%x: tensor<2x?x?xf32>, %w: tensor<?x?xf32>, %b: tensor<?x?xf32>) -> tensor<2x?x?xf32> {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst_eps = arith.constant 1.000000e-05 : f64
  %int1 = arith.constant 1 : i64
  %dim1 = tensor.dim %x, %c1 : tensor<2x?x?xf32>
  %dim2 = tensor.dim %x, %c2 : tensor<2x?x?xf32>
  %s1 = arith.index_cast %dim1 : index to i64
  %s2 = arith.index_cast %dim2 : index to i64
  %numel = arith.muli %s1, %s2 : i64
  %0 = tensor.empty() : tensor<2x1x1xf32>
  %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %2 = linalg.generic {indexing_maps = [#id, #keep2], iterator_types = ["parallel", "reduction", "reduction"]} ins(%x : tensor<2x?x?xf32>) outs(%1 : tensor<2x1x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<2x1x1xf32>
  %3 = linalg.generic {indexing_maps = [#keep2, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%2 : tensor<2x1x1xf32>) outs(%0 : tensor<2x1x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.sitofp %numel : i64 to f32
    %r = arith.divf %in, %n : f32
    linalg.yield %r : f32
  } -> tensor<2x1x1xf32>
  %4 = tensor.empty(%dim1, %dim2) : tensor<2x?x?xf32>
  %5 = linalg.generic {indexing_maps = [#id, #keep2, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %3 : tensor<2x?x?xf32>, tensor<2x1x1xf32>) outs(%4 : tensor<2x?x?xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %a = arith.sitofp %int1 : i64 to f32
    %m = arith.mulf %in_0, %a : f32
    %r = arith.subf %in, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x?x?xf32>
  %6 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%5, %5 : tensor<2x?x?xf32>, tensor<2x?x?xf32>) outs(%4 : tensor<2x?x?xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %r = arith.mulf %in, %in_0 : f32
    linalg.yield %r : f32
  } -> tensor<2x?x?xf32>
  %7 = linalg.generic {indexing_maps = [#id, #keep2], iterator_types = ["parallel", "reduction", "reduction"]} ins(%6 : tensor<2x?x?xf32>) outs(%1 : tensor<2x1x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<2x1x1xf32>
  %8 = linalg.generic {indexing_maps = [#keep2, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%7 : tensor<2x1x1xf32>) outs(%0 : tensor<2x1x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.sitofp %numel : i64 to f32
    %v = arith.divf %in, %n : f32
    %e = arith.truncf %cst_eps : f64 to f32
    %a = arith.sitofp %int1 : i64 to f32
    %ea = arith.mulf %e, %a : f32
    %ve = arith.addf %v, %ea : f32
    %r = math.rsqrt %ve : f32
    linalg.yield %r : f32
  } -> tensor<2x1x1xf32>
  %9 = linalg.generic {indexing_maps = [#id, #keep2, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%5, %8 : tensor<2x?x?xf32>, tensor<2x1x1xf32>) outs(%4 : tensor<2x?x?xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %r = arith.mulf %in, %in_0 : f32
    linalg.yield %r : f32
  } -> tensor<2x?x?xf32>
  %10 = linalg.generic {indexing_maps = [#id, #wb, #wb, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%9, %w, %b : tensor<2x?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>) outs(%4 : tensor<2x?x?xf32>) {
  ^bb0(%in: f32, %in_0: f32, %in_1: f32, %out: f32):
    %s = arith.mulf %in, %in_0 : f32
    %a = arith.sitofp %int1 : i64 to f32
    %m = arith.mulf %in_1, %a : f32
    %r = arith.addf %s, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x?x?xf32>
  return %10 : tensor<2x?x?xf32>
}

// -----
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#rows3 = affine_map<(d0, d1, d2) -> (d0, d1)>
#col3 = affine_map<(d0, d1, d2) -> (d2)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>

// torch-mlir before September 2022 (ConvertAtenNativeLayerNormOp in
// TorchToLinalg, since replaced by the decomposition): collapsed [B, S]
// statistics, the sum accumulated as `acc + x`, N = sitofp of the i64
// normalized_shape outside the payloads, the variance reduction centring
// inline, one 5-input generic for `(x - mean) * rstd * weight + bias`, and
// mean and rstd returned too, expanded to [B, S, 1]. The norm replaces the
// output only; the statistics returned stay.
// CHECK-LABEL: func @torch_2022_fused_native_layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x16xf32>, %[[W:.*]]: tensor<16xf32>, %[[B:.*]]: tensor<16xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<2x3x16xf32>)
// CHECK: %[[MEAN:.*]] = linalg.generic {{.*}} ins(%[[SUM]] : tensor<2x3xf32>)
// CHECK: math.rsqrt
// CHECK: %[[Y:.*]] = norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<2x3x16xf32>) gamma(%[[W]] : tensor<16xf32>) beta(%[[B]] : tensor<16xf32>)
// CHECK: %[[ME:.*]] = tensor.expand_shape %[[MEAN]]
// CHECK: %[[RE:.*]] = tensor.expand_shape
// CHECK: return %[[Y]], %[[ME]], %[[RE]]
func.func @torch_2022_fused_native_layer_norm(%x: tensor<2x3x16xf32>, %w: tensor<16xf32>, %b: tensor<16xf32>) -> (tensor<2x3x16xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>) {
  %cst = arith.constant 0.000000e+00 : f32
  %cst_eps = arith.constant 9.9999997473787516E-6 : f64
  %int16 = arith.constant 16 : i64
  %nf = arith.sitofp %int16 : i64 to f32
  %0 = tensor.empty() : tensor<2x3xf32>
  %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = linalg.generic {indexing_maps = [#id3, #rows3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x16xf32>) outs(%1 : tensor<2x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %out, %in : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %3 = tensor.empty() : tensor<2x3xf32>
  %4 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%2 : tensor<2x3xf32>) outs(%3 : tensor<2x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.divf %in, %nf : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %5 = linalg.fill ins(%cst : f32) outs(%0 : tensor<2x3xf32>) -> tensor<2x3xf32>
  %6 = linalg.generic {indexing_maps = [#id3, #rows3, #rows3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %4 : tensor<2x3x16xf32>, tensor<2x3xf32>) outs(%5 : tensor<2x3xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %d = arith.subf %in, %in_0 : f32
    %sq = arith.mulf %d, %d : f32
    %r = arith.addf %out, %sq : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %7 = tensor.empty() : tensor<2x3xf32>
  %8 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%6 : tensor<2x3xf32>) outs(%7 : tensor<2x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.divf %in, %nf : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %9 = tensor.empty() : tensor<2x3xf32>
  %10 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%8 : tensor<2x3xf32>) outs(%9 : tensor<2x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = arith.truncf %cst_eps : f64 to f32
    %ve = arith.addf %in, %e : f32
    %r = math.rsqrt %ve : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %11 = tensor.empty() : tensor<2x3x16xf32>
  %12 = linalg.generic {indexing_maps = [#id3, #rows3, #rows3, #col3, #col3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %4, %10, %w, %b : tensor<2x3x16xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<16xf32>, tensor<16xf32>) outs(%11 : tensor<2x3x16xf32>) {
  ^bb0(%in: f32, %m: f32, %rs: f32, %wv: f32, %bv: f32, %out: f32):
    %d = arith.subf %in, %m : f32
    %n = arith.mulf %d, %rs : f32
    %s = arith.mulf %n, %wv : f32
    %r = arith.addf %s, %bv : f32
    linalg.yield %r : f32
  } -> tensor<2x3x16xf32>
  %expanded = tensor.expand_shape %4 [[0], [1, 2]] output_shape [2, 3, 1] : tensor<2x3xf32> into tensor<2x3x1xf32>
  %expanded_0 = tensor.expand_shape %10 [[0], [1, 2]] output_shape [2, 3, 1] : tensor<2x3xf32> into tensor<2x3x1xf32>
  return %12, %expanded, %expanded_0 : tensor<2x3x16xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#keep = affine_map<(d0, d1) -> (d0, 0)>
#col = affine_map<(d0, d1) -> (d1)>

// torch-mlir, a T5/LLaMA-style RMSNorm of `hidden + residual` written in
// torch: aten.add.Tensor multiplies its second operand by alpha
// (`x + r * sitofp(1)`), aten.mul(h, h), mean.dim with div.Scalar, and eps
// a !torch.float function argument (f64, truncated in the payload).
// CHECK-LABEL: func @torch_rms_norm_residual_alpha_runtime_eps
// CHECK-SAME: (%[[X:.*]]: tensor<4x40xf32>, %[[R:.*]]: tensor<4x40xf32>, %[[W:.*]]: tensor<40xf32>, %[[EPS:.*]]: f64)
// CHECK-NOT: linalg.generic
// CHECK: %[[Y:.*]] = norm.rms_norm eps(%[[EPS]] : f64) ins(%[[X]] : tensor<4x40xf32>) residual(%[[R]] : tensor<4x40xf32>) gamma(%[[W]] : tensor<40xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @torch_rms_norm_residual_alpha_runtime_eps(%x: tensor<4x40xf32>, %res: tensor<4x40xf32>, %w: tensor<40xf32>, %eps: f64) -> tensor<4x40xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %int40 = arith.constant 40 : i64
  %int1 = arith.constant 1 : i64
  %0 = tensor.empty() : tensor<4x40xf32>
  %1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %res : tensor<4x40xf32>, tensor<4x40xf32>) outs(%0 : tensor<4x40xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %a = arith.sitofp %int1 : i64 to f32
    %m = arith.mulf %in_0, %a : f32
    %r = arith.addf %in, %m : f32
    linalg.yield %r : f32
  } -> tensor<4x40xf32>
  %2 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%1, %1 : tensor<4x40xf32>, tensor<4x40xf32>) outs(%0 : tensor<4x40xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %r = arith.mulf %in, %in_0 : f32
    linalg.yield %r : f32
  } -> tensor<4x40xf32>
  %3 = tensor.empty() : tensor<4x1xf32>
  %4 = linalg.fill ins(%cst : f32) outs(%3 : tensor<4x1xf32>) -> tensor<4x1xf32>
  %5 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]} ins(%2 : tensor<4x40xf32>) outs(%4 : tensor<4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %6 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%5 : tensor<4x1xf32>) outs(%3 : tensor<4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.sitofp %int40 : i64 to f32
    %v = arith.divf %in, %n : f32
    %e = arith.truncf %eps : f64 to f32
    %a = arith.sitofp %int1 : i64 to f32
    %ea = arith.mulf %e, %a : f32
    %ve = arith.addf %v, %ea : f32
    %r = math.rsqrt %ve : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %7 = linalg.generic {indexing_maps = [#id, #keep, #col, #id], iterator_types = ["parallel", "parallel"]} ins(%1, %6, %w : tensor<4x40xf32>, tensor<4x1xf32>, tensor<40xf32>) outs(%0 : tensor<4x40xf32>) {
  ^bb0(%in: f32, %in_0: f32, %in_1: f32, %out: f32):
    %n = arith.mulf %in, %in_0 : f32
    %r = arith.mulf %n, %in_1 : f32
    linalg.yield %r : f32
  } -> tensor<4x40xf32>
  return %7 : tensor<4x40xf32>
}

// -----
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc = affine_map<(d0, d1, d2) -> (0, d1, d2)>
#keep = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#stat = affine_map<(d0, d1, d2) -> (0, d1, 0)>
#col = affine_map<(d0, d1, d2) -> (d2)>

// torch-mlir, HuggingFace T5LayerNorm on f16 activations:
// hidden.to(float32).pow(2) (aten.pow.Tensor_Scalar with an int exponent:
// math.fpowi with an i64 2), mean(-1, keepdim=True), rsqrt(var + eps), then
// `hidden * rsqrt` with hidden still f16: type promotion extends it inside
// the multiply's payload; .to(float16) and `weight * hidden`.
// CHECK-LABEL: func @torch_t5_layer_norm_f16_promotion
// CHECK-SAME: (%[[X:.*]]: tensor<1x5x32xf16>, %[[W:.*]]: tensor<32xf16>)
// CHECK-NOT: linalg.generic
// CHECK: %[[Y:.*]] = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<1x5x32xf16>) gamma(%[[W]] : tensor<32xf16>) outs(%{{.*}} : tensor<1x5x32xf16>) -> tensor<1x5x32xf16>
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @torch_t5_layer_norm_f16_promotion(%x: tensor<1x5x32xf16>, %w: tensor<32xf16>) -> tensor<1x5x32xf16> {
  %cst = arith.constant 0.000000e+00 : f32
  %cst_eps = arith.constant 9.9999999999999995E-7 : f64
  %int32 = arith.constant 32 : i64
  %int1 = arith.constant 1 : i64
  %int2 = arith.constant 2 : i64
  %0 = tensor.empty() : tensor<1x5x32xf32>
  %1 = linalg.generic {indexing_maps = [#bc, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<1x5x32xf16>) outs(%0 : tensor<1x5x32xf32>) {
  ^bb0(%in: f16, %out: f32):
    %r = arith.extf %in : f16 to f32
    linalg.yield %r : f32
  } -> tensor<1x5x32xf32>
  %2 = linalg.generic {indexing_maps = [#bc, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%1 : tensor<1x5x32xf32>) outs(%0 : tensor<1x5x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.fpowi %in, %int2 : f32, i64
    linalg.yield %r : f32
  } -> tensor<1x5x32xf32>
  %3 = tensor.empty() : tensor<1x5x1xf32>
  %4 = linalg.fill ins(%cst : f32) outs(%3 : tensor<1x5x1xf32>) -> tensor<1x5x1xf32>
  %5 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "parallel", "reduction"]} ins(%2 : tensor<1x5x32xf32>) outs(%4 : tensor<1x5x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<1x5x1xf32>
  %6 = linalg.generic {indexing_maps = [#stat, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%5 : tensor<1x5x1xf32>) outs(%3 : tensor<1x5x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.sitofp %int32 : i64 to f32
    %v = arith.divf %in, %n : f32
    %e = arith.truncf %cst_eps : f64 to f32
    %a = arith.sitofp %int1 : i64 to f32
    %ea = arith.mulf %e, %a : f32
    %ve = arith.addf %v, %ea : f32
    %r = math.rsqrt %ve : f32
    linalg.yield %r : f32
  } -> tensor<1x5x1xf32>
  %7 = linalg.generic {indexing_maps = [#bc, #stat, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %6 : tensor<1x5x32xf16>, tensor<1x5x1xf32>) outs(%0 : tensor<1x5x32xf32>) {
  ^bb0(%in: f16, %in_0: f32, %out: f32):
    %xe = arith.extf %in : f16 to f32
    %r = arith.mulf %xe, %in_0 : f32
    linalg.yield %r : f32
  } -> tensor<1x5x32xf32>
  %8 = tensor.empty() : tensor<1x5x32xf16>
  %9 = linalg.generic {indexing_maps = [#bc, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%7 : tensor<1x5x32xf32>) outs(%8 : tensor<1x5x32xf16>) {
  ^bb0(%in: f32, %out: f16):
    %r = arith.truncf %in : f32 to f16
    linalg.yield %r : f16
  } -> tensor<1x5x32xf16>
  %10 = linalg.generic {indexing_maps = [#col, #bc, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%w, %9 : tensor<32xf16>, tensor<1x5x32xf16>) outs(%8 : tensor<1x5x32xf16>) {
  ^bb0(%in: f16, %in_0: f16, %out: f16):
    %r = arith.mulf %in, %in_0 : f16
    linalg.yield %r : f16
  } -> tensor<1x5x32xf16>
  return %10 : tensor<1x5x32xf16>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#keep = affine_map<(d0, d1) -> (d0, 0)>

// torch-mlir, RMSNorm with a dynamic hidden size: DecomposeAtenMeanDimOp
// takes N from aten.size.int of the mean's own input, so the divisor is
// tensor.dim of the squared tensor (aten.mul(x, x)), index_cast to i64,
// sitofp in the payload.
// CHECK-LABEL: func @torch_rms_norm_dynamic_hidden_size_of_square
// CHECK-SAME: (%[[X:.*]]: tensor<?x?xf32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[Y:.*]] = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<?x?xf32>) outs(%{{.*}} : tensor<?x?xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @torch_rms_norm_dynamic_hidden_size_of_square(%x: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst_eps = arith.constant 9.9999999999999995E-7 : f64
  %int1 = arith.constant 1 : i64
  %d0 = tensor.dim %x, %c0 : tensor<?x?xf32>
  %d1 = tensor.dim %x, %c1 : tensor<?x?xf32>
  %0 = tensor.empty(%d0, %d1) : tensor<?x?xf32>
  %1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %x : tensor<?x?xf32>, tensor<?x?xf32>) outs(%0 : tensor<?x?xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %r = arith.mulf %in, %in_0 : f32
    linalg.yield %r : f32
  } -> tensor<?x?xf32>
  %e1 = tensor.dim %1, %c1 : tensor<?x?xf32>
  %e1i = arith.index_cast %e1 : index to i64
  %2 = tensor.empty(%d0) : tensor<?x1xf32>
  %3 = linalg.fill ins(%cst : f32) outs(%2 : tensor<?x1xf32>) -> tensor<?x1xf32>
  %4 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]} ins(%1 : tensor<?x?xf32>) outs(%3 : tensor<?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<?x1xf32>
  %5 = linalg.generic {indexing_maps = [#keep, #id], iterator_types = ["parallel", "parallel"]} ins(%4 : tensor<?x1xf32>) outs(%2 : tensor<?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.sitofp %e1i : i64 to f32
    %v = arith.divf %in, %n : f32
    %e = arith.truncf %cst_eps : f64 to f32
    %a = arith.sitofp %int1 : i64 to f32
    %ea = arith.mulf %e, %a : f32
    %ve = arith.addf %v, %ea : f32
    %r = math.rsqrt %ve : f32
    linalg.yield %r : f32
  } -> tensor<?x1xf32>
  %6 = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %5 : tensor<?x?xf32>, tensor<?x1xf32>) outs(%0 : tensor<?x?xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %r = arith.mulf %in, %in_0 : f32
    linalg.yield %r : f32
  } -> tensor<?x?xf32>
  return %6 : tensor<?x?xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#keep = affine_map<(d0, d1) -> (d0, 0)>

// torch-mlir, aten.var_mean(correction=0) + LayerNorm with dynamic shapes:
// calculateVariance's f64 copy, its mean and variance divided by
// tensor.dim of the f64 copy and of the squared deviations (each converted
// index -> i64 -> f64), the f32 mean of the input divided by its own
// tensor.dim, the variance truncated to f32.
// CHECK-LABEL: func @torch_var_mean_layer_norm_dynamic
// CHECK-SAME: (%[[X:.*]]: tensor<?x?xf32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[Y:.*]] = norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<?x?xf32>) outs(%{{.*}} : tensor<?x?xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @torch_var_mean_layer_norm_dynamic(%x: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst64 = arith.constant 0.000000e+00 : f64
  %cst_eps = arith.constant 1.000000e-05 : f64
  %int1 = arith.constant 1 : i64
  %d0 = tensor.dim %x, %c0 : tensor<?x?xf32>
  %d1 = tensor.dim %x, %c1 : tensor<?x?xf32>
  %0 = tensor.empty(%d0, %d1) : tensor<?x?xf64>
  %1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<?x?xf32>) outs(%0 : tensor<?x?xf64>) {
  ^bb0(%in: f32, %out: f64):
    %r = arith.extf %in : f32 to f64
    linalg.yield %r : f64
  } -> tensor<?x?xf64>
  %w1 = tensor.dim %1, %c1 : tensor<?x?xf64>
  %w1i = arith.index_cast %w1 : index to i64
  %2 = tensor.empty(%d0) : tensor<?x1xf64>
  %3 = linalg.fill ins(%cst64 : f64) outs(%2 : tensor<?x1xf64>) -> tensor<?x1xf64>
  %4 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]} ins(%1 : tensor<?x?xf64>) outs(%3 : tensor<?x1xf64>) {
  ^bb0(%in: f64, %out: f64):
    %r = arith.addf %in, %out : f64
    linalg.yield %r : f64
  } -> tensor<?x1xf64>
  %5 = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel"]} ins(%1, %4 : tensor<?x?xf64>, tensor<?x1xf64>) outs(%0 : tensor<?x?xf64>) {
  ^bb0(%in: f64, %in_0: f64, %out: f64):
    %n = arith.sitofp %w1i : i64 to f64
    %m = arith.divf %in_0, %n : f64
    %a = arith.sitofp %int1 : i64 to f64
    %ma = arith.mulf %m, %a : f64
    %d = arith.subf %in, %ma : f64
    %r = arith.mulf %d, %d : f64
    linalg.yield %r : f64
  } -> tensor<?x?xf64>
  %q1 = tensor.dim %5, %c1 : tensor<?x?xf64>
  %q1i = arith.index_cast %q1 : index to i64
  %6 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]} ins(%5 : tensor<?x?xf64>) outs(%3 : tensor<?x1xf64>) {
  ^bb0(%in: f64, %out: f64):
    %r = arith.addf %in, %out : f64
    linalg.yield %r : f64
  } -> tensor<?x1xf64>
  %x1 = tensor.dim %x, %c1 : tensor<?x?xf32>
  %x1i = arith.index_cast %x1 : index to i64
  %7 = tensor.empty(%d0) : tensor<?x1xf32>
  %8 = linalg.fill ins(%cst : f32) outs(%7 : tensor<?x1xf32>) -> tensor<?x1xf32>
  %9 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<?x?xf32>) outs(%8 : tensor<?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<?x1xf32>
  %10 = tensor.empty(%d0, %d1) : tensor<?x?xf32>
  %11 = linalg.generic {indexing_maps = [#id, #keep, #keep, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %9, %6 : tensor<?x?xf32>, tensor<?x1xf32>, tensor<?x1xf64>) outs(%10 : tensor<?x?xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f64, %out: f32):
    %n = arith.sitofp %x1i : i64 to f32
    %m = arith.divf %s, %n : f32
    %n64 = arith.sitofp %q1i : i64 to f64
    %v64 = arith.divf %q, %n64 : f64
    %v = arith.truncf %v64 : f64 to f32
    %e = arith.truncf %cst_eps : f64 to f32
    %ve = arith.addf %v, %e : f32
    %rs = math.rsqrt %ve : f32
    %d = arith.subf %in, %m : f32
    %r = arith.mulf %d, %rs : f32
    linalg.yield %r : f32
  } -> tensor<?x?xf32>
  return %11 : tensor<?x?xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#keep = affine_map<(d0, d1) -> (d0, 0)>
#col = affine_map<(d0, d1) -> (d1)>

// Near miss. torch-mlir's DecomposeAtenNativeLayerNormOp keeps the input's
// dtype for mean.dim, so F.layer_norm of a bf16 tensor sums, divides, adds
// eps and takes rsqrt in bf16: statistics narrower than the f32 the norm op
// computes them in. Left alone (with a remark), unless widen-statistics.
// CHECK-LABEL: func @torch_native_layer_norm_bf16_statistics
// CHECK-NOT: norm.
// CHECK: math.rsqrt %{{.*}} : bf16
// CHECK-NOT: norm.
func.func @torch_native_layer_norm_bf16_statistics(%x: tensor<2x64xbf16>, %w: tensor<64xbf16>, %b: tensor<64xbf16>) -> tensor<2x64xbf16> {
  %cst = arith.constant 0.000000e+00 : bf16
  %cst_eps = arith.constant 1.000000e-05 : f64
  %int64 = arith.constant 64 : i64
  %0 = tensor.empty() : tensor<2x1xbf16>
  %1 = linalg.fill ins(%cst : bf16) outs(%0 : tensor<2x1xbf16>) -> tensor<2x1xbf16>
  %2 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<2x64xbf16>) outs(%1 : tensor<2x1xbf16>) {
  ^bb0(%in: bf16, %out: bf16):
    %r = arith.addf %in, %out : bf16
    linalg.yield %r : bf16
  } -> tensor<2x1xbf16>
  %3 = tensor.empty() : tensor<2x64xbf16>
  %4 = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %2 : tensor<2x64xbf16>, tensor<2x1xbf16>) outs(%3 : tensor<2x64xbf16>) {
  ^bb0(%in: bf16, %in_0: bf16, %out: bf16):
    %n = arith.sitofp %int64 : i64 to bf16
    %m = arith.divf %in_0, %n : bf16
    %r = arith.subf %in, %m : bf16
    linalg.yield %r : bf16
  } -> tensor<2x64xbf16>
  %5 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]} ins(%4 : tensor<2x64xbf16>) outs(%1 : tensor<2x1xbf16>) {
  ^bb0(%in: bf16, %out: bf16):
    %sq = arith.mulf %in, %in : bf16
    %r = arith.addf %sq, %out : bf16
    linalg.yield %r : bf16
  } -> tensor<2x1xbf16>
  %6 = linalg.generic {indexing_maps = [#id, #keep, #col, #col, #id], iterator_types = ["parallel", "parallel"]} ins(%4, %5, %w, %b : tensor<2x64xbf16>, tensor<2x1xbf16>, tensor<64xbf16>, tensor<64xbf16>) outs(%3 : tensor<2x64xbf16>) {
  ^bb0(%in: bf16, %in_0: bf16, %in_1: bf16, %in_2: bf16, %out: bf16):
    %n = arith.sitofp %int64 : i64 to bf16
    %v = arith.divf %in_0, %n : bf16
    %e = arith.truncf %cst_eps : f64 to bf16
    %ve = arith.addf %v, %e : bf16
    %rs = math.rsqrt %ve : bf16
    %y = arith.mulf %in, %rs : bf16
    %s = arith.mulf %y, %in_1 : bf16
    %r = arith.addf %s, %in_2 : bf16
    linalg.yield %r : bf16
  } -> tensor<2x64xbf16>
  return %6 : tensor<2x64xbf16>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#keep = affine_map<(d0, d1) -> (d0, 0)>

// Near miss. A hand-written torch LayerNorm using `x.var(-1, keepdim=True)`,
// whose default is unbiased (correction=1): torch-mlir's calculateVariance
// upcasts to f64 and divides the sum of squares by N - 1 = 63, not N. The
// norm op's variance is biased; this is a different function.
// CHECK-LABEL: func @torch_unbiased_var_layer_norm
// CHECK-NOT: norm.
func.func @torch_unbiased_var_layer_norm(%x: tensor<3x64xf32>) -> tensor<3x64xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %cst64 = arith.constant 0.000000e+00 : f64
  %cst_n = arith.constant 6.400000e+01 : f64
  %cst_nm1 = arith.constant 6.300000e+01 : f64
  %cst_eps = arith.constant 1.000000e-05 : f64
  %int64 = arith.constant 64 : i64
  %0 = tensor.empty() : tensor<3x64xf64>
  %1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<3x64xf32>) outs(%0 : tensor<3x64xf64>) {
  ^bb0(%in: f32, %out: f64):
    %r = arith.extf %in : f32 to f64
    linalg.yield %r : f64
  } -> tensor<3x64xf64>
  %2 = tensor.empty() : tensor<3x1xf64>
  %3 = linalg.fill ins(%cst64 : f64) outs(%2 : tensor<3x1xf64>) -> tensor<3x1xf64>
  %4 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]} ins(%1 : tensor<3x64xf64>) outs(%3 : tensor<3x1xf64>) {
  ^bb0(%in: f64, %out: f64):
    %r = arith.addf %in, %out : f64
    linalg.yield %r : f64
  } -> tensor<3x1xf64>
  %5 = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel"]} ins(%1, %4 : tensor<3x64xf64>, tensor<3x1xf64>) outs(%0 : tensor<3x64xf64>) {
  ^bb0(%in: f64, %in_0: f64, %out: f64):
    %m = arith.divf %in_0, %cst_n : f64
    %d = arith.subf %in, %m : f64
    %r = arith.mulf %d, %d : f64
    linalg.yield %r : f64
  } -> tensor<3x64xf64>
  %6 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]} ins(%5 : tensor<3x64xf64>) outs(%3 : tensor<3x1xf64>) {
  ^bb0(%in: f64, %out: f64):
    %r = arith.addf %in, %out : f64
    linalg.yield %r : f64
  } -> tensor<3x1xf64>
  %7 = tensor.empty() : tensor<3x1xf32>
  %8 = linalg.fill ins(%cst : f32) outs(%7 : tensor<3x1xf32>) -> tensor<3x1xf32>
  %9 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<3x64xf32>) outs(%8 : tensor<3x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<3x1xf32>
  %10 = tensor.empty() : tensor<3x64xf32>
  %11 = linalg.generic {indexing_maps = [#id, #keep, #keep, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %9, %6 : tensor<3x64xf32>, tensor<3x1xf32>, tensor<3x1xf64>) outs(%10 : tensor<3x64xf32>) {
  ^bb0(%in: f32, %in_0: f32, %in_1: f64, %out: f32):
    %n = arith.sitofp %int64 : i64 to f32
    %m = arith.divf %in_0, %n : f32
    %v64 = arith.divf %in_1, %cst_nm1 : f64
    %v = arith.truncf %v64 : f64 to f32
    %e = arith.truncf %cst_eps : f64 to f32
    %ve = arith.addf %v, %e : f32
    %sd = math.sqrt %ve : f32
    %d = arith.subf %in, %m : f32
    %r = arith.divf %d, %sd : f32
    linalg.yield %r : f32
  } -> tensor<3x64xf32>
  return %11 : tensor<3x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#keep = affine_map<(d0, d1) -> (d0, 0)>
#col = affine_map<(d0, d1) -> (d1)>

// Near miss. The Annotated Transformer's LayerNorm,
// `a_2 * (x - mean) / (x.std(-1, keepdim=True) + eps) + b_2`, through
// torch-mlir: std is sqrt of the unbiased (N - 1) variance, and eps is added
// to the standard deviation, outside the root. Neither is the norm op's
// `(x - mean) * rsqrt(biased_var + eps)`.
// CHECK-LABEL: func @torch_annotated_transformer_layer_norm
// CHECK-NOT: norm.
func.func @torch_annotated_transformer_layer_norm(%x: tensor<3x32xf32>, %a2: tensor<32xf32>, %b2: tensor<32xf32>) -> tensor<3x32xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %cst_n = arith.constant 3.200000e+01 : f32
  %cst_nm1 = arith.constant 3.100000e+01 : f32
  %cst_eps = arith.constant 9.9999999999999995E-7 : f64
  %0 = tensor.empty() : tensor<3x1xf32>
  %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<3x1xf32>) -> tensor<3x1xf32>
  %2 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<3x32xf32>) outs(%1 : tensor<3x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<3x1xf32>
  %3 = linalg.generic {indexing_maps = [#id, #keep, #keep], iterator_types = ["parallel", "reduction"]} ins(%x, %2 : tensor<3x32xf32>, tensor<3x1xf32>) outs(%1 : tensor<3x1xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %m = arith.divf %in_0, %cst_n : f32
    %d = arith.subf %in, %m : f32
    %sq = arith.mulf %d, %d : f32
    %r = arith.addf %sq, %out : f32
    linalg.yield %r : f32
  } -> tensor<3x1xf32>
  %4 = tensor.empty() : tensor<3x32xf32>
  %5 = linalg.generic {indexing_maps = [#id, #keep, #keep, #col, #col, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %2, %3, %a2, %b2 : tensor<3x32xf32>, tensor<3x1xf32>, tensor<3x1xf32>, tensor<32xf32>, tensor<32xf32>) outs(%4 : tensor<3x32xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32, %g: f32, %bb: f32, %out: f32):
    %m = arith.divf %s, %cst_n : f32
    %d = arith.subf %in, %m : f32
    %v = arith.divf %q, %cst_nm1 : f32
    %sd = math.sqrt %v : f32
    %e = arith.truncf %cst_eps : f64 to f32
    %den = arith.addf %sd, %e : f32
    %num = arith.mulf %g, %d : f32
    %q2 = arith.divf %num, %den : f32
    %r = arith.addf %q2, %bb : f32
    linalg.yield %r : f32
  } -> tensor<3x32xf32>
  return %5 : tensor<3x32xf32>
}

// -----
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#keep = affine_map<(d0, d1) -> (d0, 0)>

// torch-mlir (torch-mlir-linalg.mlir front end): `hidden.to(torch.float32)`
// (extf generic) then `hidden.view(-1, H)` (tensor.collapse_shape dropping
// the unit batch), RMS statistics and the output on the [6, 48] view.
// The norm op reads the collapsed f32 value.
// CHECK-LABEL: func @torch_rms_norm_to_float_then_view
// CHECK: norm.rms_norm eps(1.0e-06)
// CHECK-NOT: math.rsqrt
// CHECK: return
func.func @torch_rms_norm_to_float_then_view(%x: tensor<1x6x48xbf16>) -> tensor<6x48xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %n = arith.constant 4.800000e+01 : f32
  %eps = arith.constant 9.99999997E-7 : f32
  %0 = tensor.empty() : tensor<1x6x48xf32>
  %1 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<1x6x48xbf16>) outs(%0 : tensor<1x6x48xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %r = arith.extf %in : bf16 to f32
    linalg.yield %r : f32
  } -> tensor<1x6x48xf32>
  %h = tensor.collapse_shape %1 [[0, 1], [2]] : tensor<1x6x48xf32> into tensor<6x48xf32>
  %2 = tensor.empty() : tensor<6x1xf32>
  %3 = linalg.fill ins(%cst : f32) outs(%2 : tensor<6x1xf32>) -> tensor<6x1xf32>
  %4 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]} ins(%h : tensor<6x48xf32>) outs(%3 : tensor<6x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %sq = arith.mulf %in, %in : f32
    %r = arith.addf %sq, %out : f32
    linalg.yield %r : f32
  } -> tensor<6x1xf32>
  %5 = tensor.empty() : tensor<6x48xf32>
  %6 = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel"]} ins(%h, %4 : tensor<6x48xf32>, tensor<6x1xf32>) outs(%5 : tensor<6x48xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %m = arith.divf %s, %n : f32
    %ve = arith.addf %m, %eps : f32
    %rs = math.rsqrt %ve : f32
    %r = arith.mulf %in, %rs : f32
    linalg.yield %r : f32
  } -> tensor<6x48xf32>
  return %6 : tensor<6x48xf32>
}
