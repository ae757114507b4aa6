// RUN: norm-opt %s -split-input-file -transform-interpreter -verify-diagnostics | FileCheck %s

// transform.norm.capture and transform.norm.fuse run --norm-capture and
// --norm-fuse on the functions or modules of a handle, and return handles
// to the norm ops they created (annotated here to show which).

// A capture on a function returns the norm op it built.
// CHECK-LABEL: func @capture_layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<4x48xf32>, %[[G:.*]]: tensor<48xf32>, %[[B:.*]]: tensor<48xf32>)
// CHECK-NOT: linalg.reduce
// CHECK: %[[Y:.*]] = norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<4x48xf32>) gamma(%[[G]] : tensor<48xf32>) beta(%[[B]] : tensor<48xf32>) outs(%{{.*}} : tensor<4x48xf32>) {captured} -> tensor<4x48xf32>
// CHECK-NOT: math.rsqrt
// CHECK: return %[[Y]]
func.func @capture_layer_norm(%x: tensor<4x48xf32>, %g: tensor<48xf32>, %b: tensor<48xf32>) -> tensor<4x48xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant dense<48.0> : tensor<4xf32>
  %eps = arith.constant dense<1.0e-05> : tensor<4xf32>
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.reduce ins(%x : tensor<4x48xf32>) outs(%acc : tensor<4xf32>) dimensions = [1]
    (%in: f32, %init: f32) {
      %0 = arith.addf %in, %init : f32
      linalg.yield %0 : f32
    }
  %mean = arith.divf %sum, %n : tensor<4xf32>
  %full = tensor.empty() : tensor<4x48xf32>
  %mean_b = linalg.broadcast ins(%mean : tensor<4xf32>) outs(%full : tensor<4x48xf32>) dimensions = [1]
  %c = arith.subf %x, %mean_b : tensor<4x48xf32>
  %sq = arith.mulf %c, %c : tensor<4x48xf32>
  %ss = linalg.reduce ins(%sq : tensor<4x48xf32>) outs(%acc : tensor<4xf32>) dimensions = [1]
    (%in: f32, %init: f32) {
      %0 = arith.addf %in, %init : f32
      linalg.yield %0 : f32
    }
  %var = arith.divf %ss, %n : tensor<4xf32>
  %ve = arith.addf %var, %eps : tensor<4xf32>
  %r = math.rsqrt %ve : tensor<4xf32>
  %r_b = linalg.broadcast ins(%r : tensor<4xf32>) outs(%full : tensor<4x48xf32>) dimensions = [1]
  %nrm = arith.mulf %c, %r_b : tensor<4x48xf32>
  %g_b = linalg.broadcast ins(%g : tensor<48xf32>) outs(%full : tensor<4x48xf32>) dimensions = [0]
  %b_b = linalg.broadcast ins(%b : tensor<48xf32>) outs(%full : tensor<4x48xf32>) dimensions = [0]
  %s = arith.mulf %nrm, %g_b : tensor<4x48xf32>
  %y = arith.addf %s, %b_b : tensor<4x48xf32>
  return %y : tensor<4x48xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %f = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    %n = transform.norm.capture %f : (!transform.any_op) -> !transform.any_op
    transform.annotate %n "captured" : !transform.any_op
    %count = transform.num_associations %n : (!transform.any_op) -> !transform.param<i64>
    // expected-remark @below {{1}}
    transform.debug.emit_param_as_remark %count : !transform.param<i64>
    transform.yield
  }
}

// -----

