// RUN: norm-opt %s -split-input-file -eliminate-empty-tensors -one-shot-bufferize="bufferize-function-boundaries" -canonicalize | FileCheck %s

// The destination is written, never read: a tensor.empty destination becomes
// a fresh buffer with no copy into it.
// CHECK-LABEL: func @empty_destination
// CHECK-SAME: (%[[X:.*]]: memref<4x8xf32{{.*}}>, %[[G:.*]]: memref<8xf32{{.*}}>)
// CHECK: %[[ALLOC:.*]] = memref.alloc() {{.*}}: memref<4x8xf32>
// CHECK-NOT: memref.copy
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : memref<4x8xf32{{.*}}>) gamma(%[[G]] : memref<8xf32{{.*}}>) outs(%[[ALLOC]] : memref<4x8xf32>)
// CHECK: return %[[ALLOC]]
func.func @empty_destination(%x: tensor<4x8xf32>, %g: tensor<8xf32>) -> tensor<4x8xf32> {
  %o = tensor.empty() : tensor<4x8xf32>
  %y = norm.layer_norm eps(1.0e-05) ins(%x : tensor<4x8xf32>) gamma(%g : tensor<8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A writable destination argument is written in place: no allocation.
// CHECK-LABEL: func @in_place
// CHECK-SAME: (%[[X:.*]]: memref<?x64xbf16{{.*}}>, %[[O:.*]]: memref<?x64xbf16{{.*}}>)
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : {{.*}}) outs(%[[O]] : {{.*}})
func.func @in_place(%x: tensor<?x64xbf16>, %o: tensor<?x64xbf16> {bufferization.writable = true}) -> tensor<?x64xbf16> {
  %y = norm.rms_norm eps(1.0e-06) ins(%x : tensor<?x64xbf16>) outs(%o : tensor<?x64xbf16>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// The memref kernel ABI: inputs read through to_tensor, results written
// with materialize_in_destination. After empty-tensor elimination the op
// writes straight into the destination buffers.
// CHECK-LABEL: func @kernel_abi
// CHECK-SAME: (%[[X:.*]]: memref<16x128xf16>, %[[R:.*]]: memref<16x128xf16>, %[[O:.*]]: memref<16x128xf16>, %[[S:.*]]: memref<16x128xf16>, %[[V:.*]]: memref<16xf32>)
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : memref<16x128xf16>) residual(%[[R]] : memref<16x128xf16>) outs(%[[O]] : memref<16x128xf16>) residual_out(%[[S]] : memref<16x128xf16>) rstd(%[[V]] : memref<16xf32>)
// CHECK-NEXT: return
func.func @kernel_abi(%x: memref<16x128xf16>, %r: memref<16x128xf16>, %out: memref<16x128xf16>, %sum: memref<16x128xf16>, %rstd: memref<16xf32>) {
  %xt = bufferization.to_tensor %x restrict : memref<16x128xf16> to tensor<16x128xf16>
  %rt = bufferization.to_tensor %r restrict : memref<16x128xf16> to tensor<16x128xf16>
  %o = tensor.empty() : tensor<16x128xf16>
  %s = tensor.empty() : tensor<16x128xf16>
  %v = tensor.empty() : tensor<16xf32>
  %y:3 = norm.rms_norm eps(1.0e-06) ins(%xt : tensor<16x128xf16>) residual(%rt : tensor<16x128xf16>) outs(%o : tensor<16x128xf16>) residual_out(%s : tensor<16x128xf16>) rstd(%v : tensor<16xf32>) -> tensor<16x128xf16>, tensor<16x128xf16>, tensor<16xf32>
  bufferization.materialize_in_destination %y#0 in restrict writable %out : (tensor<16x128xf16>, memref<16x128xf16>) -> ()
  bufferization.materialize_in_destination %y#1 in restrict writable %sum : (tensor<16x128xf16>, memref<16x128xf16>) -> ()
  bufferization.materialize_in_destination %y#2 in restrict writable %rstd : (tensor<16xf32>, memref<16xf32>) -> ()
  return
}

// -----

// Reading the destination after the op would need a copy: bufferization
// keeps the original value intact (the op's result is a new buffer).
// CHECK-LABEL: func @destination_still_used
// CHECK-SAME: (%[[X:.*]]: memref<4x8xf32{{.*}}>, %[[O:.*]]: memref<4x8xf32{{.*}}>)
// CHECK: %[[ALLOC:.*]] = memref.alloc
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : {{.*}}) outs(%[[ALLOC]] : {{.*}})
// CHECK: return %[[ALLOC]], %[[O]]
func.func @destination_still_used(%x: tensor<4x8xf32>, %o: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %y = norm.layer_norm eps(1.0e-05) ins(%x : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y, %o : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// vLLM's fused_add_rms_norm on tensors: the destinations are the inputs
// themselves. The op reads a row of x and r before writing any of that row
// of out or residual_out, so both are written in place: no allocation, no
// copy.
// CHECK-LABEL: func @fused_add_in_place
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x4096xbf16{{.*}}>, %[[R:[^:]*]]: memref<?x4096xbf16{{.*}}>, %[[G:[^:]*]]: memref<4096xbf16{{.*}}>)
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : {{.*}}) residual(%[[R]] : {{.*}}) gamma(%[[G]] : {{.*}}) outs(%[[X]] : {{.*}}) residual_out(%[[R]] : {{.*}})
// CHECK-NEXT: return %[[X]], %[[R]]
func.func @fused_add_in_place(%x: tensor<?x4096xbf16> {bufferization.writable = true}, %r: tensor<?x4096xbf16> {bufferization.writable = true}, %g: tensor<4096xbf16>) -> (tensor<?x4096xbf16>, tensor<?x4096xbf16>) {
  %y:2 = norm.rms_norm eps(1.0e-06) ins(%x : tensor<?x4096xbf16>) residual(%r : tensor<?x4096xbf16>) gamma(%g : tensor<4096xbf16>) outs(%x : tensor<?x4096xbf16>) residual_out(%r : tensor<?x4096xbf16>) -> tensor<?x4096xbf16>, tensor<?x4096xbf16>
  return %y#0, %y#1 : tensor<?x4096xbf16>, tensor<?x4096xbf16>
}

// -----

// Near miss: x is read again after the op, so out cannot overwrite it (a
// new buffer); residual_out still takes r's.
// CHECK-LABEL: func @input_used_after
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x64xf32{{.*}}>, %[[R:[^:]*]]: memref<?x64xf32{{.*}}>)
// CHECK: %[[ALLOC:.*]] = memref.alloc
// CHECK-NOT: memref.copy
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : {{.*}}) residual(%[[R]] : {{.*}}) outs(%[[ALLOC]] : {{.*}}) residual_out(%[[R]] : {{.*}})
// CHECK: return %[[ALLOC]], %[[R]], %[[X]]
func.func @input_used_after(%x: tensor<?x64xf32> {bufferization.writable = true}, %r: tensor<?x64xf32> {bufferization.writable = true}) -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %y:2 = norm.rms_norm eps(1.0e-06) ins(%x : tensor<?x64xf32>) residual(%r : tensor<?x64xf32>) outs(%x : tensor<?x64xf32>) residual_out(%r : tensor<?x64xf32>) -> tensor<?x64xf32>, tensor<?x64xf32>
  return %y#0, %y#1, %x : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

