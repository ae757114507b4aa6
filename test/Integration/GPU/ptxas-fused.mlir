// REQUIRES: ptxas
// Assembles a kernel for each fused form --norm-fuse produces with the CUDA
// toolkit's ptxas for sm_90 and sm_80: residual with residual_out; gamma and
// beta; bf16 and f16 output casts; i8 and f8E4M3FN quantised outputs (also
// streamed, and from f64 statistics); mean and rstd; and residual + gamma +
// i8 together. No register spills, no stack frame, no local memory.

// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_90" -o %t.sm90.mlir
// RUN: %python -m norm_mlir.gpu.binaries %t.sm90.mlir --ptxas %ptxas | FileCheck %s --check-prefix=SM90
// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_80" -o %t.sm80.mlir
// RUN: %python -m norm_mlir.gpu.binaries %t.sm80.mlir --ptxas %ptxas | FileCheck %s --check-prefix=SM80

// SM90: ptxas residual_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas gamma_beta_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas bf16_out_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas f16_out_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas i8_out_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas f8_out_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas mean_rstd_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas residual_gamma_i8_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas i8_streamed_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas f8_from_f64_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90-NOT: FAILED

// SM80: ptxas residual_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas gamma_beta_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas bf16_out_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas f16_out_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas i8_out_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas f8_out_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas mean_rstd_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas residual_gamma_i8_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas i8_streamed_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas f8_from_f64_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80-NOT: FAILED

// vLLM's fused_add_rms_norm: h = x + r is normalised and written back.
func.func @residual(%x: memref<?x4096xbf16>, %r: memref<?x4096xbf16>, %g: memref<4096xbf16>, %o: memref<?x4096xbf16>, %s: memref<?x4096xbf16>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x4096xbf16>) residual(%r : memref<?x4096xbf16>) gamma(%g : memref<4096xbf16>) outs(%o : memref<?x4096xbf16>) residual_out(%s : memref<?x4096xbf16>)
  return
}
func.func @gamma_beta(%x: memref<?x4096xf32>, %g: memref<4096xf32>, %b: memref<4096xf32>, %o: memref<?x4096xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x4096xf32>) gamma(%g : memref<4096xf32>) beta(%b : memref<4096xf32>) outs(%o : memref<?x4096xf32>)
  return
}
func.func @bf16_out(%x: memref<?x4096xf32>, %g: memref<4096xf32>, %o: memref<?x4096xbf16>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x4096xf32>) gamma(%g : memref<4096xf32>) outs(%o : memref<?x4096xbf16>)
  return
}
func.func @f16_out(%x: memref<?x4096xf32>, %g: memref<4096xf32>, %b: memref<4096xf32>, %o: memref<?x4096xf16>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x4096xf32>) gamma(%g : memref<4096xf32>) beta(%b : memref<4096xf32>) outs(%o : memref<?x4096xf16>)
  return
}
func.func @i8_out(%x: memref<?x4096xf32>, %g: memref<4096xf32>, %q: f32, %o: memref<?x4096xi8>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x4096xf32>) gamma(%g : memref<4096xf32>) out_scale(%q : f32) outs(%o : memref<?x4096xi8>)
  return
}
func.func @f8_out(%x: memref<?x4096xbf16>, %g: memref<4096xbf16>, %b: memref<4096xbf16>, %q: f32, %o: memref<?x4096xf8E4M3FN>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x4096xbf16>) gamma(%g : memref<4096xbf16>) beta(%b : memref<4096xbf16>) out_scale(%q : f32) outs(%o : memref<?x4096xf8E4M3FN>)
  return
}
func.func @mean_rstd(%x: memref<?x4096xf32>, %g: memref<4096xf32>, %b: memref<4096xf32>, %o: memref<?x4096xf32>, %m: memref<?xf32>, %v: memref<?xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x4096xf32>) gamma(%g : memref<4096xf32>) beta(%b : memref<4096xf32>) outs(%o : memref<?x4096xf32>) mean(%m : memref<?xf32>) rstd(%v : memref<?xf32>)
  return
}
// fused_add_rms_norm followed by per-tensor int8 quantisation.
func.func @residual_gamma_i8(%x: memref<?x8192xbf16>, %r: memref<?x8192xbf16>, %g: memref<8192xbf16>, %q: f32, %o: memref<?x8192xi8>, %s: memref<?x8192xbf16>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x8192xbf16>) residual(%r : memref<?x8192xbf16>) gamma(%g : memref<8192xbf16>) out_scale(%q : f32) outs(%o : memref<?x8192xi8>) residual_out(%s : memref<?x8192xbf16>)
  return
}
func.func @i8_streamed(%x: memref<?x?xf16>, %r: memref<?x?xf16>, %g: memref<?xf16>, %b: memref<?xf16>, %q: f32, %o: memref<?x?xi8>, %s: memref<?x?xf16>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x?xf16>) residual(%r : memref<?x?xf16>) gamma(%g : memref<?xf16>) beta(%b : memref<?xf16>) out_scale(%q : f32) outs(%o : memref<?x?xi8>) residual_out(%s : memref<?x?xf16>)
  return
}
func.func @f8_from_f64(%x: memref<?x1024xf64>, %g: memref<1024xf64>, %q: f64, %o: memref<?x1024xf8E4M3FN>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x1024xf64>) gamma(%g : memref<1024xf64>) out_scale(%q : f64) outs(%o : memref<?x1024xf8E4M3FN>)
  return
}
