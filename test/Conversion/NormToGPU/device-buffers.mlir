// RUN: norm-opt %s --norm-gpu-device-buffers -split-input-file -verify-diagnostics | FileCheck %s

// A function that launches a kernel allocates, copies and frees on the GPU.
// CHECK-LABEL: func.func @launches
// CHECK-SAME: (%[[IN:.*]]: memref<?xf32>, %[[N:.*]]: index)
// CHECK: %[[BUF:.*]] = gpu.alloc  (%[[N]]) : memref<?xf32>
// CHECK: gpu.memcpy  %[[BUF]], %[[IN]] : memref<?xf32>, memref<?xf32>
// CHECK: gpu.launch
// CHECK: memref.store %{{.*}}, %[[BUF]]
// CHECK: gpu.dealloc  %[[BUF]] : memref<?xf32>
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.dealloc
func.func @launches(%in: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  %buf = memref.alloc(%n) : memref<?xf32>
  memref.copy %in, %buf : memref<?xf32> to memref<?xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    memref.store %one, %buf[%c0] : memref<?xf32>
    gpu.terminator
  }
  memref.dealloc %buf : memref<?xf32>
  return
}

// -----

// No launch, nothing to do (host code keeps host memory).
// CHECK-LABEL: func.func @host_only
// CHECK: memref.alloc
// CHECK: memref.copy
// CHECK: memref.dealloc
func.func @host_only(%in: memref<4xf32>) {
  %buf = memref.alloc() : memref<4xf32>
  memref.copy %in, %buf : memref<4xf32> to memref<4xf32>
  memref.dealloc %buf : memref<4xf32>
  return
}

// -----

memref.global "private" constant @gamma : memref<4xf32> = dense<1.0>

func.func @constant_to_kernel(%out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @below {{'memref.get_global' op is host memory in a function that launches GPU kernels; pass the constant as an argument instead}}
  %g = memref.get_global @gamma : memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %g[%c0] : memref<4xf32>
    memref.store %v, %out[%c0] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

func.func @strided_copy(%in: memref<4xf32, strided<[2]>>, %n: index) {
  %c1 = arith.constant 1 : index
  %buf = memref.alloc() : memref<4xf32>
  // expected-error @below {{'memref.copy' op copies between non-contiguous buffers in a function that launches GPU kernels, which gpu.memcpy cannot do}}
  memref.copy %in, %buf : memref<4xf32, strided<[2]>> to memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    gpu.terminator
  }
  return
}
