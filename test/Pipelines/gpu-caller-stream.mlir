// A kernel function that takes a !gpu.async.token is called with the
// caller's CUDA stream (the token is a CUstream, !llvm.ptr, in the lowered
// function): its launches go on that stream, and the call creates,
// synchronises and destroys no stream. Here on the kernel ABI (memrefs
// read and written through tensors) and on memrefs in place (vLLM's
// fused_add_rms_norm), two layers of it: the kernel is outlined, and the
// stream follows the call. A function without a token keeps a stream per
// call (the near miss).

// RUN: norm-opt %s --norm-gpu-pipeline | FileCheck %s

// CHECK-LABEL: llvm.func @serve(
// CHECK-SAME: %[[S:arg[0-9]+]]: !llvm.ptr) {
// CHECK-NOT: mgpuStream
// CHECK: llvm.call @__norm_kernel_rms_norm_on_stream({{.*}}, %[[S]])
// CHECK-NOT: mgpuStream
// CHECK: llvm.call @__norm_kernel_rms_norm_on_stream({{.*}}, %[[S]])
// CHECK-NOT: mgpuStream
// CHECK: llvm.return
func.func @serve(%x: memref<?x4096xbf16>, %r: memref<?x4096xbf16>, %g: memref<4096xbf16>, %stream: !gpu.async.token) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x4096xbf16>) residual(%r : memref<?x4096xbf16>) gamma(%g : memref<4096xbf16>) outs(%x : memref<?x4096xbf16>) residual_out(%r : memref<?x4096xbf16>)
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x4096xbf16>) residual(%r : memref<?x4096xbf16>) gamma(%g : memref<4096xbf16>) outs(%x : memref<?x4096xbf16>) residual_out(%r : memref<?x4096xbf16>)
  return
}

// CHECK-LABEL: llvm.func @kernel_abi(
// CHECK-SAME: %[[S:arg[0-9]+]]: !llvm.ptr) attributes {llvm.emit_c_interface} {
// CHECK-NOT: mgpuStream
// CHECK: gpu.launch_func <%[[S]] : !llvm.ptr> @kernel_abi_kernel::@kernel_abi_kernel
// CHECK-NOT: mgpuStream
// CHECK: llvm.return
// The C interface takes the stream last, as passed.
// CHECK-LABEL: llvm.func @_mlir_ciface_kernel_abi(
// CHECK-SAME: %[[CS:arg[0-9]+]]: !llvm.ptr) attributes {llvm.emit_c_interface} {
// CHECK: llvm.call @kernel_abi({{.*}}, %[[CS]])
func.func @kernel_abi(%x: memref<?x768xf32>, %g: memref<768xf32>, %b: memref<768xf32>, %out: memref<?x768xf32>, %stream: !gpu.async.token) attributes {llvm.emit_c_interface} {
  %xt = bufferization.to_tensor %x restrict : memref<?x768xf32> to tensor<?x768xf32>
  %gt = bufferization.to_tensor %g restrict : memref<768xf32> to tensor<768xf32>
  %bt = bufferization.to_tensor %b restrict : memref<768xf32> to tensor<768xf32>
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %xt, %c0 : tensor<?x768xf32>
  %init = tensor.empty(%rows) : tensor<?x768xf32>
  %y = norm.layer_norm eps(1.0e-05) ins(%xt : tensor<?x768xf32>) gamma(%gt : tensor<768xf32>) beta(%bt : tensor<768xf32>) outs(%init : tensor<?x768xf32>) -> tensor<?x768xf32>
  bufferization.materialize_in_destination %y in restrict writable %out : (tensor<?x768xf32>, memref<?x768xf32>) -> ()
  return
}

// CHECK-LABEL: llvm.func @per_call(
// CHECK: %[[T:.*]] = llvm.call @mgpuStreamCreate()
// CHECK: gpu.launch_func <%[[T]] : !llvm.ptr>
// CHECK: llvm.call @mgpuStreamSynchronize(%[[T]])
// CHECK: llvm.call @mgpuStreamDestroy(%[[T]])
func.func @per_call(%x: memref<?x768xf32>, %out: memref<?x768xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x768xf32>) outs(%out : memref<?x768xf32>)
  return
}

// The outlined kernel, on the caller's stream.
// CHECK-LABEL: llvm.func internal @__norm_kernel_rms_norm_on_stream(
// CHECK-SAME: %[[S:arg[0-9]+]]: !llvm.ptr)
// CHECK-NOT: mgpuStream
// CHECK: gpu.launch_func <%[[S]] : !llvm.ptr>
// CHECK-NOT: mgpuStream
// CHECK: llvm.return
