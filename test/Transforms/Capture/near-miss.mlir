// RUN: norm-opt %s --norm-capture -split-input-file | FileCheck %s
// RUN: norm-opt %s --norm-capture -split-input-file -o %t.captured
// RUN: norm-opt %s -split-input-file -o %t.original
// RUN: diff %t.original %t.captured

// Near misses: each looks like a norm but is not one (or not one the op
// can express). The pass leaves every function exactly as it was.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// N is 63, the rows hold 64: not a mean.
// CHECK-LABEL: func @wrong_divisor
// CHECK-NOT: norm.
func.func @wrong_divisor(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<4x64xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %bad = arith.constant 63.0 : f32
    %ms = arith.divf %s, %bad : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %r0 = arith.mulf %in, %r : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// x / (sqrt(ms) + eps): eps outside the square root.
// CHECK-LABEL: func @eps_outside_sqrt
// CHECK-NOT: norm.
func.func @eps_outside_sqrt(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<4x64xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %sd = math.sqrt %ms : f32
    %de = arith.addf %sd, %eps : f32
    %r0 = arith.divf %in, %de : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// x * (rsqrt(ms) + eps): eps outside the inverse square root.
// CHECK-LABEL: func @eps_outside_rsqrt
// CHECK-NOT: norm.
func.func @eps_outside_rsqrt(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<4x64xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %r = math.rsqrt %ms : f32
    %re = arith.addf %r, %eps : f32
    %r0 = arith.mulf %in, %re : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// x * rsqrt(ms): no epsilon at all.
// CHECK-LABEL: func @sqrt_without_eps
// CHECK-NOT: norm.
func.func @sqrt_without_eps(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<4x64xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %r = math.rsqrt %ms : f32
    %r0 = arith.mulf %in, %r : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// eps = 0: the op requires a positive epsilon.
// CHECK-LABEL: func @zero_eps
// CHECK-NOT: norm.
func.func @zero_eps(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<4x64xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %z = arith.constant 0.0 : f32
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %z : f32
    %r = math.rsqrt %ve : f32
    %r0 = arith.mulf %in, %r : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// eps < 0.
// CHECK-LABEL: func @negative_eps
// CHECK-NOT: norm.
func.func @negative_eps(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<4x64xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %neps = arith.constant -1.0e-05 : f32
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %neps : f32
    %r = math.rsqrt %ve : f32
    %r0 = arith.mulf %in, %r : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// The statistic is a max, not a sum.
// CHECK-LABEL: func @max_instead_of_sum
// CHECK-NOT: norm.
func.func @max_instead_of_sum(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.maximumf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<4x64xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %r0 = arith.mulf %in, %r : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// The mean of x^3, not of x^2.
// CHECK-LABEL: func @cube_instead_of_square
// CHECK-NOT: norm.
func.func @cube_instead_of_square(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %c3 = arith.constant 3 : i32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = math.fpowi %in, %c3 : f32, i32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<4x64xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %r0 = arith.mulf %in, %r : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// The mean of |x|, not of x^2.
// CHECK-LABEL: func @abs_instead_of_square
// CHECK-NOT: norm.
func.func @abs_instead_of_square(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = math.absf %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<4x64xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %r0 = arith.mulf %in, %r : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// (ms + eps)^(-1/4): not an inverse square root.
// CHECK-LABEL: func @wrong_root
// CHECK-NOT: norm.
func.func @wrong_root(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<4x64xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %p = arith.constant -2.5e-01 : f32
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.powf %ve, %p : f32
    %r0 = arith.mulf %in, %r : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// The sum starts at 1, not 0.
// CHECK-LABEL: func @nonzero_accumulator
// CHECK-NOT: norm.
func.func @nonzero_accumulator(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%one : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<4x64xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %r0 = arith.mulf %in, %r : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// The sum is scaled by a run-time scalar that need not be 1/N.
// CHECK-LABEL: func @runtime_divisor
// CHECK-NOT: norm.
func.func @runtime_divisor(%x: tensor<4x64xf32>, %k: f32) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<4x64xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.mulf %s, %k : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %r0 = arith.mulf %in, %r : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// Scaled by a per-row tensor, not a gamma along the normalised dim.
// CHECK-LABEL: func @scale_per_row
// CHECK-NOT: norm.
func.func @scale_per_row(%x: tensor<4x64xf32>, %w: tensor<4xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss, %w : tensor<4x64xf32>, tensor<4xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %e0: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %t = arith.mulf %in, %r : f32
    %r0 = arith.mulf %t, %e0 : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// The normalised value times 2.
// CHECK-LABEL: func @extra_constant_factor
// CHECK-NOT: norm.
func.func @extra_constant_factor(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<4x64xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %two = arith.constant 2.0 : f32
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %t = arith.mulf %in, %r : f32
    %r0 = arith.mulf %t, %two : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// RMSNorm plus a shift: no such op.
// CHECK-LABEL: func @rms_with_bias
// CHECK-NOT: norm.
func.func @rms_with_bias(%x: tensor<4x64xf32>, %b: tensor<64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss, %b : tensor<4x64xf32>, tensor<4xf32>, tensor<64xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %e0: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %t = arith.mulf %in, %r : f32
    %r0 = arith.addf %t, %e0 : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// Two scales along the normalised dim (gamma * gamma2 is no operand).
// CHECK-LABEL: func @two_scales
// CHECK-NOT: norm.
func.func @two_scales(%x: tensor<4x64xf32>, %g: tensor<64xf32>, %g2: tensor<64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #col, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss, %g, %g2 : tensor<4x64xf32>, tensor<4xf32>, tensor<64xf32>, tensor<64xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %e0: f32, %e1: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %t = arith.mulf %in, %r : f32
    %u = arith.mulf %t, %e0 : f32
    %r0 = arith.mulf %u, %e1 : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// The mean square is rounded to f16 on its way: the op would not round it.
// CHECK-LABEL: func @truncation_in_statistics
// CHECK-NOT: norm.
func.func @truncation_in_statistics(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<4x64xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %h = arith.truncf %ms : f32 to f16
    %msh = arith.extf %h : f16 to f32
    %ve = arith.addf %msh, %eps : f32
    %r = math.rsqrt %ve : f32
    %r0 = arith.mulf %in, %r : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// The output is rounded through f16 but returned as f32.
// CHECK-LABEL: func @rounds_narrower_than_result
// CHECK-NOT: norm.
func.func @rounds_narrower_than_result(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<4x64xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %t = arith.mulf %in, %r : f32
    %h = arith.truncf %t : f32 to f16
    %r0 = arith.extf %h : f16 to f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// The statistics are of x, the numerator scales x * x.
// CHECK-LABEL: func @input_squared_differently
// CHECK-NOT: norm.
func.func @input_squared_differently(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<4x64xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %xx = arith.mulf %in, %in : f32
    %r0 = arith.mulf %xx, %r : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// Variance divided by N - 1 (unbiased), the mean by N.
// CHECK-LABEL: func @unbiased_variance
// CHECK-NOT: norm.
func.func @unbiased_variance(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %st:2 = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc, %acc : tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32):
    %0 = arith.addf %s, %in : f32
    %1 = arith.mulf %in, %in : f32
    %2 = arith.addf %q, %1 : f32
    linalg.yield %0, %2 : f32, f32
  } -> (tensor<4xf32>, tensor<4xf32>)
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %st#0, %st#1 : tensor<4x64xf32>, tensor<4xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32, %o: f32):
    %mean = arith.divf %s, %n : f32
    %ms = arith.divf %q, %n : f32
    %m2 = arith.mulf %mean, %mean : f32
    %var = arith.subf %ms, %m2 : f32
    %nm1 = arith.constant 63.0 : f32
    %c = arith.subf %in, %mean : f32
    %sq = arith.mulf %mean, %mean : f32
    %sn = arith.mulf %sq, %n : f32
    %dev = arith.subf %q, %sn : f32
    %varu = arith.divf %dev, %nm1 : f32
    %ve = arith.addf %varu, %eps : f32
    %r = math.rsqrt %ve : f32
    %r0 = arith.mulf %c, %r : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// x minus the mean of another tensor, scaled by x's deviation.
// CHECK-LABEL: func @mean_of_other_tensor
// CHECK-NOT: norm.
func.func @mean_of_other_tensor(%x: tensor<4x64xf32>, %ysum: tensor<4xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %st:2 = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc, %acc : tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32):
    %0 = arith.addf %s, %in : f32
    %1 = arith.mulf %in, %in : f32
    %2 = arith.addf %q, %1 : f32
    linalg.yield %0, %2 : f32, f32
  } -> (tensor<4xf32>, tensor<4xf32>)
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %st#0, %st#1, %ysum : tensor<4x64xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32, %e0: f32, %o: f32):
    %mean = arith.divf %s, %n : f32
    %ms = arith.divf %q, %n : f32
    %m2 = arith.mulf %mean, %mean : f32
    %var = arith.subf %ms, %m2 : f32
    %my = arith.divf %e0, %n : f32
    %c = arith.subf %in, %my : f32
    %ve = arith.addf %var, %eps : f32
    %r = math.rsqrt %ve : f32
    %r0 = arith.mulf %c, %r : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// (x - mean) over the root of the mean square (RMS statistics).
// CHECK-LABEL: func @numerator_centred_stats_not
// CHECK-NOT: norm.
func.func @numerator_centred_stats_not(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %st:2 = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc, %acc : tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32):
    %0 = arith.addf %s, %in : f32
    %1 = arith.mulf %in, %in : f32
    %2 = arith.addf %q, %1 : f32
    linalg.yield %0, %2 : f32, f32
  } -> (tensor<4xf32>, tensor<4xf32>)
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %st#0, %st#1 : tensor<4x64xf32>, tensor<4xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32, %o: f32):
    %mean = arith.divf %s, %n : f32
    %ms = arith.divf %q, %n : f32
    %m2 = arith.mulf %mean, %mean : f32
    %var = arith.subf %ms, %m2 : f32
    %c = arith.subf %in, %mean : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %r0 = arith.mulf %c, %r : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// x - 2 * mean.
// CHECK-LABEL: func @mean_subtracted_twice
// CHECK-NOT: norm.
func.func @mean_subtracted_twice(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %st:2 = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc, %acc : tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32):
    %0 = arith.addf %s, %in : f32
    %1 = arith.mulf %in, %in : f32
    %2 = arith.addf %q, %1 : f32
    linalg.yield %0, %2 : f32, f32
  } -> (tensor<4xf32>, tensor<4xf32>)
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %st#0, %st#1 : tensor<4x64xf32>, tensor<4xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32, %o: f32):
    %mean = arith.divf %s, %n : f32
    %ms = arith.divf %q, %n : f32
    %m2 = arith.mulf %mean, %mean : f32
    %var = arith.subf %ms, %m2 : f32
    %m2x = arith.mulf %mean, %two : f32
    %c = arith.subf %in, %m2x : f32
    %ve = arith.addf %var, %eps : f32
    %r = math.rsqrt %ve : f32
    %r0 = arith.mulf %c, %r : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// (normalised + beta) * gamma: beta is scaled too.
// CHECK-LABEL: func @beta_before_gamma
// CHECK-NOT: norm.
func.func @beta_before_gamma(%x: tensor<4x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %st:2 = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc, %acc : tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32):
    %0 = arith.addf %s, %in : f32
    %1 = arith.mulf %in, %in : f32
    %2 = arith.addf %q, %1 : f32
    linalg.yield %0, %2 : f32, f32
  } -> (tensor<4xf32>, tensor<4xf32>)
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #col, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %st#0, %st#1, %g, %b : tensor<4x64xf32>, tensor<4xf32>, tensor<4xf32>, tensor<64xf32>, tensor<64xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32, %e0: f32, %e1: f32, %o: f32):
    %mean = arith.divf %s, %n : f32
    %ms = arith.divf %q, %n : f32
    %m2 = arith.mulf %mean, %mean : f32
    %var = arith.subf %ms, %m2 : f32
    %c = arith.subf %in, %mean : f32
    %ve = arith.addf %var, %eps : f32
    %r = math.rsqrt %ve : f32
    %t = arith.mulf %c, %r : f32
    %u = arith.addf %t, %e1 : f32
    %r0 = arith.mulf %u, %e0 : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// E[x^2] + E[x]^2 instead of minus.
// CHECK-LABEL: func @variance_plus_square
// CHECK-NOT: norm.
func.func @variance_plus_square(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %st:2 = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc, %acc : tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32):
    %0 = arith.addf %s, %in : f32
    %1 = arith.mulf %in, %in : f32
    %2 = arith.addf %q, %1 : f32
    linalg.yield %0, %2 : f32, f32
  } -> (tensor<4xf32>, tensor<4xf32>)
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %st#0, %st#1 : tensor<4x64xf32>, tensor<4xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32, %o: f32):
    %mean = arith.divf %s, %n : f32
    %ms = arith.divf %q, %n : f32
    %m2 = arith.mulf %mean, %mean : f32
    %var = arith.subf %ms, %m2 : f32
    %v2 = arith.addf %ms, %m2 : f32
    %c = arith.subf %in, %mean : f32
    %ve = arith.addf %v2, %eps : f32
    %r = math.rsqrt %ve : f32
    %r0 = arith.mulf %c, %r : f32
    linalg.yield %r0 : f32
  } -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#colstat = affine_map<(d0, d1) -> (d1)>

// Statistics over the rows (dim 0) of a square tensor: the shapes line up,
// the axis is wrong.
// CHECK-LABEL: func @wrong_axis
// CHECK-NOT: norm.
func.func @wrong_axis(%x: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 8.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %cols = tensor.empty() : tensor<8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%cols : tensor<8xf32>) -> tensor<8xf32>
  %ss = linalg.generic {indexing_maps = [#id, #colstat], iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<8x8xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<8xf32>
  %full = tensor.empty() : tensor<8x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #colstat, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<8x8xf32>, tensor<8xf32>) outs(%full : tensor<8x8xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<8x8xf32>
  return %y : tensor<8x8xf32>
}

// -----

// Statistics over the middle dim of a rank-3 tensor: not trailing dims.
// CHECK-LABEL: func @middle_dim
// CHECK-NOT: norm.
func.func @middle_dim(%x: tensor<2x8x4xf32>) -> tensor<2x8x4xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<1.250000e-01> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.0e-05> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %sq = tosa.mul %x, %x, %shift : (tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<1xi8>) -> tensor<2x8x4xf32>
  %ss = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<2x8x4xf32>) -> tensor<2x1x4xf32>
  %ms = tosa.mul %ss, %inv_n, %shift : (tensor<2x1x4xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x1x4xf32>
  %ve = tosa.add %ms, %eps : (tensor<2x1x4xf32>, tensor<1x1x1xf32>) -> tensor<2x1x4xf32>
  %r = tosa.rsqrt %ve : (tensor<2x1x4xf32>) -> tensor<2x1x4xf32>
  %y = tosa.mul %x, %r, %shift : (tensor<2x8x4xf32>, tensor<2x1x4xf32>, tensor<1xi8>) -> tensor<2x8x4xf32>
  return %y : tensor<2x8x4xf32>
}

// -----

// The numerator is centred on the mean over the last dim, the variance is
// the variance over the last two dims (centred on their own mean).
// CHECK-LABEL: func @mismatched_reduced_dims
// CHECK-NOT: norm.
func.func @mismatched_reduced_dims(%x: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv8 = "tosa.const"() <{values = dense<1.250000e-01> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %inv32 = "tosa.const"() <{values = dense<3.125000e-02> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.0e-05> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %sum = tosa.reduce_sum %x {axis = 2 : i32} : (tensor<2x4x8xf32>) -> tensor<2x4x1xf32>
  %mean = tosa.mul %sum, %inv8, %shift : (tensor<2x4x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x4x1xf32>
  %c = tosa.sub %x, %mean : (tensor<2x4x8xf32>, tensor<2x4x1xf32>) -> tensor<2x4x8xf32>
  %sum1 = tosa.reduce_sum %sum {axis = 1 : i32} : (tensor<2x4x1xf32>) -> tensor<2x1x1xf32>
  %mean2 = tosa.mul %sum1, %inv32, %shift : (tensor<2x1x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x1x1xf32>
  %c2 = tosa.sub %x, %mean2 : (tensor<2x4x8xf32>, tensor<2x1x1xf32>) -> tensor<2x4x8xf32>
  %sq = tosa.mul %c2, %c2, %shift : (tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<1xi8>) -> tensor<2x4x8xf32>
  %q2 = tosa.reduce_sum %sq {axis = 2 : i32} : (tensor<2x4x8xf32>) -> tensor<2x4x1xf32>
  %q1 = tosa.reduce_sum %q2 {axis = 1 : i32} : (tensor<2x4x1xf32>) -> tensor<2x1x1xf32>
  %var = tosa.mul %q1, %inv32, %shift : (tensor<2x1x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x1x1xf32>
  %ve = tosa.add %var, %eps : (tensor<2x1x1xf32>, tensor<1x1x1xf32>) -> tensor<2x1x1xf32>
  %r = tosa.rsqrt %ve : (tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %y = tosa.mul %c, %r, %shift : (tensor<2x4x8xf32>, tensor<2x1x1xf32>, tensor<1xi8>) -> tensor<2x4x8xf32>
  return %y : tensor<2x4x8xf32>
}

// -----

// The variance of another tensor: each statistic right, of the wrong input.
// CHECK-LABEL: func @variance_of_other_tensor
// CHECK-NOT: norm.
func.func @variance_of_other_tensor(%x: tensor<3x16xf32>, %z: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<6.250000e-02> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.0e-05> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %sum = tosa.reduce_sum %x {axis = 1 : i32} : (tensor<3x16xf32>) -> tensor<3x1xf32>
  %mean = tosa.mul %sum, %inv_n, %shift : (tensor<3x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<3x1xf32>
  %c = tosa.sub %x, %mean : (tensor<3x16xf32>, tensor<3x1xf32>) -> tensor<3x16xf32>
  %zsum = tosa.reduce_sum %z {axis = 1 : i32} : (tensor<3x16xf32>) -> tensor<3x1xf32>
  %zmean = tosa.mul %zsum, %inv_n, %shift : (tensor<3x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<3x1xf32>
  %zc = tosa.sub %z, %zmean : (tensor<3x16xf32>, tensor<3x1xf32>) -> tensor<3x16xf32>
  %sq = tosa.mul %zc, %zc, %shift : (tensor<3x16xf32>, tensor<3x16xf32>, tensor<1xi8>) -> tensor<3x16xf32>
  %ss = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<3x16xf32>) -> tensor<3x1xf32>
  %var = tosa.mul %ss, %inv_n, %shift : (tensor<3x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<3x1xf32>
  %ve = tosa.add %var, %eps : (tensor<3x1xf32>, tensor<1x1xf32>) -> tensor<3x1xf32>
  %r = tosa.rsqrt %ve : (tensor<3x1xf32>) -> tensor<3x1xf32>
  %y = tosa.mul %c, %r, %shift : (tensor<3x16xf32>, tensor<3x1xf32>, tensor<1xi8>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

// The variance centred on the mean of another tensor.
// CHECK-LABEL: func @variance_centred_on_other_mean
// CHECK-NOT: norm.
func.func @variance_centred_on_other_mean(%x: tensor<3x16xf32>, %z: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<6.250000e-02> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.0e-05> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %sum = tosa.reduce_sum %x {axis = 1 : i32} : (tensor<3x16xf32>) -> tensor<3x1xf32>
  %mean = tosa.mul %sum, %inv_n, %shift : (tensor<3x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<3x1xf32>
  %c = tosa.sub %x, %mean : (tensor<3x16xf32>, tensor<3x1xf32>) -> tensor<3x16xf32>
  %zsum = tosa.reduce_sum %z {axis = 1 : i32} : (tensor<3x16xf32>) -> tensor<3x1xf32>
  %zmean = tosa.mul %zsum, %inv_n, %shift : (tensor<3x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<3x1xf32>
  %xc = tosa.sub %x, %zmean : (tensor<3x16xf32>, tensor<3x1xf32>) -> tensor<3x16xf32>
  %sq = tosa.mul %xc, %xc, %shift : (tensor<3x16xf32>, tensor<3x16xf32>, tensor<1xi8>) -> tensor<3x16xf32>
  %ss = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<3x16xf32>) -> tensor<3x1xf32>
  %var = tosa.mul %ss, %inv_n, %shift : (tensor<3x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<3x1xf32>
  %ve = tosa.add %var, %eps : (tensor<3x1xf32>, tensor<1x1xf32>) -> tensor<3x1xf32>
  %r = tosa.rsqrt %ve : (tensor<3x1xf32>) -> tensor<3x1xf32>
  %y = tosa.mul %c, %r, %shift : (tensor<3x16xf32>, tensor<3x1xf32>, tensor<1xi8>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

// A dynamic TOSA chain: a dynamic dim may broadcast at run time, which the
// capture cannot rule out.
// CHECK-LABEL: func @dynamic_tosa
// CHECK-NOT: norm.
func.func @dynamic_tosa(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<6.250000e-02> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.0e-05> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %sq = tosa.mul %x, %x, %shift : (tensor<?x16xf32>, tensor<?x16xf32>, tensor<1xi8>) -> tensor<?x16xf32>
  %ss = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<?x16xf32>) -> tensor<?x1xf32>
  %ms = tosa.mul %ss, %inv_n, %shift : (tensor<?x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<?x1xf32>
  %ve = tosa.add %ms, %eps : (tensor<?x1xf32>, tensor<1x1xf32>) -> tensor<?x1xf32>
  %r = tosa.rsqrt %ve : (tensor<?x1xf32>) -> tensor<?x1xf32>
  %y = tosa.mul %x, %r, %shift : (tensor<?x16xf32>, tensor<?x1xf32>, tensor<1xi8>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// Dynamic shapes with N read from the wrong dim (the rows).
// CHECK-LABEL: func @divisor_from_wrong_dim
// CHECK-NOT: norm.
func.func @divisor_from_wrong_dim(%x: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %d0 = tensor.dim %x, %c0 : tensor<?x?xf32>
  %d1 = tensor.dim %x, %c1 : tensor<?x?xf32>
  %rows_i = arith.index_cast %d0 : index to i64
  %n = arith.sitofp %rows_i : i64 to f32
  %rows = tensor.empty(%d0) : tensor<?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<?xf32>) -> tensor<?xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x?xf32>) outs(%acc : tensor<?xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<?xf32>
  %full = tensor.empty(%d0, %d1) : tensor<?x?xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<?x?xf32>, tensor<?xf32>) outs(%full : tensor<?x?xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row3 = affine_map<(d0, d1, d2) -> (d0)>
#tr3 = affine_map<(d0, d1, d2) -> (d2, d1)>

// gamma read transposed along the two normalised dims.
// CHECK-LABEL: func @gamma_transposed
// CHECK-NOT: norm.
func.func @gamma_transposed(%x: tensor<2x4x4xf32>, %g: tensor<4x4xf32>) -> tensor<2x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 16.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<2xf32>) -> tensor<2xf32>
  %ss = linalg.generic {indexing_maps = [#id3, #row3], iterator_types = ["parallel", "reduction", "reduction"]}
      ins(%x : tensor<2x4x4xf32>) outs(%acc : tensor<2xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<2xf32>
  %full = tensor.empty() : tensor<2x4x4xf32>
  %y = linalg.generic {indexing_maps = [#id3, #row3, #tr3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %ss, %g : tensor<2x4x4xf32>, tensor<2xf32>, tensor<4x4xf32>) outs(%full : tensor<2x4x4xf32>) {
  ^bb0(%in: f32, %s: f32, %w: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    %1 = arith.mulf %0, %w : f32
    linalg.yield %1 : f32
  } -> tensor<2x4x4xf32>
  return %y : tensor<2x4x4xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// The numerator reads x transposed (a square tensor): not the tensor whose
// statistics were taken, element for element.
// CHECK-LABEL: func @numerator_transposed
// CHECK-NOT: norm.
func.func @numerator_transposed(%x: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 8.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<8xf32>) -> tensor<8xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x8xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<8xf32>
  %full = tensor.empty() : tensor<8x8xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<8x8xf32>, tensor<8xf32>) outs(%full : tensor<8x8xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<8x8xf32>
  return %y : tensor<8x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// RMS statistics of x * x fused into the reduction (the normalised tensor
// exists nowhere).
// CHECK-LABEL: func @normalised_tensor_not_materialised
// CHECK-NOT: norm.
func.func @normalised_tensor_not_materialised(%x: tensor<4x16xf32>, %z: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 16.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %z : tensor<4x16xf32>, tensor<4x16xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %h = arith.subf %a, %b : f32
    %0 = arith.mulf %h, %h : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x16xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %z, %ss : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4xf32>) outs(%full : tensor<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %s: f32, %o: f32):
    %h = arith.subf %a, %b : f32
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %h, %r : f32
    linalg.yield %0 : f32
  } -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#keep = affine_map<(d0, d1) -> (d0, 0)>
#col = affine_map<(d0, d1) -> (d1)>

// Near miss of the contraction rule: the "statistic" sums x * w[d1], a
// weighted row sum (a matrix-vector product), not a mean of squares.
// CHECK-LABEL: func @weighted_row_sum
// CHECK-NOT: norm.
func.func @weighted_row_sum(%x: tensor<3x40xf32>, %w: tensor<40xf32>) -> tensor<3x40xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 40.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %s_init = tensor.empty() : tensor<3x1xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%s_init : tensor<3x1xf32>) -> tensor<3x1xf32>
  %ss = linalg.generic {indexing_maps = [#id, #col, #keep], iterator_types = ["parallel", "reduction"]}
      ins(%x, %w : tensor<3x40xf32>, tensor<40xf32>) outs(%acc : tensor<3x1xf32>) {
  ^bb0(%in: f32, %wv: f32, %o: f32):
    %0 = arith.mulf %in, %wv : f32
    %1 = arith.mulf %0, %in : f32
    %2 = arith.addf %1, %o : f32
    linalg.yield %2 : f32
  } -> tensor<3x1xf32>
  %full = tensor.empty() : tensor<3x40xf32>
  %y = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<3x40xf32>, tensor<3x1xf32>) outs(%full : tensor<3x40xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<3x40xf32>
  return %y : tensor<3x40xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// Near misses of the distributed form x * inv - m * inv + beta
// (tf.nn.batch_normalization): m is the mean of another tensor, and m is
// scaled twice as much as x.
// CHECK-LABEL: func @distributed_mean_of_other
// CHECK-NOT: norm.
// CHECK-LABEL: func @distributed_unequal_scales
// CHECK-NOT: norm.
func.func @distributed_mean_of_other(%x: tensor<4x32xf32>, %z: tensor<4x32xf32>, %b: tensor<32xf32>) -> tensor<4x32xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 32.0 : f32
  %eps = arith.constant 1.0e-03 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %sx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x32xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.addf %o, %in : f32
    linalg.yield %0 : f32
  } -> tensor<4xf32>
  %sz = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%z : tensor<4x32xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.addf %o, %in : f32
    linalg.yield %0 : f32
  } -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %sx : tensor<4x32xf32>, tensor<4xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %m = arith.divf %s, %n : f32
    %c = arith.subf %in, %m : f32
    %sq = arith.mulf %c, %c : f32
    %0 = arith.addf %o, %sq : f32
    linalg.yield %0 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x32xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sz, %ss, %b : tensor<4x32xf32>, tensor<4xf32>, tensor<4xf32>, tensor<32xf32>) outs(%full : tensor<4x32xf32>) {
  ^bb0(%in: f32, %s: f32, %v: f32, %bv: f32, %o: f32):
    %m = arith.divf %s, %n : f32
    %var = arith.divf %v, %n : f32
    %ve = arith.addf %var, %eps : f32
    %inv = math.rsqrt %ve : f32
    %xs = arith.mulf %in, %inv : f32
    %ms = arith.mulf %m, %inv : f32
    %sh = arith.subf %bv, %ms : f32
    %0 = arith.addf %xs, %sh : f32
    linalg.yield %0 : f32
  } -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
func.func @distributed_unequal_scales(%x: tensor<4x32xf32>, %b: tensor<32xf32>) -> tensor<4x32xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 32.0 : f32
  %two = arith.constant 2.0 : f32
  %eps = arith.constant 1.0e-03 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %sx = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x32xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.addf %o, %in : f32
    linalg.yield %0 : f32
  } -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %sx : tensor<4x32xf32>, tensor<4xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %m = arith.divf %s, %n : f32
    %c = arith.subf %in, %m : f32
    %sq = arith.mulf %c, %c : f32
    %0 = arith.addf %o, %sq : f32
    linalg.yield %0 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x32xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sx, %ss, %b : tensor<4x32xf32>, tensor<4xf32>, tensor<4xf32>, tensor<32xf32>) outs(%full : tensor<4x32xf32>) {
  ^bb0(%in: f32, %s: f32, %v: f32, %bv: f32, %o: f32):
    %m = arith.divf %s, %n : f32
    %var = arith.divf %v, %n : f32
    %ve = arith.addf %var, %eps : f32
    %inv = math.rsqrt %ve : f32
    %xs = arith.mulf %in, %inv : f32
    %ms = arith.mulf %m, %inv : f32
    %ms2 = arith.mulf %ms, %two : f32
    %sh = arith.subf %bv, %ms2 : f32
    %0 = arith.addf %xs, %sh : f32
    linalg.yield %0 : f32
  } -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
