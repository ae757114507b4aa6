// REQUIRES: ptxas
// Assembles the kernels of the benchmark shapes (and of the extra-output,
// streamed and f64 forms, and the tiny-row rescue's) with the CUDA
// toolkit's ptxas for sm_90 and sm_80: no register spills, no stack frame,
// no local memory.

// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_90" -o %t.sm90.mlir
// RUN: %python -m norm_mlir.gpu.binaries %t.sm90.mlir --ptxas %ptxas | FileCheck %s --check-prefix=SM90
// The ?x? kernels are chosen per call: where the row length and strides
// are multiples of V and first elements aligned, 128-bit loads and stores,
// rows held in registers by the kernel of the smallest row-length bucket
// that fits (1024, 2048, 4096, 8192: ln_dynamic_kernel to _2) and streamed
// past it (_3); element by element in the fallback (_4).
// RUN: %python -m norm_mlir.gpu.binaries %t.sm90.mlir --module ln_dynamic_kernel | FileCheck %s --check-prefix=WIDE
// RUN: %python -m norm_mlir.gpu.binaries %t.sm90.mlir --module ln_dynamic_kernel_2 | FileCheck %s --check-prefix=WIDE
// RUN: %python -m norm_mlir.gpu.binaries %t.sm90.mlir --module ln_dynamic_kernel_3 | FileCheck %s --check-prefix=WIDE
// RUN: %python -m norm_mlir.gpu.binaries %t.sm90.mlir --module ln_dynamic_kernel_4 | FileCheck %s --check-prefix=SCALAR
// WIDE: ld.global.v4.b32
// WIDE: st.global.v4.b32
// SCALAR-NOT: .v4.
// SCALAR-NOT: .v2.
// SCALAR: ld.global.b16
// SCALAR: st.global.b16
// SCALAR-NOT: {{(ld|st)}}.global.v
// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_80" -o %t.sm80.mlir
// RUN: %python -m norm_mlir.gpu.binaries %t.sm80.mlir --ptxas %ptxas | FileCheck %s --check-prefix=SM80

// SM90: ptxas ln_f32_4096x768_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_f32_32768x4096_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_f32_8192x8192_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_f16_32768x4096_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_bf16_4096x768_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_bf16_32768x4096_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_bf16_8192x8192_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas rms_f32_4096x768_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas rms_f16_8192x8192_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas rms_bf16_32768x4096_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_longest_held_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_extras_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas rms_residual_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_streamed_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_dynamic_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_dynamic_kernel_0 sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_dynamic_kernel_1 sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_dynamic_kernel_2 sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_dynamic_kernel_3 sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_dynamic_kernel_4 sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas rms_f64_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_longest_held_tiny_eps_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas rms_f64_tiny_eps_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90-NOT: FAILED

// SM80: ptxas ln_f32_4096x768_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_f32_32768x4096_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_f32_8192x8192_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_f16_32768x4096_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_bf16_4096x768_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_bf16_32768x4096_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_bf16_8192x8192_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas rms_f32_4096x768_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas rms_f16_8192x8192_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas rms_bf16_32768x4096_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_longest_held_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_extras_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas rms_residual_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_streamed_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_dynamic_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_dynamic_kernel_0 sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_dynamic_kernel_1 sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_dynamic_kernel_2 sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_dynamic_kernel_3 sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_dynamic_kernel_4 sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas rms_f64_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_longest_held_tiny_eps_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas rms_f64_tiny_eps_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80-NOT: FAILED

