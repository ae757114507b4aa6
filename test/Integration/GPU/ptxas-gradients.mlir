// REQUIRES: ptxas
// The gradient kernels at benchmark shapes (and the recomputed, streamed
// and f64 forms), assembled by the CUDA toolkit's ptxas for sm_90 and sm_80:
// no register spills, no stack frame, no local memory. In the PTX: the row
// kernel of a held row reads x, dy and gamma with 128-bit loads and writes
// dx with 128-bit stores, and neither it nor the kernel summing the partial
// rows has an atomic.

// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_90" -o %t.sm90.mlir
// RUN: %python -m norm_mlir.gpu.binaries %t.sm90.mlir --ptxas %ptxas | FileCheck %s --check-prefix=SM90
// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_80" -o %t.sm80.mlir
// RUN: %python -m norm_mlir.gpu.binaries %t.sm80.mlir --ptxas %ptxas | FileCheck %s --check-prefix=SM80
// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_90 format=isa" -o %t.ptx.mlir
// RUN: %python -m norm_mlir.gpu.binaries %t.ptx.mlir --module ln_grad_bf16_16384x4096_kernel | FileCheck %s --check-prefix=ROWS
// RUN: %python -m norm_mlir.gpu.binaries %t.ptx.mlir --module ln_grad_bf16_16384x4096_kernel_0 | FileCheck %s --check-prefix=COLUMNS

// SM90: ptxas ln_grad_bf16_16384x4096_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_grad_bf16_16384x4096_kernel_0 sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_grad_f32_16384x4096_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_grad_f32_16384x4096_kernel_1 sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_grad_f32_4096x768_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_grad_f32_4096x768_kernel_2 sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas rms_grad_bf16_16384x8192_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas rms_grad_bf16_16384x8192_kernel_3 sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_grad_recomputed_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_grad_recomputed_kernel_4 sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_grad_recomputed_kernel_5 sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_grad_streamed_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas ln_grad_streamed_kernel_6 sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas rms_grad_f64_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90: ptxas rms_grad_f64_kernel_7 sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM90-NOT: FAILED

// SM80: ptxas ln_grad_bf16_16384x4096_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_grad_bf16_16384x4096_kernel_0 sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_grad_f32_16384x4096_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_grad_f32_16384x4096_kernel_1 sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_grad_f32_4096x768_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_grad_f32_4096x768_kernel_2 sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas rms_grad_bf16_16384x8192_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas rms_grad_bf16_16384x8192_kernel_3 sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_grad_recomputed_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_grad_recomputed_kernel_4 sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_grad_recomputed_kernel_5 sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_grad_streamed_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas ln_grad_streamed_kernel_6 sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas rms_grad_f64_kernel sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80: ptxas rms_grad_f64_kernel_7 sm_80: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
// SM80-NOT: FAILED

// ROWS-NOT: atom
// ROWS: ld.global.v4.b32
// ROWS: shfl.sync.bfly
// ROWS: st.global.v4.b32
// ROWS-NOT: atom

// COLUMNS-NOT: atom
// COLUMNS: ld.global.v4.b32
// COLUMNS: st.global.v4.b32
// COLUMNS-NOT: atom

// LayerNorm, bf16, saved statistics, every gradient: the held row kernel
// and the column sums.
func.func @ln_grad_bf16_16384x4096(%x: memref<16384x4096xbf16>, %dy: memref<16384x4096xbf16>, %g: memref<4096xbf16>,
    %m: memref<16384xf32>, %r: memref<16384xf32>, %dx: memref<16384x4096xbf16>, %dg: memref<4096xbf16>, %db: memref<4096xbf16>) {
  norm.layer_norm_grad ins(%x : memref<16384x4096xbf16>) dy(%dy : memref<16384x4096xbf16>) gamma(%g : memref<4096xbf16>)
      mean(%m : memref<16384xf32>) rstd(%r : memref<16384xf32>)
      outs dx(%dx : memref<16384x4096xbf16>) dgamma(%dg : memref<4096xbf16>) dbeta(%db : memref<4096xbf16>)
  return
}