// Near miss: gamma is broadcast over the rows, not read element by element
// with out: out may not overwrite it, even where the shapes allow (1-D).
// CHECK-LABEL: func @gamma_is_not_row_wise
// CHECK-SAME: (%[[X:[^:]*]]: memref<64xf32{{.*}}>)
// CHECK: %[[ALLOC:.*]] = memref.alloc
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : {{.*}}) gamma(%[[X]] : {{.*}}) outs(%[[ALLOC]] : {{.*}})
func.func @gamma_is_not_row_wise(%x: tensor<64xf32> {bufferization.writable = true}) -> tensor<64xf32> {
  %y = norm.rms_norm eps(1.0e-06) ins(%x : tensor<64xf32>) gamma(%x : tensor<64xf32>) outs(%x : tensor<64xf32>) -> tensor<64xf32>
  return %y : tensor<64xf32>
}

// -----

// Near miss: a gradient op is not element-wise (dx needs the whole row
// before any of it): dx gets its own buffer rather than x's.
// CHECK-LABEL: func @gradient_not_in_place
// CHECK-SAME: (%[[X:[^:]*]]: memref<8x64xf32{{.*}}>, %[[DY:[^:]*]]: memref<8x64xf32{{.*}}>, %[[V:[^:]*]]: memref<8xf32{{.*}}>)
// CHECK: %[[ALLOC:.*]] = memref.alloc
// CHECK: norm.rms_norm_grad ins(%[[X]] : {{.*}}) dy(%[[DY]] : {{.*}}) rstd(%[[V]] : {{.*}}) outs dx(%[[ALLOC]] :
func.func @gradient_not_in_place(%x: tensor<8x64xf32> {bufferization.writable = true}, %dy: tensor<8x64xf32>, %rstd: tensor<8xf32>) -> tensor<8x64xf32> {
  %dx = norm.rms_norm_grad ins(%x : tensor<8x64xf32>) dy(%dy : tensor<8x64xf32>) rstd(%rstd : tensor<8xf32>) outs dx(%x : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %dx : tensor<8x64xf32>
}
