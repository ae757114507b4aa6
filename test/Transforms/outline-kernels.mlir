// RUN: norm-opt %s --split-input-file --norm-outline-kernels | FileCheck %s
// RUN: norm-opt %s --split-input-file --norm-outline-kernels=min-occurrences=2 | FileCheck %s --check-prefix=MIN2

// Ops with one signature share one private function; a different eps, a
// different shape, a dynamic dim, an extra fused clause or another op each
// make another. Every occurrence becomes a call carrying norm.kernel_call.
// CHECK-LABEL: func.func @a(
// CHECK: call @__norm_kernel_layer_norm(%{{.*}}, %{{.*}}) {norm.kernel_call} : (memref<8x64xf32>, memref<8x64xf32>) -> ()
// CHECK: call @__norm_kernel_layer_norm(%{{.*}}, %{{.*}}) {norm.kernel_call} : (memref<8x64xf32>, memref<8x64xf32>) -> ()
// CHECK: call @__norm_kernel_layer_norm_0(
// CHECK-NOT: norm.layer_norm
// CHECK-LABEL: func.func @b(
// CHECK: call @__norm_kernel_layer_norm(
// CHECK: call @__norm_kernel_layer_norm_1(%{{.*}}, %{{.*}}) {norm.kernel_call} : (memref<?x64xf32>, memref<?x64xf32>) -> ()
// CHECK: call @__norm_kernel_layer_norm_2(%{{.*}}, %{{.*}}, %{{.*}}) {norm.kernel_call} : (memref<8x64xf32>, memref<64xf32>, memref<8x64xf32>) -> ()
// CHECK: call @__norm_kernel_rms_norm(
// CHECK: call @__norm_kernel_layer_norm_3(
// CHECK-NOT: norm.layer_norm
// CHECK-LABEL: func.func private @__norm_kernel_layer_norm(%{{.*}}: memref<8x64xf32>, %{{.*}}: memref<8x64xf32>)
// CHECK-NEXT: norm.layer_norm eps(1.0e-05) ins(%{{.*}} : memref<8x64xf32>) outs(%{{.*}} : memref<8x64xf32>)
// CHECK-NEXT: return
// CHECK-LABEL: func.func private @__norm_kernel_layer_norm_0(
// CHECK-NEXT: norm.layer_norm eps(1.0e-06)
// CHECK-LABEL: func.func private @__norm_kernel_layer_norm_1(
// CHECK-NEXT: norm.layer_norm eps(1.0e-05) ins(%{{.*}} : memref<?x64xf32>)
// CHECK-LABEL: func.func private @__norm_kernel_layer_norm_2(
// CHECK-NEXT: norm.layer_norm eps(1.0e-05) ins(%{{.*}} : memref<8x64xf32>) gamma(
// CHECK-LABEL: func.func private @__norm_kernel_rms_norm(
// CHECK-LABEL: func.func private @__norm_kernel_layer_norm_3(
// CHECK-NEXT: norm.layer_norm eps(1.0e-05) ins(%{{.*}} : memref<16x64xf32>)
// CHECK-NOT: func.func

