func.func @workgroup_memory(%x: memref<4x8xf32, #gpu.address_space<workgroup>>, %o: memref<4x8xf32>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<4x8xf32, #gpu.address_space<workgroup>>) outs(%o : memref<4x8xf32>)
  return
}
