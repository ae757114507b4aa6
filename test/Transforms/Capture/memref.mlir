// RUN: norm-opt %s --norm-capture -split-input-file | FileCheck %s
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s | FileCheck %s --check-prefix=EQUIV %}

// Norms written as linalg on memrefs, as memref-level front ends emit them
// (allo, buddy-mlir kernels): statistics in memref.alloc buffers, sums
// accumulated in place, the mean written over the sum. Captured into the
// memref form of the op, writing the chain's output buffer; the statistics'
// buffers and the ops that only wrote them go. Near misses, where something
// may write a buffer the chain reads before the norm would read it, are in
// memref-aliasing.mlir.

// EQUIV-NOT: FAIL
// EQUIV: {{^}}5 passed, 0 failed

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
#vec = affine_map<(d0) -> (d0)>

// E[x^2] - E[x]^2: one reduction accumulating the sum and the sum of squares
// through inputs that read the accumulators (allo's spelling), a second
// generic turning them into mean and variance in place, x - mean scaled by
// gamma over sqrt(var + eps), plus beta.
// CHECK-LABEL: func @ln_mean_square_in_place
// CHECK-SAME: (%[[X:.*]]: memref<32x48xf32>, %[[G:.*]]: memref<48xf32>, %[[B:.*]]: memref<48xf32>, %[[OUT:.*]]: memref<32x48xf32>)
// CHECK-NEXT: norm.layer_norm eps(1.0e-05) ins(%[[X]] : memref<32x48xf32>) gamma(%[[G]] : memref<48xf32>) beta(%[[B]] : memref<48xf32>) outs(%[[OUT]] : memref<32x48xf32>)
// CHECK-NEXT: return
func.func @ln_mean_square_in_place(%x: memref<32x48xf32>, %g: memref<48xf32>, %b: memref<48xf32>, %out: memref<32x48xf32>) {
  %zero = arith.constant 0.0 : f32
  %mean = memref.alloc() : memref<32xf32>
  linalg.fill ins(%zero : f32) outs(%mean : memref<32xf32>)
  %mean2 = memref.alloc() : memref<32xf32>
  linalg.fill ins(%zero : f32) outs(%mean2 : memref<32xf32>)
  %var = memref.alloc() : memref<32xf32>
  linalg.generic {indexing_maps = [#id, #row, #row, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %mean, %mean2 : memref<32x48xf32>, memref<32xf32>, memref<32xf32>) outs(%mean, %mean2 : memref<32xf32>, memref<32xf32>) {
  ^bb0(%in: f32, %s: f32, %s2: f32, %o: f32, %o2: f32):
    %0 = arith.addf %in, %s : f32
    %1 = arith.mulf %in, %in : f32
    %2 = arith.addf %1, %s2 : f32
    linalg.yield %0, %2 : f32, f32
  }
  %n_i = arith.constant 48 : i32
  %n = arith.sitofp %n_i : i32 to f32
  linalg.generic {indexing_maps = [#vec, #vec, #vec, #vec, #vec], iterator_types = ["parallel"]}
      ins(%mean, %mean2 : memref<32xf32>, memref<32xf32>) outs(%mean, %mean2, %var : memref<32xf32>, memref<32xf32>, memref<32xf32>) {
  ^bb0(%s: f32, %s2: f32, %o: f32, %o2: f32, %o3: f32):
    %m = arith.divf %s, %n : f32
    %m2 = arith.divf %s2, %n : f32
    %sq = arith.mulf %m, %m : f32
    %v = arith.subf %m2, %sq : f32
    linalg.yield %m, %m2, %v : f32, f32, f32
  }
  linalg.generic {indexing_maps = [#row, #row, #id, #col, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mean, %var, %x, %g, %b : memref<32xf32>, memref<32xf32>, memref<32x48xf32>, memref<48xf32>, memref<48xf32>) outs(%out : memref<32x48xf32>) {
  ^bb0(%m: f32, %v: f32, %in: f32, %gv: f32, %bv: f32, %o: f32):
    %c = arith.subf %in, %m : f32
    %s = arith.mulf %gv, %c : f32
    %eps = arith.constant 9.99999974E-6 : f32
    %ve = arith.addf %v, %eps : f32
    %r = math.sqrt %ve : f32
    %q = arith.divf %s, %r : f32
    %y = arith.addf %bv, %q : f32
    linalg.yield %y : f32
  }
  return
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// RMSNorm on buffers with a dynamic row count: the fill and the sum of
// squares in a local buffer, the output written to an argument.
// CHECK-LABEL: func @rms_dynamic_rows
// CHECK-SAME: (%[[X:.*]]: memref<?x64xf32>, %[[W:.*]]: memref<64xf32>, %[[OUT:.*]]: memref<?x64xf32>)
// CHECK-NOT: memref.alloc
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : memref<?x64xf32>) gamma(%[[W]] : memref<64xf32>) outs(%[[OUT]] : memref<?x64xf32>)
// CHECK-NOT: linalg.
// CHECK: return
func.func @rms_dynamic_rows(%x: memref<?x64xf32>, %w: memref<64xf32>, %out: memref<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %rows = memref.dim %x, %c0 : memref<?x64xf32>
  %ss = memref.alloc(%rows) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%ss : memref<?xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x64xf32>) outs(%ss : memref<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss, %w : memref<?x64xf32>, memref<?xf32>, memref<64xf32>) outs(%out : memref<?x64xf32>) {
  ^bb0(%in: f32, %s: f32, %wv: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    %1 = arith.mulf %0, %wv : f32
    linalg.yield %1 : f32
  }
  return
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// Two-pass LayerNorm with the centred input in a temporary buffer and N
// from memref.dim of a dynamic row length.
// CHECK-LABEL: func @ln_two_pass_dynamic_n
// CHECK-SAME: (%[[X:.*]]: memref<8x?xf32>, %[[OUT:.*]]: memref<8x?xf32>)
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : memref<8x?xf32>) outs(%[[OUT]] : memref<8x?xf32>)
// CHECK-NOT: linalg.generic
func.func @ln_two_pass_dynamic_n(%x: memref<8x?xf32>, %out: memref<8x?xf32>) {
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %len = memref.dim %x, %c1 : memref<8x?xf32>
  %len_i = arith.index_cast %len : index to i64
  %n = arith.sitofp %len_i : i64 to f32
  %sum = memref.alloc() : memref<8xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<8xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x?xf32>) outs(%sum : memref<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.addf %acc, %in : f32
    linalg.yield %0 : f32
  }
  %c = memref.alloc(%len) : memref<8x?xf32>
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : memref<8x?xf32>, memref<8xf32>) outs(%c : memref<8x?xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %m = arith.divf %s, %n : f32
    %0 = arith.subf %in, %m : f32
    linalg.yield %0 : f32
  }
  %ss = memref.alloc() : memref<8xf32>
  linalg.fill ins(%zero : f32) outs(%ss : memref<8xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%c : memref<8x?xf32>) outs(%ss : memref<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %ss : memref<8x?xf32>, memref<8xf32>) outs(%out : memref<8x?xf32>) {
  ^bb0(%in: f32, %v: f32, %o: f32):
    %var = arith.divf %v, %n : f32
    %ve = arith.addf %var, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  }
  return
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// The mean is also an output of the kernel, written to an argument marked
// llvm.noalias (so writing it cannot change x): its writers stay, the norm
// op replaces only the output. (Without the mark: memref-aliasing.mlir.)
// CHECK-LABEL: func @ln_mean_kept
// CHECK-SAME: (%[[X:.*]]: memref<4x32xf32>, %[[MEAN:.*]]: memref<4xf32> {llvm.noalias}, %[[OUT:.*]]: memref<4x32xf32>)
// CHECK: linalg.fill {{.*}} outs(%[[MEAN]]
// CHECK: linalg.generic {{.*}} outs(%[[MEAN]]
// CHECK: linalg.generic {{.*}} outs(%[[MEAN]]
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : memref<4x32xf32>) outs(%[[OUT]] : memref<4x32xf32>)
// CHECK-NOT: linalg.generic
func.func @ln_mean_kept(%x: memref<4x32xf32>, %mean: memref<4xf32> {llvm.noalias}, %out: memref<4x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 32.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  linalg.fill ins(%zero : f32) outs(%mean : memref<4xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x32xf32>) outs(%mean : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.addf %acc, %in : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      outs(%mean : memref<4xf32>) {
  ^bb0(%s: f32):
    %0 = arith.divf %s, %n : f32
    linalg.yield %0 : f32
  }
  %var = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%var : memref<4xf32>)
  linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %mean : memref<4x32xf32>, memref<4xf32>) outs(%var : memref<4xf32>) {
  ^bb0(%in: f32, %m: f32, %acc: f32):
    %c = arith.subf %in, %m : f32
    %0 = arith.mulf %c, %c : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %mean, %var : memref<4x32xf32>, memref<4xf32>, memref<4xf32>) outs(%out : memref<4x32xf32>) {
  ^bb0(%in: f32, %m: f32, %v: f32, %o: f32):
    %vn = arith.divf %v, %n : f32
    %ve = arith.addf %vn, %eps : f32
    %r = math.rsqrt %ve : f32
    %c = arith.subf %in, %m : f32
    %0 = arith.mulf %c, %r : f32
    linalg.yield %0 : f32
  }
  return
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// A residual add into a temporary buffer, then RMSNorm of the sum, eps a
// run-time scalar: the add becomes the op's residual.
// CHECK-LABEL: func @rms_residual_buffer
// CHECK-SAME: (%[[X:.*]]: memref<6x40xf32>, %[[R:.*]]: memref<6x40xf32>, %[[EPS:.*]]: f32, %[[OUT:.*]]: memref<6x40xf32>)
// CHECK: norm.rms_norm eps(%[[EPS]] : f32) ins(%[[X]] : memref<6x40xf32>) residual(%[[R]] : memref<6x40xf32>) outs(%[[OUT]] : memref<6x40xf32>)
// CHECK-NOT: linalg.generic
func.func @rms_residual_buffer(%x: memref<6x40xf32>, %r: memref<6x40xf32>, %eps: f32, %out: memref<6x40xf32>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 40.0 : f32
  %h = memref.alloc() : memref<6x40xf32>
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r : memref<6x40xf32>, memref<6x40xf32>) outs(%h : memref<6x40xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %0 = arith.addf %a, %b : f32
    linalg.yield %0 : f32
  }
  %ss = memref.alloc() : memref<6xf32>
  linalg.fill ins(%zero : f32) outs(%ss : memref<6xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%h : memref<6x40xf32>) outs(%ss : memref<6xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h, %ss : memref<6x40xf32>, memref<6xf32>) outs(%out : memref<6x40xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %rs = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %rs : f32
    linalg.yield %0 : f32
  }
  return
}
