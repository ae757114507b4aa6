// A LayerNorm kernel in the usual memref ABI: inputs read through
// bufferization.to_tensor, the result written into the destination with
// materialize_in_destination. Rows are dynamic.
func.func @layer_norm(%x: memref<?x768xf32>, %gamma: memref<768xf32>,
                      %beta: memref<768xf32>, %out: memref<?x768xf32>)
    attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %xt = bufferization.to_tensor %x restrict : memref<?x768xf32> to tensor<?x768xf32>
  %gt = bufferization.to_tensor %gamma restrict : memref<768xf32> to tensor<768xf32>
  %bt = bufferization.to_tensor %beta restrict : memref<768xf32> to tensor<768xf32>
  %rows = tensor.dim %xt, %c0 : tensor<?x768xf32>
  %init = tensor.empty(%rows) : tensor<?x768xf32>
  %y = norm.layer_norm eps(1.0e-05) ins(%xt : tensor<?x768xf32>)
         gamma(%gt : tensor<768xf32>) beta(%bt : tensor<768xf32>)
         outs(%init : tensor<?x768xf32>) -> tensor<?x768xf32>
  bufferization.materialize_in_destination %y in restrict writable %out
      : (tensor<?x768xf32>, memref<?x768xf32>) -> ()
  return
}