// With min-occurrences=2 only the repeated signature is outlined.
// MIN2-LABEL: func.func @a(
// MIN2: call @__norm_kernel_layer_norm(
// MIN2: call @__norm_kernel_layer_norm(
// MIN2: norm.layer_norm eps(1.0e-06)
// MIN2-LABEL: func.func @b(
// MIN2: call @__norm_kernel_layer_norm(
// MIN2: norm.layer_norm eps(1.0e-05) ins(%{{.*}} : memref<?x64xf32>)
// MIN2: norm.layer_norm eps(1.0e-05) ins(%{{.*}} : memref<8x64xf32>) gamma(
// MIN2: norm.rms_norm
// MIN2: norm.layer_norm eps(1.0e-05) ins(%{{.*}} : memref<16x64xf32>)
// MIN2-LABEL: func.func private @__norm_kernel_layer_norm(
// MIN2-NOT: func.func private
// MIN2: // -----
func.func @a(%x: memref<8x64xf32>, %y: memref<8x64xf32>, %z: memref<8x64xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<8x64xf32>) outs(%y : memref<8x64xf32>)
  norm.layer_norm eps(1.0e-05) ins(%y : memref<8x64xf32>) outs(%z : memref<8x64xf32>)
  norm.layer_norm eps(1.0e-06) ins(%x : memref<8x64xf32>) outs(%z : memref<8x64xf32>)
  return
}
func.func @b(%x: memref<8x64xf32>, %y: memref<8x64xf32>, %d: memref<?x64xf32>, %e: memref<?x64xf32>, %g: memref<64xf32>, %w: memref<16x64xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<8x64xf32>) outs(%y : memref<8x64xf32>)
  norm.layer_norm eps(1.0e-05) ins(%d : memref<?x64xf32>) outs(%e : memref<?x64xf32>)
  norm.layer_norm eps(1.0e-05) ins(%x : memref<8x64xf32>) gamma(%g : memref<64xf32>) outs(%y : memref<8x64xf32>)
  norm.rms_norm eps(1.0e-05) ins(%x : memref<8x64xf32>) outs(%y : memref<8x64xf32>)
  norm.layer_norm eps(1.0e-05) ins(%w : memref<16x64xf32>) outs(%w : memref<16x64xf32>)
  return
}

// -----

// On tensors the kernel returns the op's results; an operand passed twice
// stays one argument (the op in the kernel sees the same aliasing), and an
// op reading two distinct values is another signature.
// CHECK-LABEL: func.func @tensors(
// CHECK: %[[A:.*]]:2 = call @__norm_kernel_rms_norm(%{{.*}}, %{{.*}}, %{{.*}}) {norm.kernel_call} : (tensor<4x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>) -> (tensor<4x32xf32>, tensor<4x32xf32>)
// CHECK: %[[B:.*]]:2 = call @__norm_kernel_rms_norm_0(%{{.*}}, %{{.*}}) {norm.kernel_call} : (tensor<4x32xf32>, tensor<4x32xf32>) -> (tensor<4x32xf32>, tensor<4x32xf32>)
// CHECK: return %[[A]]#0, %[[B]]#1
// CHECK: func.func private @__norm_kernel_rms_norm(%[[X:.*]]: tensor<4x32xf32>, %[[R:.*]]: tensor<4x32xf32>, %[[O:.*]]: tensor<4x32xf32>) -> (tensor<4x32xf32>, tensor<4x32xf32>)
// CHECK-NEXT: %[[Y:.*]]:2 = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<4x32xf32>) residual(%[[R]] : tensor<4x32xf32>) outs(%[[O]] : tensor<4x32xf32>) residual_out(%[[O]] : tensor<4x32xf32>)
// CHECK-NEXT: return %[[Y]]#0, %[[Y]]#1
// CHECK: func.func private @__norm_kernel_rms_norm_0(%[[X:.*]]: tensor<4x32xf32>, %[[O:.*]]: tensor<4x32xf32>)
// CHECK-NEXT: norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<4x32xf32>) residual(%[[X]] : tensor<4x32xf32>) outs(%[[O]] : tensor<4x32xf32>) residual_out(%[[O]] : tensor<4x32xf32>)
func.func @tensors(%x: tensor<4x32xf32>, %r: tensor<4x32xf32>) -> (tensor<4x32xf32>, tensor<4x32xf32>) {
  %o = tensor.empty() : tensor<4x32xf32>
  %a:2 = norm.rms_norm eps(1.0e-06) ins(%x : tensor<4x32xf32>) residual(%r : tensor<4x32xf32>) outs(%o : tensor<4x32xf32>) residual_out(%o : tensor<4x32xf32>) -> tensor<4x32xf32>, tensor<4x32xf32>
  %b:2 = norm.rms_norm eps(1.0e-06) ins(%x : tensor<4x32xf32>) residual(%x : tensor<4x32xf32>) outs(%o : tensor<4x32xf32>) residual_out(%o : tensor<4x32xf32>) -> tensor<4x32xf32>, tensor<4x32xf32>
  return %a#0, %b#1 : tensor<4x32xf32>, tensor<4x32xf32>
}

// -----

// Nothing to outline: the module is left as it was.
// CHECK-LABEL: func.func @none(
// CHECK-NEXT: return
// CHECK-NOT: func.func
func.func @none() {
  return
}
