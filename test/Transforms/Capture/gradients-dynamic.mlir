// RUN: norm-opt %s --norm-capture | FileCheck %s
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s --func liger_dyn_rows --func liger_dyn_n | FileCheck %s --check-prefix=EQUIV %}
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s --func liger_dyn_rows --func liger_dyn_n --pipeline cpu | FileCheck %s --check-prefix=EQUIV %}

// Input gradients over dynamic shapes, as front ends with `?` dims emit
// them. With a dynamic N, the 1/N the IR computes from tensor.dim is a
// symbol of the normal form (the size of the normalised dim), as the sums
// of constants over that dim are: proven for every N, not one.

// EQUIV-NOT: FAIL
// EQUIV: {{^}}2 passed, 0 failed

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// Liger's RMSNorm backward with dynamic rows.
// CHECK-LABEL: func @liger_dyn_rows
// CHECK: norm.rms_norm_grad ins(%{{.*}} : tensor<?x32xf32>) dy(%{{.*}} : tensor<?x32xf32>) gamma(%{{.*}} : tensor<32xf32>) rstd(%{{.*}} : tensor<?xf32>) outs dx(%{{.*}} : tensor<?x32xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @liger_dyn_rows(%dy: tensor<?x32xf32>, %x: tensor<?x32xf32>, %rstd: tensor<?xf32>, %w: tensor<32xf32>) -> tensor<?x32xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %inv_n = arith.constant 3.125000e-02 : f32
  %rows = tensor.dim %x, %c0 : tensor<?x32xf32>
  %e = tensor.empty(%rows) : tensor<?x32xf32>
  %er = tensor.empty(%rows) : tensor<?xf32>
  %m = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%dy, %w : tensor<?x32xf32>, tensor<32xf32>) outs(%e : tensor<?x32xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %r = arith.mulf %a, %b : f32
      linalg.yield %r : f32
  } -> tensor<?x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%er : tensor<?xf32>) -> tensor<?xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%m, %x : tensor<?x32xf32>, tensor<?x32xf32>) outs(%acc : tensor<?xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %p = arith.mulf %a, %b : f32
      %r = arith.addf %o, %p : f32
      linalg.yield %r : f32
  } -> tensor<?xf32>
  %dx = linalg.generic {indexing_maps = [#id, #id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m, %x, %rstd, %s : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xf32>, tensor<?xf32>) outs(%e : tensor<?x32xf32>) {
    ^bb0(%mv: f32, %xv: f32, %rv: f32, %sv: f32, %o: f32):
      %r2 = arith.mulf %rv, %rv : f32
      %k = arith.mulf %r2, %inv_n : f32
      %ks = arith.mulf %k, %sv : f32
      %kx = arith.mulf %ks, %xv : f32
      %d = arith.subf %mv, %kx : f32
      %g = arith.mulf %rv, %d : f32
      linalg.yield %g : f32
  } -> tensor<?x32xf32>
  return %dx : tensor<?x32xf32>
}

// The same over ?x?, 1/N from the normalised dim's tensor.dim.
// CHECK-LABEL: func @liger_dyn_n
// CHECK: norm.rms_norm_grad ins(%{{.*}} : tensor<?x?xf32>) dy(%{{.*}} : tensor<?x?xf32>) gamma(%{{.*}} : tensor<?xf32>) rstd(%{{.*}} : tensor<?xf32>) outs dx(%{{.*}} : tensor<?x?xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @liger_dyn_n(%dy: tensor<?x?xf32>, %x: tensor<?x?xf32>, %rstd: tensor<?xf32>, %w: tensor<?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  %rows = tensor.dim %x, %c0 : tensor<?x?xf32>
  %cols = tensor.dim %x, %c1 : tensor<?x?xf32>
  %ci = arith.index_cast %cols : index to i64
  %nf = arith.sitofp %ci : i64 to f32
  %inv_n = arith.divf %one, %nf : f32
  %e = tensor.empty(%rows, %cols) : tensor<?x?xf32>
  %er = tensor.empty(%rows) : tensor<?xf32>
  %m = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%dy, %w : tensor<?x?xf32>, tensor<?xf32>) outs(%e : tensor<?x?xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %r = arith.mulf %a, %b : f32
      linalg.yield %r : f32
  } -> tensor<?x?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%er : tensor<?xf32>) -> tensor<?xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%m, %x : tensor<?x?xf32>, tensor<?x?xf32>) outs(%acc : tensor<?xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %p = arith.mulf %a, %b : f32
      %r = arith.addf %o, %p : f32
      linalg.yield %r : f32
  } -> tensor<?xf32>
  %dx = linalg.generic {indexing_maps = [#id, #id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m, %x, %rstd, %s : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>) outs(%e : tensor<?x?xf32>) {
    ^bb0(%mv: f32, %xv: f32, %rv: f32, %sv: f32, %o: f32):
      %r2 = arith.mulf %rv, %rv : f32
      %k = arith.mulf %r2, %inv_n : f32
      %ks = arith.mulf %k, %sv : f32
      %kx = arith.mulf %ks, %xv : f32
      %d = arith.subf %mv, %kx : f32
      %g = arith.mulf %rv, %d : f32
      linalg.yield %g : f32
  } -> tensor<?x?xf32>
  return %dx : tensor<?x?xf32>
}

