// residual_out may alias the residual (vLLM's fused_add_rms_norm updates
// the residual stream in place) or the input. The CPU kernel streams
// residual_out with non-temporal stores and recomputes x + r in its later
// sweeps only when residual_out overlaps neither (checked at run time);
// here every row would qualify otherwise (nontemporal-threshold=0, aligned
// rows). Runs the op out of place, in place on the residual and in place on
// the input, and counts the elements of output and sum that differ.

// RUN: norm-opt %s --norm-cpu-pipeline="nontemporal-threshold=0" | \
// RUN:   mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s

// CHECK:      in place on the residual:
// CHECK-NEXT: 0
// CHECK-NEXT: 0
// CHECK:      in place on the input:
// CHECK-NEXT: 0
// CHECK-NEXT: 0

func.func @kernel(%x: memref<16x256xf32>, %r: memref<16x256xf32>, %g: memref<256xf32>, %o: memref<16x256xbf16>, %h: memref<16x256xf32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<16x256xf32>) residual(%r : memref<16x256xf32>) gamma(%g : memref<256xf32>) outs(%o : memref<16x256xbf16>) residual_out(%h : memref<16x256xf32>)
  return
}

/// Fills `m` with (i * a + j * b) mod 7 - 3.
func.func @fill(%m: memref<16x256xf32>, %a: f32, %b: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c256 = arith.constant 256 : index
  %seven = arith.constant 7.0 : f32
  %three = arith.constant 3.0 : f32
  scf.for %i = %c0 to %c16 step %c1 {
    scf.for %j = %c0 to %c256 step %c1 {
      %ii = arith.index_cast %i : index to i32
      %jj = arith.index_cast %j : index to i32
      %fi = arith.sitofp %ii : i32 to f32
      %fj = arith.sitofp %jj : i32 to f32
      %t = arith.addf %fi, %fj : f32
      %u = arith.mulf %fi, %a : f32
      %v = arith.mulf %fj, %b : f32
      %w = arith.addf %u, %v : f32
      %m7 = arith.remf %w, %seven : f32
      %val = arith.subf %m7, %three : f32
      memref.store %val, %m[%i, %j] : memref<16x256xf32>
    }
  }
  return
}

/// The number of elements of `a` and `b` that differ.
func.func @count_f32(%a: memref<16x256xf32>, %b: memref<16x256xf32>) -> i64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c256 = arith.constant 256 : index
  %zero = arith.constant 0 : i64
  %one = arith.constant 1 : i64
  %n = scf.for %i = %c0 to %c16 step %c1 iter_args(%acc = %zero) -> i64 {
    %m = scf.for %j = %c0 to %c256 step %c1 iter_args(%acc2 = %acc) -> i64 {
      %x = memref.load %a[%i, %j] : memref<16x256xf32>
      %y = memref.load %b[%i, %j] : memref<16x256xf32>
      %ne = arith.cmpf une, %x, %y : f32
      %inc = arith.select %ne, %one, %zero : i64
      %s = arith.addi %acc2, %inc : i64
      scf.yield %s : i64
    }
    scf.yield %m : i64
  }
  return %n : i64
}

func.func @count_bf16(%a: memref<16x256xbf16>, %b: memref<16x256xbf16>) -> i64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c256 = arith.constant 256 : index
  %zero = arith.constant 0 : i64
  %one = arith.constant 1 : i64
  %n = scf.for %i = %c0 to %c16 step %c1 iter_args(%acc = %zero) -> i64 {
    %m = scf.for %j = %c0 to %c256 step %c1 iter_args(%acc2 = %acc) -> i64 {
      %x = memref.load %a[%i, %j] : memref<16x256xbf16>
      %y = memref.load %b[%i, %j] : memref<16x256xbf16>
      %xb = arith.bitcast %x : bf16 to i16
      %yb = arith.bitcast %y : bf16 to i16
      %ne = arith.cmpi ne, %xb, %yb : i16
      %inc = arith.select %ne, %one, %zero : i64
      %s = arith.addi %acc2, %inc : i64
      scf.yield %s : i64
    }
    scf.yield %m : i64
  }
  return %n : i64
}

func.func @main() {
  %x = memref.alloc() {alignment = 64 : i64} : memref<16x256xf32>
  %r = memref.alloc() {alignment = 64 : i64} : memref<16x256xf32>
  %g = memref.alloc() {alignment = 64 : i64} : memref<256xf32>
  %o = memref.alloc() {alignment = 64 : i64} : memref<16x256xbf16>
  %h = memref.alloc() {alignment = 64 : i64} : memref<16x256xf32>
  %o2 = memref.alloc() {alignment = 64 : i64} : memref<16x256xbf16>
  %r2 = memref.alloc() {alignment = 64 : i64} : memref<16x256xf32>
  %x2 = memref.alloc() {alignment = 64 : i64} : memref<16x256xf32>
  %a = arith.constant 1.25 : f32
  %b = arith.constant 0.75 : f32
  %c = arith.constant 2.5 : f32
  %d = arith.constant 0.375 : f32
  func.call @fill(%x, %a, %b) : (memref<16x256xf32>, f32, f32) -> ()
  func.call @fill(%r, %c, %d) : (memref<16x256xf32>, f32, f32) -> ()
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%g : memref<256xf32>)
  func.call @kernel(%x, %r, %g, %o, %h) : (memref<16x256xf32>, memref<16x256xf32>, memref<256xf32>, memref<16x256xbf16>, memref<16x256xf32>) -> ()

  // residual_out is the residual.
  memref.copy %r, %r2 : memref<16x256xf32> to memref<16x256xf32>
  func.call @kernel(%x, %r2, %g, %o2, %r2) : (memref<16x256xf32>, memref<16x256xf32>, memref<256xf32>, memref<16x256xbf16>, memref<16x256xf32>) -> ()
  %n1 = func.call @count_bf16(%o, %o2) : (memref<16x256xbf16>, memref<16x256xbf16>) -> i64
  %n2 = func.call @count_f32(%h, %r2) : (memref<16x256xf32>, memref<16x256xf32>) -> i64
  vector.print str "in place on the residual:\n"
  vector.print %n1 : i64
  vector.print %n2 : i64

  // residual_out is the input.
  memref.copy %x, %x2 : memref<16x256xf32> to memref<16x256xf32>
  func.call @kernel(%x2, %r, %g, %o2, %x2) : (memref<16x256xf32>, memref<16x256xf32>, memref<256xf32>, memref<16x256xbf16>, memref<16x256xf32>) -> ()
  %n3 = func.call @count_bf16(%o, %o2) : (memref<16x256xbf16>, memref<16x256xbf16>) -> i64
  %n4 = func.call @count_f32(%h, %x2) : (memref<16x256xf32>, memref<16x256xf32>) -> i64
  vector.print str "in place on the input:\n"
  vector.print %n3 : i64
  vector.print %n4 : i64
  return
}