// The same in f32, and at BERT's width.
func.func @ln_grad_f32_16384x4096(%x: memref<16384x4096xf32>, %dy: memref<16384x4096xf32>, %g: memref<4096xf32>,
    %m: memref<16384xf32>, %r: memref<16384xf32>, %dx: memref<16384x4096xf32>, %dg: memref<4096xf32>, %db: memref<4096xf32>) {
  norm.layer_norm_grad ins(%x : memref<16384x4096xf32>) dy(%dy : memref<16384x4096xf32>) gamma(%g : memref<4096xf32>)
      mean(%m : memref<16384xf32>) rstd(%r : memref<16384xf32>)
      outs dx(%dx : memref<16384x4096xf32>) dgamma(%dg : memref<4096xf32>) dbeta(%db : memref<4096xf32>)
  return
}
func.func @ln_grad_f32_4096x768(%x: memref<4096x768xf32>, %dy: memref<4096x768xf32>, %g: memref<768xf32>,
    %m: memref<4096xf32>, %r: memref<4096xf32>, %dx: memref<4096x768xf32>, %dg: memref<768xf32>, %db: memref<768xf32>) {
  norm.layer_norm_grad ins(%x : memref<4096x768xf32>) dy(%dy : memref<4096x768xf32>) gamma(%g : memref<768xf32>)
      mean(%m : memref<4096xf32>) rstd(%r : memref<4096xf32>)
      outs dx(%dx : memref<4096x768xf32>) dgamma(%dg : memref<768xf32>) dbeta(%db : memref<768xf32>)
  return
}

// RMSNorm at Llama's width: dx and dgamma.
func.func @rms_grad_bf16_16384x8192(%x: memref<16384x8192xbf16>, %dy: memref<16384x8192xbf16>, %g: memref<8192xbf16>,
    %r: memref<16384xf32>, %dx: memref<16384x8192xbf16>, %dg: memref<8192xbf16>) {
  norm.rms_norm_grad ins(%x : memref<16384x8192xbf16>) dy(%dy : memref<16384x8192xbf16>) gamma(%g : memref<8192xbf16>)
      rstd(%r : memref<16384xf32>) outs dx(%dx : memref<16384x8192xbf16>) dgamma(%dg : memref<8192xbf16>)
  return
}

// Recomputed statistics (the forward kernel writes them first), a
// residual gradient, f16, dynamic rows.
func.func @ln_grad_recomputed(%x: memref<?x4096xf16>, %dy: memref<?x4096xf16>, %g: memref<4096xf16>, %dr: memref<?x4096xf16>,
    %dx: memref<?x4096xf16>, %dg: memref<4096xf16>, %db: memref<4096xf16>) {
  norm.layer_norm_grad eps(1.0e-05) ins(%x : memref<?x4096xf16>) dy(%dy : memref<?x4096xf16>) gamma(%g : memref<4096xf16>)
      residual_grad(%dr : memref<?x4096xf16>)
      outs dx(%dx : memref<?x4096xf16>) dgamma(%dg : memref<4096xf16>) dbeta(%db : memref<4096xf16>)
  return
}

// Dynamic N: the streamed row kernel.
func.func @ln_grad_streamed(%x: memref<?x?xf32>, %dy: memref<?x?xf32>, %g: memref<?xf32>,
    %m: memref<?xf32>, %r: memref<?xf32>, %dx: memref<?x?xf32>, %dg: memref<?xf32>, %db: memref<?xf32>) {
  norm.layer_norm_grad ins(%x : memref<?x?xf32>) dy(%dy : memref<?x?xf32>) gamma(%g : memref<?xf32>)
      mean(%m : memref<?xf32>) rstd(%r : memref<?xf32>)
      outs dx(%dx : memref<?x?xf32>) dgamma(%dg : memref<?xf32>) dbeta(%db : memref<?xf32>)
  return
}

// f64.
func.func @rms_grad_f64(%x: memref<64x1024xf64>, %dy: memref<64x1024xf64>, %g: memref<1024xf64>,
    %r: memref<64xf64>, %dx: memref<64x1024xf64>, %dg: memref<1024xf64>) {
  norm.rms_norm_grad ins(%x : memref<64x1024xf64>) dy(%dy : memref<64x1024xf64>) gamma(%g : memref<1024xf64>)
      rstd(%r : memref<64xf64>) outs dx(%dx : memref<64x1024xf64>) dgamma(%dg : memref<1024xf64>)
  return
}