// Near misses, left as they were: 1/N from the row dim, and 1/(N - 1).
// CHECK-LABEL: func @n_from_the_row_dim
// CHECK-NOT: norm.
// CHECK: return
func.func @n_from_the_row_dim(%dy: tensor<?x?xf32>, %x: tensor<?x?xf32>, %rstd: tensor<?xf32>, %w: tensor<?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  %rows = tensor.dim %x, %c0 : tensor<?x?xf32>
  %cols = tensor.dim %x, %c1 : tensor<?x?xf32>
  %ci = arith.index_cast %rows : index to i64
  %nf = arith.sitofp %ci : i64 to f32
  %inv_n = arith.divf %one, %nf : f32
  %e = tensor.empty(%rows, %cols) : tensor<?x?xf32>
  %er = tensor.empty(%rows) : tensor<?xf32>
  %m = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%dy, %w : tensor<?x?xf32>, tensor<?xf32>) outs(%e : tensor<?x?xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %r = arith.mulf %a, %b : f32
      linalg.yield %r : f32
  } -> tensor<?x?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%er : tensor<?xf32>) -> tensor<?xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%m, %x : tensor<?x?xf32>, tensor<?x?xf32>) outs(%acc : tensor<?xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %p = arith.mulf %a, %b : f32
      %r = arith.addf %o, %p : f32
      linalg.yield %r : f32
  } -> tensor<?xf32>
  %dx = linalg.generic {indexing_maps = [#id, #id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m, %x, %rstd, %s : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>) outs(%e : tensor<?x?xf32>) {
    ^bb0(%mv: f32, %xv: f32, %rv: f32, %sv: f32, %o: f32):
      %r2 = arith.mulf %rv, %rv : f32
      %k = arith.mulf %r2, %inv_n : f32
      %ks = arith.mulf %k, %sv : f32
      %kx = arith.mulf %ks, %xv : f32
      %d = arith.subf %mv, %kx : f32
      %g = arith.mulf %rv, %d : f32
      linalg.yield %g : f32
  } -> tensor<?x?xf32>
  return %dx : tensor<?x?xf32>
}

// CHECK-LABEL: func @n_minus_one
// CHECK-NOT: norm.
// CHECK: return
func.func @n_minus_one(%dy: tensor<?x?xf32>, %x: tensor<?x?xf32>, %rstd: tensor<?xf32>, %w: tensor<?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  %rows = tensor.dim %x, %c0 : tensor<?x?xf32>
  %cols = tensor.dim %x, %c1 : tensor<?x?xf32>
  %ci = arith.index_cast %cols : index to i64
  %nf = arith.sitofp %ci : i64 to f32
  %nm1 = arith.subf %nf, %one : f32
  %inv_n = arith.divf %one, %nm1 : f32
  %e = tensor.empty(%rows, %cols) : tensor<?x?xf32>
  %er = tensor.empty(%rows) : tensor<?xf32>
  %m = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%dy, %w : tensor<?x?xf32>, tensor<?xf32>) outs(%e : tensor<?x?xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %r = arith.mulf %a, %b : f32
      linalg.yield %r : f32
  } -> tensor<?x?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%er : tensor<?xf32>) -> tensor<?xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%m, %x : tensor<?x?xf32>, tensor<?x?xf32>) outs(%acc : tensor<?xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %p = arith.mulf %a, %b : f32
      %r = arith.addf %o, %p : f32
      linalg.yield %r : f32
  } -> tensor<?xf32>
  %dx = linalg.generic {indexing_maps = [#id, #id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m, %x, %rstd, %s : tensor<?x?xf32>, tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>) outs(%e : tensor<?x?xf32>) {
    ^bb0(%mv: f32, %xv: f32, %rv: f32, %sv: f32, %o: f32):
      %r2 = arith.mulf %rv, %rv : f32
      %k = arith.mulf %r2, %inv_n : f32
      %ks = arith.mulf %k, %sv : f32
      %kx = arith.mulf %ks, %xv : f32
      %d = arith.subf %mv, %kx : f32
      %g = arith.mulf %rv, %d : f32
      linalg.yield %g : f32
  } -> tensor<?x?xf32>
  return %dx : tensor<?x?xf32>
}