// Capture, then fusion: the fused handle holds the one op that absorbed the
// residual add, the cast and the weight; the op the capture built was
// replaced by it, so the capture's handle no longer holds anything.
// CHECK-LABEL: func @capture_then_fuse
// CHECK-SAME: (%[[X:.*]]: tensor<16x256xbf16>, %[[R:.*]]: tensor<16x256xbf16>, %[[W:.*]]: tensor<256xbf16>)
// CHECK-NOT: linalg.
// CHECK: %[[Y:.*]]:2 = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<16x256xbf16>) residual(%[[R]] : tensor<16x256xbf16>) gamma(%[[W]] : tensor<256xbf16>) outs(%{{.*}} : tensor<16x256xbf16>) residual_out(%{{.*}} : tensor<16x256xbf16>) {fused}
// CHECK-NOT: linalg.
// CHECK: return %[[Y]]#0, %[[Y]]#1
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @capture_then_fuse(%x: tensor<16x256xbf16>, %r: tensor<16x256xbf16>, %w: tensor<256xbf16>) -> (tensor<16x256xbf16>, tensor<16x256xbf16>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 256.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %fullh = tensor.empty() : tensor<16x256xbf16>
  %h = linalg.add ins(%x, %r : tensor<16x256xbf16>, tensor<16x256xbf16>) outs(%fullh : tensor<16x256xbf16>) -> tensor<16x256xbf16>
  %fullf = tensor.empty() : tensor<16x256xf32>
  %hf = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h : tensor<16x256xbf16>) outs(%fullf : tensor<16x256xf32>) {
  ^bb0(%in: bf16, %o: f32):
    %0 = arith.extf %in : bf16 to f32
    linalg.yield %0 : f32
  } -> tensor<16x256xf32>
  %rows = tensor.empty() : tensor<16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<16xf32>) -> tensor<16xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%hf : tensor<16x256xf32>) outs(%acc : tensor<16xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<16xf32>
  %normed = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%hf, %ss : tensor<16x256xf32>, tensor<16xf32>) outs(%fullf : tensor<16x256xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %rs = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %rs : f32
    linalg.yield %0 : f32
  } -> tensor<16x256xf32>
  %nh = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%normed : tensor<16x256xf32>) outs(%fullh : tensor<16x256xbf16>) {
  ^bb0(%in: f32, %o: bf16):
    %0 = arith.truncf %in : f32 to bf16
    linalg.yield %0 : bf16
  } -> tensor<16x256xbf16>
  %y = linalg.generic {indexing_maps = [#col, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w, %nh : tensor<256xbf16>, tensor<16x256xbf16>) outs(%fullh : tensor<16x256xbf16>) {
  ^bb0(%g: bf16, %in: bf16, %o: bf16):
    %0 = arith.mulf %g, %in : bf16
    linalg.yield %0 : bf16
  } -> tensor<16x256xbf16>
  return %y, %h : tensor<16x256xbf16>, tensor<16x256xbf16>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %f = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    %captured = transform.norm.capture %f : (!transform.any_op) -> !transform.any_op
    %fused = transform.norm.fuse %f : (!transform.any_op) -> !transform.any_op
    transform.annotate %fused "fused" : !transform.any_op
    %nf = transform.num_associations %fused : (!transform.any_op) -> !transform.param<i64>
    // expected-remark @below {{1}}
    transform.debug.emit_param_as_remark %nf : !transform.param<i64>
    %nc = transform.num_associations %captured : (!transform.any_op) -> !transform.param<i64>
    // expected-remark @below {{0}}
    transform.debug.emit_param_as_remark %nc : !transform.param<i64>
    transform.yield
  }
}

// -----

// On a module: every function's norms, in program order, and the capture's
// options (`report`: a remark per capture, at the chain's final op).
// A function without a norm contributes nothing, and norm ops that were
// already there are not in the result.
// CHECK-LABEL: func @first
// CHECK: norm.rms_norm eps(1.0e-06) {{.*}} {index = 0 : i64}
// CHECK-LABEL: func @no_norm
// CHECK-NOT: norm.
// CHECK-LABEL: func @second
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<2x4xf32>) outs(%{{.*}} : tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK: norm.rms_norm eps(1.0e-05) {{.*}} {index = 1 : i64}
#id3 = affine_map<(d0, d1) -> (d0, d1)>
#row3 = affine_map<(d0, d1) -> (d0)>
func.func @first(%x: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 32.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %rows = tensor.empty() : tensor<8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<8xf32>) -> tensor<8xf32>
  %ss = linalg.generic {indexing_maps = [#id3, #row3], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x32xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<8xf32>
  %full = tensor.empty() : tensor<8x32xf32>
  // expected-remark @below {{captured norm.rms_norm from}}
  %y = linalg.generic {indexing_maps = [#id3, #row3, #id3], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<8x32xf32>, tensor<8xf32>) outs(%full : tensor<8x32xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %rs = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %rs : f32
    linalg.yield %0 : f32
  } -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}
func.func @no_norm(%x: tensor<8xf32>) -> tensor<8xf32> {
  %y = arith.addf %x, %x : tensor<8xf32>
  return %y : tensor<8xf32>
}
func.func @second(%x: tensor<8x32xf32>, %a: tensor<2x4xf32>) -> (tensor<8x32xf32>, tensor<2x4xf32>) {
  %init = tensor.empty() : tensor<2x4xf32>
  %already = norm.rms_norm eps(1.0e-06) ins(%a : tensor<2x4xf32>) outs(%init : tensor<2x4xf32>) -> tensor<2x4xf32>
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 32.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<8xf32>) -> tensor<8xf32>
  %ss = linalg.generic {indexing_maps = [#id3, #row3], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x32xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<8xf32>
  %full = tensor.empty() : tensor<8x32xf32>
  // expected-remark @below {{captured norm.rms_norm from}}
  %y = linalg.generic {indexing_maps = [#id3, #row3, #id3], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<8x32xf32>, tensor<8xf32>) outs(%full : tensor<8x32xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %rs = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %rs : f32
    linalg.yield %0 : f32
  } -> tensor<8x32xf32>
  return %y, %already : tensor<8x32xf32>, tensor<2x4xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %n = transform.norm.capture %root {report} : (!transform.any_op) -> !transform.any_op
    %first, %second = transform.split_handle %n : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %p0 = transform.param.constant 0 : i64 -> !transform.param<i64>
    %p1 = transform.param.constant 1 : i64 -> !transform.param<i64>
    transform.annotate %first "index" = %p0 : !transform.any_op, !transform.param<i64>
    transform.annotate %second "index" = %p1 : !transform.any_op, !transform.param<i64>
    transform.yield
  }
}
