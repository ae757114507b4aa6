// Dynamic quantisation (vLLM's rms_norm_dynamic_per_token_quant and
// rms_norm_per_block_quant): the scales destination, group_size, min_scale
// and scale_ub round-trip in the custom and the generic forms, on tensors
// and on memrefs (a transposed scales layout is a strided memref).
// RUN: norm-opt %s | norm-opt | FileCheck %s
// RUN: norm-opt %s --mlir-print-op-generic | norm-opt | FileCheck %s

// CHECK-LABEL: func @per_token
// CHECK: %{{.*}}:2 = norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<?x4096xbf16>) gamma(%{{.*}} : tensor<4096xbf16>) scale_ub(%{{.*}} : f32) outs(%{{.*}} : tensor<?x4096xi8>) scales(%{{.*}} : tensor<?xf32>) min_scale(1.000000e-05) -> tensor<?x4096xi8>, tensor<?xf32>
func.func @per_token(%x: tensor<?x4096xbf16>, %g: tensor<4096xbf16>, %ub: f32, %q: tensor<?x4096xi8>, %s: tensor<?xf32>) -> (tensor<?x4096xi8>, tensor<?xf32>) {
  %y:2 = norm.rms_norm eps(1.0e-6) ins(%x : tensor<?x4096xbf16>) gamma(%g : tensor<4096xbf16>) scale_ub(%ub : f32) outs(%q : tensor<?x4096xi8>) scales(%s : tensor<?xf32>) min_scale(1.0e-5) -> tensor<?x4096xi8>, tensor<?xf32>
  return %y#0, %y#1 : tensor<?x4096xi8>, tensor<?xf32>
}

// Per group, with a residual and its sum: results in destination order.
// CHECK-LABEL: func @per_group
// CHECK: %{{.*}}:3 = norm.layer_norm eps(1.0e-05) ins(%{{.*}} : tensor<8x4096xf32>) residual(%{{.*}} : tensor<8x4096xf32>) outs(%{{.*}} : tensor<8x4096xf8E4M3FN>) residual_out(%{{.*}} : tensor<8x4096xf32>) scales(%{{.*}} : tensor<8x32xf32>) group_size(128) -> tensor<8x4096xf8E4M3FN>, tensor<8x4096xf32>, tensor<8x32xf32>
func.func @per_group(%x: tensor<8x4096xf32>, %r: tensor<8x4096xf32>, %q: tensor<8x4096xf8E4M3FN>, %h: tensor<8x4096xf32>, %s: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %y:3 = norm.layer_norm eps(1.0e-5) ins(%x : tensor<8x4096xf32>) residual(%r : tensor<8x4096xf32>) outs(%q : tensor<8x4096xf8E4M3FN>) residual_out(%h : tensor<8x4096xf32>) scales(%s : tensor<8x32xf32>) group_size(128) -> tensor<8x4096xf8E4M3FN>, tensor<8x4096xf32>, tensor<8x32xf32>
  return %y#2 : tensor<8x32xf32>
}

// Transposed scales ([N/G, rows] in memory) on memrefs.
// CHECK-LABEL: func @transposed_scales
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : memref<?x?xbf16>) outs(%{{.*}} : memref<?x?xi8>) scales(%{{.*}} : memref<?x?xf32, strided<[1, ?]>>) group_size(64){{$}}
func.func @transposed_scales(%x: memref<?x?xbf16>, %q: memref<?x?xi8>, %s: memref<?x?xf32, strided<[1, ?]>>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<?x?xbf16>) outs(%q : memref<?x?xi8>) scales(%s : memref<?x?xf32, strided<[1, ?]>>) group_size(64)
  return
}
