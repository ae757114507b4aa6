// RUN: norm-opt %s --norm-gpu-sqrt-to-llvm | FileCheck %s

// Scalar f32/f64 sqrt and rsqrt in GPU modules become the llvm.sqrt
// intrinsic (sqrt.rn on NVPTX), and roundeven llvm.roundeven (cvt.rni),
// instead of libdevice calls; vectors, other widths and host code are left
// alone.

// CHECK-LABEL: gpu.module @kernels
gpu.module @kernels {
  // CHECK-LABEL: gpu.func @roots
  // CHECK-SAME: (%[[A:.*]]: f32, %[[B:.*]]: f64, %[[V:.*]]: vector<4xf32>, %[[H:.*]]: f16)
  gpu.func @roots(%a: f32, %b: f64, %v: vector<4xf32>, %h: f16) -> (f32, f64, vector<4xf32>, f16) {
    // CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
    // CHECK: llvm.call_intrinsic "llvm.sqrt.f32"(%[[A]]) : (f32) -> f32
    %0 = math.sqrt %a : f32
    // CHECK: %[[ROOT:.*]] = llvm.call_intrinsic "llvm.sqrt.f64"(%[[B]]) : (f64) -> f64
    // CHECK: arith.divf %[[ONE]], %[[ROOT]] : f64
    %1 = math.rsqrt %b : f64
    // CHECK: math.sqrt %[[V]] : vector<4xf32>
    %2 = math.sqrt %v : vector<4xf32>
    // CHECK: math.rsqrt %[[H]] : f16
    %3 = math.rsqrt %h : f16
    gpu.return %0, %1, %2, %3 : f32, f64, vector<4xf32>, f16
  }

  // CHECK-LABEL: gpu.func @rounding
  // CHECK-SAME: (%[[A:.*]]: f32, %[[B:.*]]: f64, %[[H:.*]]: f16)
  gpu.func @rounding(%a: f32, %b: f64, %h: f16) -> (f32, f64, f16) {
    // CHECK: llvm.call_intrinsic "llvm.roundeven.f32"(%[[A]]) : (f32) -> f32
    %0 = math.roundeven %a : f32
    // CHECK: llvm.call_intrinsic "llvm.roundeven.f64"(%[[B]]) : (f64) -> f64
    %1 = math.roundeven %b : f64
    // CHECK: math.roundeven %[[H]] : f16
    %2 = math.roundeven %h : f16
    gpu.return %0, %1, %2 : f32, f64, f16
  }

  // CHECK-LABEL: gpu.func @magnitude
  // CHECK-SAME: (%[[A:.*]]: f32, %[[B:.*]]: f64, %[[H:.*]]: f16)
  gpu.func @magnitude(%a: f32, %b: f64, %h: f16) -> (f32, f64, f16) {
    // CHECK: llvm.call_intrinsic "llvm.fabs.f32"(%[[A]]) : (f32) -> f32
    %0 = math.absf %a : f32
    // CHECK: llvm.call_intrinsic "llvm.fabs.f64"(%[[B]]) : (f64) -> f64
    %1 = math.absf %b : f64
    // CHECK: math.absf %[[H]] : f16
    %2 = math.absf %h : f16
    gpu.return %0, %1, %2 : f32, f64, f16
  }
}

// CHECK-LABEL: func.func @host
// CHECK: math.sqrt
func.func @host(%a: f32) -> f32 {
  %0 = math.sqrt %a : f32
  return %0 : f32
}
