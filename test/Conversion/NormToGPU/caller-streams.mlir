// RUN: norm-opt %s -split-input-file -norm-gpu-caller-streams -verify-diagnostics | FileCheck %s

// A function taking a !gpu.async.token gets the caller's stream through it:
// its allocation, copy, launch and deallocation go on that stream, in
// order, and nothing waits on it or makes a stream of its own.
// CHECK-LABEL: func.func @on_stream
// CHECK-SAME: (%[[X:.*]]: memref<?xf32>, %[[Y:.*]]: memref<?xf32>, %[[S:.*]]: !gpu.async.token)
// CHECK-NOT: gpu.wait
// CHECK: %[[T:.*]], %{{.*}} = gpu.alloc async [%[[S]]] (%{{.*}}) : memref<?xf32>
// CHECK: gpu.memcpy async [%[[S]]] %[[T]], %[[X]]
// CHECK: gpu.launch_func async [%[[S]]] @kernels::@k
// CHECK: gpu.memcpy async [%[[S]]] %[[Y]], %[[T]]
// CHECK: gpu.dealloc async [%[[S]]] %[[T]]
// CHECK-NOT: gpu.wait
// CHECK: return
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%a: memref<?xf32>) kernel {
      gpu.return
    }
  }
  func.func @on_stream(%x: memref<?xf32>, %y: memref<?xf32>, %stream: !gpu.async.token) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %n = memref.dim %x, %c0 : memref<?xf32>
    %t = gpu.alloc (%n) : memref<?xf32>
    gpu.memcpy %t, %x : memref<?xf32>, memref<?xf32>
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%t : memref<?xf32>)
    gpu.memcpy %y, %t : memref<?xf32>, memref<?xf32>
    gpu.dealloc %t : memref<?xf32>
    return
  }
}

// -----

// Near miss: without a token, a stream per call (gpu-async-region): made at
// the start, waited on (synchronised and destroyed) before returning.
// CHECK-LABEL: func.func @per_call
// CHECK: %[[S:.*]] = gpu.wait async
// CHECK: %[[T:.*]] = gpu.launch_func async [%[[S]]] @kernels::@k
// CHECK: gpu.wait [%[[T]]]
// CHECK: return
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%a: memref<?xf32>) kernel {
      gpu.return
    }
  }
  func.func @per_call(%x: memref<?xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<?xf32>)
    return
  }
}

// -----

// A launching function called with and without a stream (an outlined norm
// kernel shared by two entry points): the caller with the stream calls a
// copy taking it last; the other keeps the original, which makes its own.
// A launching function only ever called on a stream is replaced by its copy.
// CHECK-LABEL: func.func private @shared(
// CHECK-SAME: %{{.*}}: memref<?xf32>)
// CHECK: gpu.wait async
// CHECK-LABEL: func.func private @shared_on_stream(
// CHECK-SAME: %{{.*}}: memref<?xf32>, %[[S:.*]]: !gpu.async.token)
// CHECK-NOT: gpu.wait
// CHECK: gpu.launch_func async [%[[S]]] @kernels::@k
// CHECK-NOT: func.func private @only_on_stream(
// CHECK-LABEL: func.func private @only_on_stream_on_stream(
// CHECK-SAME: %{{.*}}: memref<?xf32>, %[[S2:.*]]: !gpu.async.token)
// CHECK: gpu.launch_func async [%[[S2]]] @kernels::@k
// CHECK-LABEL: func.func @serve
// CHECK-SAME: (%[[X:.*]]: memref<?xf32>, %[[S3:.*]]: !gpu.async.token)
// CHECK: call @shared_on_stream(%[[X]], %[[S3]])
// CHECK: call @only_on_stream_on_stream(%[[X]], %[[S3]])
// CHECK: call @host_only(%[[X]])
// CHECK-LABEL: func.func @offline
// CHECK: call @shared(%{{.*}}) : (memref<?xf32>) -> ()
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%a: memref<?xf32>) kernel {
      gpu.return
    }
  }
  func.func private @shared(%x: memref<?xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<?xf32>)
    return
  }
  func.func private @only_on_stream(%x: memref<?xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<?xf32>)
    return
  }
  func.func private @host_only(%x: memref<?xf32>) {
    return
  }
  func.func @serve(%x: memref<?xf32>, %stream: !gpu.async.token) {
    call @shared(%x) : (memref<?xf32>) -> ()
    call @only_on_stream(%x) : (memref<?xf32>) -> ()
    call @host_only(%x) : (memref<?xf32>) -> ()
    return
  }
  func.func @offline(%x: memref<?xf32>) {
    call @shared(%x) : (memref<?xf32>) -> ()
    return
  }
}

// -----

module attributes {gpu.container_module} {
  // expected-error @below {{takes more than one !gpu.async.token argument; expected at most one, the caller's stream}}
  func.func @two_streams(%x: memref<?xf32>, %a: !gpu.async.token, %b: !gpu.async.token) {
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%a: memref<?xf32>) kernel {
      gpu.return
    }
  }
  func.func @ordered_elsewhere(%x: memref<?xf32>, %stream: !gpu.async.token) {
    %c1 = arith.constant 1 : index
    %other = gpu.wait async
    // expected-error @below {{already has async dependencies: a function taking the caller's stream orders its GPU work on that stream alone}}
    %t = gpu.launch_func async [%other] @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<?xf32>)
    return
  }
}
