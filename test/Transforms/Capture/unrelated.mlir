// RUN: norm-opt %s --norm-capture -split-input-file -o %t.captured
// RUN: norm-opt %s -split-input-file -o %t.original
// RUN: diff %t.original %t.captured

// IR that holds no norm, of kinds the capture must read past without
// touching anything: memrefs, loops, unranked and integer tensors, complex
// numbers, norm ops already there, dead code, a softmax (a reduction that is
// not a norm), a matmul chain.

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

func.func @memref_generic(%x: memref<4x8xf32>, %y: memref<4xf32>) {
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x8xf32>) outs(%y : memref<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  }
  return
}

func.func @loop(%x: tensor<4x8xf32>, %n: index) -> tensor<4x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %x) -> tensor<4x8xf32> {
    %s = arith.mulf %acc, %acc : tensor<4x8xf32>
    scf.yield %s : tensor<4x8xf32>
  }
  return %r : tensor<4x8xf32>
}

func.func @unranked_and_integers(%x: tensor<*xf32>, %i: tensor<4x8xi32>) -> (tensor<*xf32>, tensor<4x8xi32>) {
  %a = arith.addf %x, %x : tensor<*xf32>
  %b = arith.muli %i, %i : tensor<4x8xi32>
  return %a, %b : tensor<*xf32>, tensor<4x8xi32>
}

func.func @complex(%x: tensor<4xcomplex<f32>>, %y: tensor<4xcomplex<f32>>) -> tensor<4xcomplex<f32>> {
  %full = tensor.empty() : tensor<4xcomplex<f32>>
  %a = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x, %y : tensor<4xcomplex<f32>>, tensor<4xcomplex<f32>>) outs(%full : tensor<4xcomplex<f32>>) {
  ^bb0(%p: complex<f32>, %q: complex<f32>, %o: complex<f32>):
    %0 = complex.mul %p, %q : complex<f32>
    linalg.yield %0 : complex<f32>
  } -> tensor<4xcomplex<f32>>
  return %a : tensor<4xcomplex<f32>>
}

func.func @dead_code(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %unused = arith.mulf %x, %x : tensor<4x8xf32>
  %c = arith.constant 3.0 : f32
  return %x : tensor<4x8xf32>
}

func.func @already_a_norm(%x: tensor<4x8xf32>, %o: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = norm.rms_norm eps(1.0e-06) ins(%x : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  %z = arith.mulf %y, %y : tensor<4x8xf32>
  return %z : tensor<4x8xf32>
}

func.func @softmax(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x8xf32>
  %e = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%full : tensor<4x8xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = math.exp %in : f32
    linalg.yield %0 : f32
  } -> tensor<4x8xf32>
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%e : tensor<4x8xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.addf %in, %o : f32
    linalg.yield %0 : f32
  } -> tensor<4xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%e, %s : tensor<4x8xf32>, tensor<4xf32>) outs(%full : tensor<4x8xf32>) {
  ^bb0(%in: f32, %t: f32, %o: f32):
    %0 = arith.divf %in, %t : f32
    linalg.yield %0 : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

func.func @matmuls(%a: tensor<4x8xf32>, %b: tensor<8x8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %full = tensor.empty() : tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%full : tensor<4x8xf32>) -> tensor<4x8xf32>
  %m1 = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
  %m2 = linalg.matmul ins(%m1, %b : tensor<4x8xf32>, tensor<8x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
  %r = math.rsqrt %m2 : tensor<4x8xf32>
  %y = arith.mulf %m1, %r : tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
