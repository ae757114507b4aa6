// Both pipelines outline norm ops whose signature repeats: one private
// kernel function (CPU) or one gpu.func (GPU) per signature, called from
// every function that had the op; a signature that occurs once stays in
// place. The CPU kernels then run under mlir-runner: the outlined kernel
// computes what the inline one does.

// RUN: norm-opt %s --norm-cpu-pipeline | FileCheck %s --check-prefix=CPU
// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_90 format=isa" -o %t.gpu.mlir
// RUN: FileCheck %s --check-prefix=GPU < %t.gpu.mlir
// RUN: FileCheck %s --check-prefix=BIN < %t.gpu.mlir
// RUN: norm-opt %s --norm-cpu-pipeline | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s --check-prefix=EXEC

// CPU-LABEL: llvm.func @first(
// CPU: llvm.call @__norm_kernel_layer_norm(
// CPU-LABEL: llvm.func @second(
// CPU: llvm.call @__norm_kernel_layer_norm(
// CPU-LABEL: llvm.func @once(
// CPU-NOT: llvm.call @__norm_kernel
// CPU: llvm.intr.vector.reduce.fadd
// The kernel has internal linkage: another module's kernel of the same
// name links beside it (bench/decode.py links six such objects).
// CPU-LABEL: llvm.func internal @__norm_kernel_layer_norm(
// CPU-SAME: attributes {sym_visibility = "private"}
// CPU: llvm.intr.vector.reduce.fadd
// CPU-NOT: llvm.func @__norm_kernel

// GPU-LABEL: llvm.func @first(
// GPU: llvm.call @__norm_kernel_layer_norm(
// GPU-LABEL: llvm.func @second(
// GPU: llvm.call @__norm_kernel_layer_norm(
// GPU-LABEL: llvm.func @once(
// GPU: gpu.launch_func <%{{.*}} : !llvm.ptr> @once_kernel::@once_kernel
// GPU-LABEL: llvm.func internal @__norm_kernel_layer_norm(
// GPU: gpu.launch_func <%{{.*}} : !llvm.ptr> @__norm_kernel_layer_norm_kernel::@__norm_kernel_layer_norm_kernel
// Two kernels in all.
// BIN-DAG: gpu.binary @__norm_kernel_layer_norm_kernel
// BIN-DAG: gpu.binary @once_kernel
// BIN-NOT: gpu.binary

// EXEC: sizes = [2]
// EXEC-NEXT: {{\[-1.3416[0-9], 1.3416[0-9]\]}}

func.func @first(%x: memref<4x64xf32>, %y: memref<4x64xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<4x64xf32>) outs(%y : memref<4x64xf32>)
  return
}
func.func @second(%x: memref<4x64xf32>, %y: memref<4x64xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<4x64xf32>) outs(%y : memref<4x64xf32>)
  return
}
func.func @once(%x: memref<4x64xf32>, %y: memref<4x64xf32>) {
  norm.layer_norm eps(1.0e-06) ins(%x : memref<4x64xf32>) outs(%y : memref<4x64xf32>)
  return
}

// Rows of x: j mod 4 (0, 1, 2, 3, ...): mean 1.5, variance 1.25, so the
// first two elements of a row normalise to -1.5 / 1.118 and -0.5 / 1.118;
// first() then second() of its output gives back about the same values,
// and main prints z[0][0] and z[0][3] (-1.3416 and 1.3416).
func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %x = memref.alloc() : memref<4x64xf32>
  %y = memref.alloc() : memref<4x64xf32>
  %z = memref.alloc() : memref<4x64xf32>
  scf.for %i = %c0 to %c4 step %c1 {
    scf.for %j = %c0 to %c64 step %c1 {
      %m = arith.remui %j, %c4 : index
      %mi = arith.index_cast %m : index to i32
      %f = arith.sitofp %mi : i32 to f32
      memref.store %f, %x[%i, %j] : memref<4x64xf32>
    }
  }
  call @first(%x, %y) : (memref<4x64xf32>, memref<4x64xf32>) -> ()
  call @second(%y, %z) : (memref<4x64xf32>, memref<4x64xf32>) -> ()
  %out = memref.alloc() : memref<2xf32>
  %a = memref.load %z[%c0, %c0] : memref<4x64xf32>
  %b = memref.load %z[%c0, %c3] : memref<4x64xf32>
  memref.store %a, %out[%c0] : memref<2xf32>
  memref.store %b, %out[%c1] : memref<2xf32>
  %u = memref.cast %out : memref<2xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}
func.func private @printMemrefF32(memref<*xf32>)
