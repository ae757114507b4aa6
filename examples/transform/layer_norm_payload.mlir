// A LayerNorm as a front end writes it (linalg on tensors, one step per
// op), called from a main that prints a few outputs; the payload of
// capture_tile_lower.mlir.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @layer_norm(%x: tensor<16x256xf32>, %g: tensor<256xf32>, %b: tensor<256xf32>) -> tensor<16x256xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 256.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<16xf32>) -> tensor<16xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<16x256xf32>) outs(%acc : tensor<16xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.addf %in, %o : f32
    linalg.yield %0 : f32
  } -> tensor<16xf32>
  %full = tensor.empty() : tensor<16x256xf32>
  %c = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : tensor<16x256xf32>, tensor<16xf32>) outs(%full : tensor<16x256xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %m = arith.divf %s, %n : f32
    %0 = arith.subf %in, %m : f32
    linalg.yield %0 : f32
  } -> tensor<16x256xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%c : tensor<16x256xf32>) outs(%acc : tensor<16xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %0, %o : f32
    linalg.yield %1 : f32
  } -> tensor<16xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #col, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %ss, %g, %b : tensor<16x256xf32>, tensor<16xf32>, tensor<256xf32>, tensor<256xf32>) outs(%full : tensor<16x256xf32>) {
  ^bb0(%in: f32, %s: f32, %gg: f32, %bb: f32, %o: f32):
    %v = arith.divf %s, %n : f32
    %ve = arith.addf %v, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    %1 = arith.mulf %0, %gg : f32
    %2 = arith.addf %1, %bb : f32
    linalg.yield %2 : f32
  } -> tensor<16x256xf32>
  return %y : tensor<16x256xf32>
}

// x[i][j] = i + j (every row a shifted 0..255, so every row normalises to
// the same values), gamma = 2, beta = 1.
func.func @main() {
  %e = tensor.empty() : tensor<16x256xf32>
  %x = linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]}
      outs(%e : tensor<16x256xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %s = arith.addi %i, %j : index
    %si = arith.index_cast %s : index to i32
    %f = arith.sitofp %si : i32 to f32
    linalg.yield %f : f32
  } -> tensor<16x256xf32>
  %two = arith.constant 2.0 : f32
  %one = arith.constant 1.0 : f32
  %ge = tensor.empty() : tensor<256xf32>
  %g = linalg.fill ins(%two : f32) outs(%ge : tensor<256xf32>) -> tensor<256xf32>
  %b = linalg.fill ins(%one : f32) outs(%ge : tensor<256xf32>) -> tensor<256xf32>
  %y = func.call @layer_norm(%x, %g, %b) : (tensor<16x256xf32>, tensor<256xf32>, tensor<256xf32>) -> tensor<16x256xf32>
  %corners = tensor.extract_slice %y[0, 0] [16, 2] [1, 255] : tensor<16x256xf32> to tensor<16x2xf32>
  %u = tensor.cast %corners : tensor<16x2xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}

func.func private @printMemrefF32(tensor<*xf32>)
