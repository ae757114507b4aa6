// RUN: norm-opt %s --norm-fuse | FileCheck %s

// --norm-fuse rewrites norm ops and what it fuses into them, nothing else:
// no folding, no constant hoisting, no dead-code removal elsewhere.

// CHECK-LABEL: func @unrelated
// CHECK: %[[A:.*]] = arith.constant 1 : i32
// CHECK: %[[B:.*]] = arith.constant 2 : i32
// CHECK: %[[DEAD:.*]] = arith.addi %[[A]], %[[B]] : i32
// CHECK: %[[C:.*]] = arith.addi %[[A]], %[[B]] : i32
// CHECK: norm.rms_norm {{.*}} residual(
// CHECK: return %[[C]]
func.func @unrelated(%x: tensor<4x64xf32>, %r: tensor<4x64xf32>) -> (i32, tensor<4x64xf32>) {
  %a = arith.constant 1 : i32
  %b = arith.constant 2 : i32
  %dead = arith.addi %a, %b : i32
  %c = arith.addi %a, %b : i32
  %h = arith.addf %x, %r : tensor<4x64xf32>
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%h : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  return %c, %y : i32, tensor<4x64xf32>
}
