// REQUIRES: ptxas
// Assembles the dynamic quantisation kernels with the CUDA toolkit's ptxas
// for sm_90 and sm_80: per token with the row held in registers (vLLM's
// rms_norm_dynamic_per_token_quant: bf16 in, residual in place, i8 out, an
// upper bound), per token streamed (fp8 from a long f32 row), per group
// (rms_norm_per_block_quant, G = 128, transposed scales, reduced in
// registers), and per token
// over ?x? (the 128-bit kernel and its scalar fallback). No register
// spills, no stack frame, no local memory; amax is abs.f32 with NaN-
// propagating max.NaN.f32 (no libdevice call).

// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_90" -o %t.sm90.mlir
// RUN: %python -m norm_mlir.gpu.binaries %t.sm90.mlir --ptxas %ptxas | FileCheck %s --check-prefix=SM90
// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_80" -o %t.sm80.mlir
// RUN: %python -m norm_mlir.gpu.binaries %t.sm80.mlir --ptxas %ptxas | FileCheck %s --check-prefix=SM80
// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_90 format=isa" | FileCheck %s --check-prefix=PTX

// SM90: ptxas per_token_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas per_token_streamed_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas per_group_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas per_token_dynamic_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas per_token_dynamic_kernel_0 sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90-NOT: FAILED

// SM80: ptxas per_token_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas per_token_streamed_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas per_group_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas per_token_dynamic_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas per_token_dynamic_kernel_0 sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80-NOT: FAILED

// PTX-NOT: __nv_
// PTX: .entry per_token_kernel
// PTX: abs.f32
// PTX: max.NaN.f32
// PTX: .entry per_token_streamed_kernel
// Per group of 128 bf16: a group is the vectors of 16 consecutive lanes in
// one slot, so the held row is read once (two 128-bit loads of x, two of
// gamma) and each group's amax is a 4-step butterfly of maxima.
// PTX: .entry per_group_kernel
// PTX-COUNT-2: ld.global.v4.b32
// PTX: bar.sync
// PTX: ld.global.v4.b32
// PTX: abs.f32
// PTX: shfl.sync.bfly.b32 {{.*}}, 8, 31, -1;
// PTX: shfl.sync.bfly.b32 {{.*}}, 4, 31, -1;
// PTX: shfl.sync.bfly.b32 {{.*}}, 2, 31, -1;
// PTX: shfl.sync.bfly.b32 {{.*}}, 1, 31, -1;
// PTX: st.global.b32
// PTX: st.global.v2.b32
// PTX: ld.global.v4.b32
// PTX: shfl.sync.bfly.b32 {{.*}}, 1, 31, -1;
// PTX: st.global.v2.b32
// PTX-NOT: ld.global
// PTX: .entry per_token_dynamic_kernel

func.func @per_token(%x: memref<?x4096xbf16>, %r: memref<?x4096xbf16>, %g: memref<4096xbf16>, %ub: f32, %q: memref<?x4096xi8>, %s: memref<?xf32>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x4096xbf16>) residual(%r : memref<?x4096xbf16>) gamma(%g : memref<4096xbf16>) scale_ub(%ub : f32) outs(%q : memref<?x4096xi8>) residual_out(%r : memref<?x4096xbf16>) scales(%s : memref<?xf32>)
  return
}

func.func @per_token_streamed(%x: memref<?x65536xf32>, %q: memref<?x65536xf8E4M3FN>, %s: memref<?xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x65536xf32>) outs(%q : memref<?x65536xf8E4M3FN>) scales(%s : memref<?xf32>) min_scale(1.0e-06)
  return
}

func.func @per_group(%x: memref<?x4096xbf16>, %g: memref<4096xbf16>, %q: memref<?x4096xf8E4M3FN>, %s: memref<?x32xf32, strided<[1, ?]>>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x4096xbf16>) gamma(%g : memref<4096xbf16>) outs(%q : memref<?x4096xf8E4M3FN>) scales(%s : memref<?x32xf32, strided<[1, ?]>>) group_size(128)
  return
}

func.func @per_token_dynamic(%x: memref<?x?xf16>, %q: memref<?x?xi8>, %s: memref<?xf32>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x?xf16>) outs(%q : memref<?x?xi8>) scales(%s : memref<?xf32>)
  return
}
