// RUN: norm-opt %s --norm-capture -split-input-file | FileCheck %s

// What capture on buffers must prove before it replaces a chain of linalg
// ops on memrefs by one norm op (see memref.mlir for the captures): that
// every buffer it reads holds, where the norm op will read it, what the
// chain read. Each near miss below breaks that in one way and is left as it
// was; function arguments may be the same memory unless marked llvm.noalias.

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// x is overwritten (a fill of the argument itself) after the sum of squares
// read it and before the output reads it again.
// CHECK-LABEL: func @input_written_between
// CHECK-NOT: norm.
// CHECK: return
func.func @input_written_between(%x: memref<4x64xf32>, %out: memref<4x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %ss = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%ss : memref<4xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x64xf32>) outs(%ss : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }
  linalg.fill ins(%one : f32) outs(%x : memref<4x64xf32>)
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : memref<4x64xf32>, memref<4xf32>) outs(%out : memref<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  }
  return
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// A call between the reads: it may write any buffer.
// CHECK-LABEL: func @call_between
// CHECK-NOT: norm.
// CHECK: return
func.func private @opaque(memref<4x64xf32>)
func.func @call_between(%x: memref<4x64xf32>, %out: memref<4x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %ss = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%ss : memref<4xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x64xf32>) outs(%ss : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }
  func.call @opaque(%out) : (memref<4x64xf32>) -> ()
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : memref<4x64xf32>, memref<4xf32>) outs(%out : memref<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  }
  return
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// The chain writes its mean into another argument, which may be x itself
// (not marked llvm.noalias): x may have changed before the output reads it.
// CHECK-LABEL: func @statistics_into_an_argument_that_may_alias
// CHECK-NOT: norm.
// CHECK: return
func.func @statistics_into_an_argument_that_may_alias(%x: memref<4x32xf32>, %mean: memref<4xf32>, %out: memref<4x32xf32>) {
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

// The output reads the statistics through a view (a cast of the buffer):
// views are not followed.
// CHECK-LABEL: func @statistics_through_a_view
// CHECK-NOT: norm.
// CHECK: return
func.func @statistics_through_a_view(%x: memref<4x64xf32>, %out: memref<4x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %ss = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%ss : memref<4xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x64xf32>) outs(%ss : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }
  %view = memref.cast %ss : memref<4xf32> to memref<?xf32>
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %view : memref<4x64xf32>, memref<?xf32>) outs(%out : memref<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  }
  return
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>
#row = affine_map<(d0, d1) -> (d0)>

// In place at other indices: x is copied into a buffer that a generic then
// "transposes" in place, reading elements it has already overwritten; the
// norm of that buffer is not the norm of x transposed.
// CHECK-LABEL: func @in_place_at_other_indices
// CHECK-NOT: norm.
// CHECK: return
func.func @in_place_at_other_indices(%x: memref<4x4xf32>, %out: memref<4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 4.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %t = memref.alloc() : memref<4x4xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4x4xf32>) outs(%t : memref<4x4xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<4x4xf32>) outs(%t : memref<4x4xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  %ss = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%ss : memref<4xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%t : memref<4x4xf32>) outs(%ss : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t, %ss : memref<4x4xf32>, memref<4xf32>) outs(%out : memref<4x4xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  }
  return
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// The statistics are read from a buffer before anything writes it.
// CHECK-LABEL: func @statistics_never_written
// CHECK-NOT: norm.
// CHECK: return
func.func @statistics_never_written(%x: memref<4x64xf32>, %out: memref<4x64xf32>) {
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %ss = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x64xf32>) outs(%ss : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : memref<4x64xf32>, memref<4xf32>) outs(%out : memref<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  }
  return
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// The statistics buffer is deallocated after the chain: it goes with the
// chain, deallocation included. (Not in memref.mlir, which is run:
// upstream's deallocation pipeline refuses IR that already frees memory.)
// CHECK-LABEL: func @rms_statistics_deallocated
// CHECK-NOT: memref.alloc
// CHECK: norm.rms_norm eps(1.0e-06)
// CHECK-NOT: memref.dealloc
// CHECK: return
func.func @rms_statistics_deallocated(%x: memref<4x64xf32>, %out: memref<4x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %ss = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%ss : memref<4xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x64xf32>) outs(%ss : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : memref<4x64xf32>, memref<4xf32>) outs(%out : memref<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  }
  memref.dealloc %ss : memref<4xf32>
  return
}
