func.func @f(%x: memref<2x3x?x5xf32, strided<[?, ?, ?, 1], offset: ?>>, %g: memref<?x5xf32>, %o: memref<2x3x?x5xf16>, %m: memref<2x3xf32>, %v: memref<2x3xf32>) {
  norm.layer_norm axis(2) eps(1.0e-05) ins(%x : memref<2x3x?x5xf32, strided<[?, ?, ?, 1], offset: ?>>) gamma(%g : memref<?x5xf32>) outs(%o : memref<2x3x?x5xf16>) mean(%m : memref<2x3xf32>) rstd(%v : memref<2x3xf32>)
  return
}
