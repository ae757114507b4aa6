// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=16 unroll=1 prefetch=false" | FileCheck %s
// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=16 unroll=1 prefetch=false parallel=false" | FileCheck %s --check-prefix=SERIAL
// RUN: norm-opt %s -split-input-file --norm-cpu-pipeline="openmp=true" | FileCheck %s --check-prefix=OMP

// Forking threads costs microseconds, more than a decode step's few rows
// take: rows run in parallel only for inputs of at least
// parallel-threshold bytes (128 KiB by default: bench/decode.py at 2
// threads, where OpenMP rows beat serial ones from 128 KiB of input up and
// lose at 64 KiB and below).

// 16 x 768 f32 is 48 KiB: serial rows.
// CHECK-LABEL: func.func @small
// CHECK-NOT: affine.parallel
// CHECK: affine.for %{{.*}} = 0 to 16 {
// CHECK-NOT: affine.parallel
// CHECK: return
// SERIAL-LABEL: func.func @small
// SERIAL-NOT: affine.parallel
// OMP-LABEL: llvm.func @small
// OMP-NOT: omp.parallel
// OMP: llvm.return
func.func @small(%x: memref<16x768xf32>, %g: memref<768xf32>, %y: memref<16x768xf32>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<16x768xf32>) gamma(%g : memref<768xf32>) outs(%y : memref<16x768xf32>)
  return
}

// -----

// 32 x 1024 f32 is exactly 128 KiB: parallel rows.
// CHECK-LABEL: func.func @large
// CHECK: affine.parallel (%{{.*}}) = (0) to (32) {
// SERIAL-LABEL: func.func @large
// SERIAL-NOT: affine.parallel
// SERIAL: affine.for %{{.*}} = 0 to 32 {
// OMP-LABEL: llvm.func @large
// OMP: omp.parallel
func.func @large(%x: memref<32x1024xf32>, %g: memref<1024xf32>, %y: memref<32x1024xf32>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<32x1024xf32>) gamma(%g : memref<1024xf32>) outs(%y : memref<32x1024xf32>)
  return
}

// -----

// 31 x 1024 f32 is just under: serial.
// CHECK-LABEL: func.func @just_under
// CHECK-NOT: affine.parallel
// CHECK: return
func.func @just_under(%x: memref<31x1024xf32>, %g: memref<1024xf32>, %y: memref<31x1024xf32>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<31x1024xf32>) gamma(%g : memref<1024xf32>) outs(%y : memref<31x1024xf32>)
  return
}

// -----

// Dynamic rows (a serving engine's token count): decided per call, from
// rows x N x 2 bytes of bf16 input, between the parallel rows and the
// serial ones.
// CHECK-LABEL: func.func @dynamic
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x4096xbf16>
// CHECK: %[[ROWS:.*]] = memref.dim %[[X]], %c0
// (After the non-temporal stores' decision, on the output's bytes.)
// CHECK: arith.cmpi uge, %{{.*}}, %c33554432
// CHECK: %[[BYTES:.*]] = arith.muli %c2{{.*}}, %[[ROWS]]
// CHECK-NEXT: %[[C4096:.*]] = arith.constant 4096
// CHECK-NEXT: %[[TOTAL:.*]] = arith.muli %[[BYTES]], %[[C4096]]
// CHECK-NEXT: %[[LIMIT:.*]] = arith.constant 131072
// CHECK-NEXT: %[[BIG:.*]] = arith.cmpi uge, %[[TOTAL]], %[[LIMIT]]
// CHECK: scf.if %[[BIG]] {
// CHECK:   affine.parallel (%{{.*}}) = (0) to (symbol(%[[ROWS]])) {
// CHECK: } else {
// CHECK:   affine.for %{{.*}} = 0 to %[[ROWS]] {
// SERIAL-LABEL: func.func @dynamic
// SERIAL-NOT: affine.parallel
// SERIAL: return
// OMP-LABEL: llvm.func @dynamic
// OMP: llvm.icmp "uge"
// OMP: omp.parallel
// OMP: llvm.return
func.func @dynamic(%x: memref<?x4096xbf16>, %g: memref<4096xbf16>, %y: memref<?x4096xbf16>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x4096xbf16>) gamma(%g : memref<4096xbf16>) outs(%y : memref<?x4096xbf16>)
  return
}

// -----

// The gradient kernel's blocks of rows too.
// CHECK-LABEL: func.func @gradient
// CHECK: %[[BIG:.*]] = arith.cmpi uge, %{{.*}}, %c131072
// CHECK: scf.if %[[BIG]] {
// CHECK:   affine.parallel
// CHECK: } else {
// CHECK:   affine.for
// SERIAL-LABEL: func.func @gradient
// SERIAL-NOT: affine.parallel
// SERIAL: return
func.func @gradient(%x: memref<?x?xf32>, %dy: memref<?x?xf32>, %r: memref<?xf32>, %dx: memref<?x?xf32>) {
  norm.rms_norm_grad ins(%x : memref<?x?xf32>) dy(%dy : memref<?x?xf32>)
      rstd(%r : memref<?xf32>) outs dx(%dx : memref<?x?xf32>)
  return
}