func.func @ln_f32_4096x768(%x: memref<4096x768xf32>, %g: memref<768xf32>, %b: memref<768xf32>, %o: memref<4096x768xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<4096x768xf32>) gamma(%g : memref<768xf32>) beta(%b : memref<768xf32>) outs(%o : memref<4096x768xf32>)
  return
}
func.func @ln_f32_32768x4096(%x: memref<32768x4096xf32>, %g: memref<4096xf32>, %b: memref<4096xf32>, %o: memref<32768x4096xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<32768x4096xf32>) gamma(%g : memref<4096xf32>) beta(%b : memref<4096xf32>) outs(%o : memref<32768x4096xf32>)
  return
}
func.func @ln_f32_8192x8192(%x: memref<8192x8192xf32>, %g: memref<8192xf32>, %b: memref<8192xf32>, %o: memref<8192x8192xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<8192x8192xf32>) gamma(%g : memref<8192xf32>) beta(%b : memref<8192xf32>) outs(%o : memref<8192x8192xf32>)
  return
}
func.func @ln_f16_32768x4096(%x: memref<32768x4096xf16>, %g: memref<4096xf16>, %b: memref<4096xf16>, %o: memref<32768x4096xf16>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<32768x4096xf16>) gamma(%g : memref<4096xf16>) beta(%b : memref<4096xf16>) outs(%o : memref<32768x4096xf16>)
  return
}
func.func @ln_bf16_4096x768(%x: memref<4096x768xbf16>, %g: memref<768xbf16>, %b: memref<768xbf16>, %o: memref<4096x768xbf16>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<4096x768xbf16>) gamma(%g : memref<768xbf16>) beta(%b : memref<768xbf16>) outs(%o : memref<4096x768xbf16>)
  return
}
func.func @ln_bf16_32768x4096(%x: memref<32768x4096xbf16>, %g: memref<4096xbf16>, %b: memref<4096xbf16>, %o: memref<32768x4096xbf16>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<32768x4096xbf16>) gamma(%g : memref<4096xbf16>) beta(%b : memref<4096xbf16>) outs(%o : memref<32768x4096xbf16>)
  return
}
func.func @ln_bf16_8192x8192(%x: memref<8192x8192xbf16>, %g: memref<8192xbf16>, %b: memref<8192xbf16>, %o: memref<8192x8192xbf16>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<8192x8192xbf16>) gamma(%g : memref<8192xbf16>) beta(%b : memref<8192xbf16>) outs(%o : memref<8192x8192xbf16>)
  return
}
func.func @rms_f32_4096x768(%x: memref<4096x768xf32>, %g: memref<768xf32>, %o: memref<4096x768xf32>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<4096x768xf32>) gamma(%g : memref<768xf32>) outs(%o : memref<4096x768xf32>)
  return
}
func.func @rms_f16_8192x8192(%x: memref<8192x8192xf16>, %g: memref<8192xf16>, %o: memref<8192x8192xf16>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<8192x8192xf16>) gamma(%g : memref<8192xf16>) outs(%o : memref<8192x8192xf16>)
  return
}
func.func @rms_bf16_32768x4096(%x: memref<32768x4096xbf16>, %g: memref<4096xbf16>, %o: memref<32768x4096xbf16>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<32768x4096xbf16>) gamma(%g : memref<4096xbf16>) outs(%o : memref<32768x4096xbf16>)
  return
}
// 1024 threads holding 16 values each: the register budget's edge.
func.func @ln_longest_held(%x: memref<?x16384xf32>, %g: memref<16384xf32>, %b: memref<16384xf32>, %o: memref<?x16384xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x16384xf32>) gamma(%g : memref<16384xf32>) beta(%b : memref<16384xf32>) outs(%o : memref<?x16384xf32>)
  return
}
func.func @ln_extras(%x: memref<?x4096xbf16>, %r: memref<?x4096xbf16>, %g: memref<4096xf32>, %b: memref<4096xf32>, %o: memref<?x4096xf16>, %s: memref<?x4096xbf16>, %m: memref<?xf32>, %v: memref<?xf32>, %e: f32) {
  norm.layer_norm eps(%e : f32) ins(%x : memref<?x4096xbf16>) residual(%r : memref<?x4096xbf16>) gamma(%g : memref<4096xf32>) beta(%b : memref<4096xf32>) outs(%o : memref<?x4096xf16>) residual_out(%s : memref<?x4096xbf16>) mean(%m : memref<?xf32>) rstd(%v : memref<?xf32>)
  return
}
func.func @rms_residual(%x: memref<?x8192xbf16>, %r: memref<?x8192xbf16>, %g: memref<8192xbf16>, %o: memref<?x8192xbf16>, %s: memref<?x8192xbf16>, %v: memref<?xf32>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x8192xbf16>) residual(%r : memref<?x8192xbf16>) gamma(%g : memref<8192xbf16>) outs(%o : memref<?x8192xbf16>) residual_out(%s : memref<?x8192xbf16>) rstd(%v : memref<?xf32>)
  return
}
func.func @ln_streamed(%x: memref<?x65536xf32>, %g: memref<65536xf32>, %b: memref<65536xf32>, %o: memref<?x65536xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x65536xf32>) gamma(%g : memref<65536xf32>) beta(%b : memref<65536xf32>) outs(%o : memref<?x65536xf32>)
  return
}
func.func @ln_dynamic(%x: memref<?x?xf16>, %g: memref<?xf16>, %b: memref<?xf16>, %o: memref<?x?xf16>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x?xf16>) gamma(%g : memref<?xf16>) beta(%b : memref<?xf16>) outs(%o : memref<?x?xf16>)
  return
}
func.func @rms_f64(%x: memref<?x1000xf64>, %g: memref<1000xf64>, %o: memref<?x1000xf64>, %v: memref<?xf64>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x1000xf64>) gamma(%g : memref<1000xf64>) outs(%o : memref<?x1000xf64>) rstd(%v : memref<?xf64>)
  return
}
// The tiny-row rescue (eps below 2^-74 in f32, 2^-970 in f64): a second sum
// of squares, at the register budget's edge, and in f64.
func.func @ln_longest_held_tiny_eps(%x: memref<?x16384xf32>, %g: memref<16384xf32>, %b: memref<16384xf32>, %o: memref<?x16384xf32>) {
  norm.layer_norm eps(1.0e-40) ins(%x : memref<?x16384xf32>) gamma(%g : memref<16384xf32>) beta(%b : memref<16384xf32>) outs(%o : memref<?x16384xf32>)
  return
}
func.func @rms_f64_tiny_eps(%x: memref<?x1000xf64>, %g: memref<1000xf64>, %o: memref<?x1000xf64>, %v: memref<?xf64>) {
  norm.rms_norm eps(1.0e-300) ins(%x : memref<?x1000xf64>) gamma(%g : memref<1000xf64>) outs(%o : memref<?x1000xf64>) rstd(%v : memref<?xf64>)
  return
}
