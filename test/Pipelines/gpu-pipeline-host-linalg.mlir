// Regression (norm-fuzz, seed test/Transforms/Capture): norm-gpu-pipeline
// on a function holding linalg ops other than norm ops left them in host
// code, and the LLVM conversions rewrote their bodies into IR that does not
// verify (without -verify-each: exit 0 and an unusable module). They are
// now reported where they are.
// RUN: not norm-opt %s -split-input-file --norm-gpu-pipeline 2>&1 | FileCheck %s

// CHECK: :[[@LINE+2]]:3: error: 'linalg.matmul' op would stay in host code: the GPU pipeline lowers norm ops to kernels and has no lowering for other linalg ops
func.func @norm_of_matmul(%a: memref<4x8xf32>, %w: memref<8x32xf32>, %x: memref<4x32xf32>, %o: memref<4x32xf32>) {
  linalg.matmul ins(%a, %w : memref<4x8xf32>, memref<8x32xf32>) outs(%x : memref<4x32xf32>)
  norm.rms_norm eps(1.0e-6) ins(%x : memref<4x32xf32>) outs(%o : memref<4x32xf32>)
  return
}

// -----

// Near miss: norm ops alone become kernels; nothing is reported.
// CHECK-NOT: error:
func.func @norm_only(%x: memref<4x32xf32>, %o: memref<4x32xf32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<4x32xf32>) outs(%o : memref<4x32xf32>)
  return
}
