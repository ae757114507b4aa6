// RUN: norm-opt %s --norm-fuse --split-input-file | FileCheck %s

// Whole pre-norm transformer blocks around a norm op: the residual add,
// the norm, the weight and the output cast or quantisation become one op.

// Llama-style in bf16: h = x + r; y = rmsnorm(h) in f32; cast to bf16;
// times the bf16 weight. h is also returned (the next block's residual).
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @llama_block_bf16
// CHECK-SAME: (%[[X:.*]]: tensor<8x128xbf16>, %[[R:.*]]: tensor<8x128xbf16>, %[[W:.*]]: tensor<128xbf16>)
// CHECK-NOT: linalg.generic
// CHECK-NOT: arith.truncf
// CHECK: %[[Y:.*]]:2 = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<8x128xbf16>) residual(%[[R]] : tensor<8x128xbf16>) gamma(%[[W]] : tensor<128xbf16>) outs(%{{.*}} : tensor<8x128xbf16>) residual_out(%{{.*}} : tensor<8x128xbf16>) -> tensor<8x128xbf16>, tensor<8x128xbf16>
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]#0, %[[Y]]#1
func.func @llama_block_bf16(%x: tensor<8x128xbf16>, %r: tensor<8x128xbf16>, %w: tensor<128xbf16>) -> (tensor<8x128xbf16>, tensor<8x128xbf16>) {
  %e = tensor.empty() : tensor<8x128xbf16>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %r : tensor<8x128xbf16>, tensor<8x128xbf16>) outs(%e : tensor<8x128xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %c: bf16):
    %s = arith.addf %a, %b : bf16
    linalg.yield %s : bf16
  } -> tensor<8x128xbf16>
  %o = tensor.empty() : tensor<8x128xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%h : tensor<8x128xbf16>) outs(%o : tensor<8x128xf32>) -> tensor<8x128xf32>
  %t = arith.truncf %y : tensor<8x128xf32> to tensor<8x128xbf16>
  %z = linalg.generic {indexing_maps = [#row, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%w, %t : tensor<128xbf16>, tensor<8x128xbf16>) outs(%e : tensor<8x128xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %c: bf16):
    %m = arith.mulf %a, %b : bf16
    linalg.yield %m : bf16
  } -> tensor<8x128xbf16>
  return %z, %h : tensor<8x128xbf16>, tensor<8x128xbf16>
}

// -----

// vLLM-style fused_add_rms_norm + static int8 quantisation, in f32.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @add_rms_norm_quant_i8
// CHECK-SAME: (%[[X:.*]]: tensor<8x128xf32>, %[[R:.*]]: tensor<8x128xf32>, %[[W:.*]]: tensor<128xf32>, %[[S:.*]]: f32)
// CHECK: %[[Y:.*]]:2 = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<8x128xf32>) residual(%[[R]] : tensor<8x128xf32>) gamma(%[[W]] : tensor<128xf32>) out_scale(%[[S]] : f32) outs(%{{.*}} : tensor<8x128xi8>) residual_out(%{{.*}} : tensor<8x128xf32>) -> tensor<8x128xi8>, tensor<8x128xf32>
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]#0, %[[Y]]#1
func.func @add_rms_norm_quant_i8(%x: tensor<8x128xf32>, %r: tensor<8x128xf32>, %w: tensor<128xf32>, %s: f32) -> (tensor<8x128xi8>, tensor<8x128xf32>) {
  %h = arith.addf %x, %r : tensor<8x128xf32>
  %o = tensor.empty() : tensor<8x128xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%h : tensor<8x128xf32>) outs(%o : tensor<8x128xf32>) -> tensor<8x128xf32>
  %z = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %w : tensor<8x128xf32>, tensor<128xf32>) outs(%o : tensor<8x128xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<8x128xf32>
  %e = tensor.empty() : tensor<8x128xi8>
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%z : tensor<8x128xf32>) outs(%e : tensor<8x128xi8>) {
  ^bb0(%a: f32, %c: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %d = arith.divf %a, %s : f32
    %rr = math.roundeven %d : f32
    %c1 = arith.maximumf %rr, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<8x128xi8>
  return %q, %h : tensor<8x128xi8>, tensor<8x128xf32>
}

// -----

// The same with an fp8 output.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @add_rms_norm_quant_f8
// CHECK: norm.rms_norm {{.*}} residual({{.*}}) gamma({{.*}}) out_scale({{.*}}) outs(%{{.*}} : tensor<8x128xf8E4M3FN>) residual_out(
// CHECK-NOT: linalg.generic
func.func @add_rms_norm_quant_f8(%x: tensor<8x128xf32>, %r: tensor<8x128xf32>, %w: tensor<128xf32>, %s: f32) -> (tensor<8x128xf8E4M3FN>, tensor<8x128xf32>) {
  %h = arith.addf %x, %r : tensor<8x128xf32>
  %o = tensor.empty() : tensor<8x128xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%h : tensor<8x128xf32>) outs(%o : tensor<8x128xf32>) -> tensor<8x128xf32>
  %z = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %w : tensor<8x128xf32>, tensor<128xf32>) outs(%o : tensor<8x128xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<8x128xf32>
  %e = tensor.empty() : tensor<8x128xf8E4M3FN>
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%z : tensor<8x128xf32>) outs(%e : tensor<8x128xf8E4M3FN>) {
  ^bb0(%a: f32, %c: f8E4M3FN):
    %lo = arith.constant -448.0 : f32
    %hi = arith.constant 448.0 : f32
    %d = arith.divf %a, %s : f32
    %c1 = arith.maximumf %d, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %t = arith.truncf %c2 : f32 to f8E4M3FN
    linalg.yield %t : f8E4M3FN
  } -> tensor<8x128xf8E4M3FN>
  return %q, %h : tensor<8x128xf8E4M3FN>, tensor<8x128xf32>
}

// -----

// GPT-2-style LayerNorm block in TOSA: add, normalise, scale, shift, cast.
// CHECK-LABEL: func @tosa_layer_norm_block
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[R:.*]]: tensor<4x64xf32>, %[[G:.*]]: tensor<1x64xf32>, %[[B:.*]]: tensor<1x64xf32>)
// CHECK-DAG: %[[GC:.*]] = tensor.collapse_shape %[[G]]
// CHECK-DAG: %[[BC:.*]] = tensor.collapse_shape %[[B]]
// CHECK: %[[Y:.*]] = norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<4x64xf32>) residual(%[[R]] : tensor<4x64xf32>) gamma(%[[GC]] : tensor<64xf32>) beta(%[[BC]] : tensor<64xf32>) outs(%{{.*}} : tensor<4x64xf16>) -> tensor<4x64xf16>
// CHECK-NOT: tosa.
// CHECK: return %[[Y]]
func.func @tosa_layer_norm_block(%x: tensor<4x64xf32>, %r: tensor<4x64xf32>, %g: tensor<1x64xf32>, %b: tensor<1x64xf32>) -> tensor<4x64xf16> {
  %h = tosa.add %x, %r : (tensor<4x64xf32>, tensor<4x64xf32>) -> tensor<4x64xf32>
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%h : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %z = tosa.mul %y, %g, %shift : (tensor<4x64xf32>, tensor<1x64xf32>, tensor<1xi8>) -> tensor<4x64xf32>
  %zb = tosa.add %z, %b : (tensor<4x64xf32>, tensor<1x64xf32>) -> tensor<4x64xf32>
  %t = tosa.cast %zb : (tensor<4x64xf32>) -> tensor<4x64xf16>
  return %t : tensor<4x64xf16>
}
