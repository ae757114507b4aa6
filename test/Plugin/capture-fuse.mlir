// The stock mlir-opt of the LLVM installation, with NormPlugin.so loaded as
// dialect and pass plugin: the norm dialect parses, and --norm-capture and
// --norm-fuse turn the pre-norm step of examples/ into one fused norm op.

// RUN: %stock_mlir_opt --load-dialect-plugin=%norm_plugin --load-pass-plugin=%norm_plugin \
// RUN:   --pass-pipeline="builtin.module(norm-capture, norm-fuse)" \
// RUN:   %norm_src_root/examples/prenorm_rms_norm.mlir | FileCheck %s
// RUN: %stock_mlir_opt --load-dialect-plugin=%norm_plugin %s | FileCheck %s --check-prefix=PARSE

// CHECK-LABEL: func.func @prenorm
// CHECK-NOT: linalg.
// CHECK: %[[Y:.*]]:2 = norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<4096x4096xf32>) residual(%{{.*}} : tensor<4096x4096xf32>) gamma(%{{.*}} : tensor<4096xf32>) outs(%{{.*}} : tensor<4096x4096xbf16>) residual_out(%{{.*}} : tensor<4096x4096xf32>)
// CHECK-NOT: linalg.
// CHECK: bufferization.materialize_in_destination %[[Y]]#0
// CHECK: bufferization.materialize_in_destination %[[Y]]#1

// The dialect plugin alone is enough to parse and print norm ops.
// PARSE: norm.layer_norm eps(1.0e-05) ins(%{{.*}} : memref<4x8xf32>) outs(%{{.*}} : memref<4x8xf32>)
func.func @parse(%x: memref<4x8xf32>, %y: memref<4x8xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<4x8xf32>) outs(%y : memref<4x8xf32>)
  return
}
