// Kernels for aot.test, in the two ABIs the CPU pipeline compiles to plain
// C-callable functions.
func.func @layer_norm(%x: memref<?x4099xf32>, %g: memref<4099xf32>, %b: memref<4099xf32>, %o: memref<?x4099xf32>) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %xt = bufferization.to_tensor %x restrict : memref<?x4099xf32> to tensor<?x4099xf32>
  %gt = bufferization.to_tensor %g restrict : memref<4099xf32> to tensor<4099xf32>
  %bt = bufferization.to_tensor %b restrict : memref<4099xf32> to tensor<4099xf32>
  %d = tensor.dim %xt, %c0 : tensor<?x4099xf32>
  %e = tensor.empty(%d) : tensor<?x4099xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%xt : tensor<?x4099xf32>) gamma(%gt : tensor<4099xf32>) beta(%bt : tensor<4099xf32>) outs(%e : tensor<?x4099xf32>) -> tensor<?x4099xf32>
  bufferization.materialize_in_destination %y in restrict writable %o : (tensor<?x4099xf32>, memref<?x4099xf32>) -> ()
  return
}

func.func @rms_norm(%x: tensor<37x768xf32>, %out: tensor<37x768xf32> {bufferization.writable = true}) -> tensor<37x768xf32> attributes {llvm.emit_c_interface} {
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<37x768xf32>) outs(%out : tensor<37x768xf32>) -> tensor<37x768xf32>
  return %y : tensor<37x768xf32>
}
