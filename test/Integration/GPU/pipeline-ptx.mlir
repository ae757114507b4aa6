// The GPU pipeline down to PTX (format=isa needs nothing but LLVM), for
// sm_90 and sm_80, read back from the gpu.binary.

// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_90 format=isa" -o %t.sm90.mlir
// RUN: FileCheck %s --check-prefix=HOST < %t.sm90.mlir
// RUN: %python -m norm_mlir.gpu.binaries %t.sm90.mlir --module layer_norm_kernel | FileCheck %s --check-prefixes=LN,SM90
// RUN: %python -m norm_mlir.gpu.binaries %t.sm90.mlir --module rms_norm_kernel | FileCheck %s --check-prefix=RMS
// RUN: %python -m norm_mlir.gpu.binaries %t.sm90.mlir --module rms_norm_i8_kernel | FileCheck %s --check-prefix=I8
// RUN: %python -m norm_mlir.gpu.binaries %t.sm90.mlir --module layer_norm_f8_kernel | FileCheck %s --check-prefix=F8
// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_80" -o %t.sm80.mlir
// RUN: %python -m norm_mlir.gpu.binaries %t.sm80.mlir --module layer_norm_kernel | FileCheck %s --check-prefixes=LN,SM80

// The host code: the memref arguments go straight to the kernel; the
// kernels are PTX in gpu.binary ops.
// HOST: llvm.func @layer_norm(
// HOST: gpu.launch_func <%{{.*}} : !llvm.ptr> @layer_norm_kernel::@layer_norm_kernel blocks in
// HOST: gpu.binary @layer_norm_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">, {{.*}}assembly = "
// HOST: llvm.func @rms_norm(
// HOST: gpu.launch_func <%{{.*}} : !llvm.ptr> @rms_norm_kernel::@rms_norm_kernel blocks in
// HOST: gpu.binary @rms_norm_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">, {{.*}}assembly = "
// HOST-NOT: norm.

// LayerNorm f32, N = 768, four rows of 64 threads a block: each thread
// reads the row's first element (the pivot) and its three 128-bit vectors
// of the row before anything else; the shifted sum, then the sum of
// squares, each go through a five-step butterfly and meet the row's other
// warp after a barrier (one shared load and one more shuffle); the centred
// values and the squares are fused multiply-adds; rstd is rsqrt.approx;
// then gamma and beta are read and the row stored, 128 bits at a time.
// SM90: .target sm_90
// SM80: .target sm_80
// LN: .entry layer_norm_kernel(
// LN: .maxntid 256, 1, 1
// LN: .shared .align 4 .b8 __wg_layer_norm_kernel_0[192];
// LN: ld.global.b32
// LN-COUNT-3: ld.global.v4.b32
// LN-NOT: ld.global
// LN-NOT: shfl.sync.idx
// LN-COUNT-5: shfl.sync.bfly.b32
// LN: bar.sync 0;
// LN: ld.shared.b32
// LN-NEXT: shfl.sync.bfly.b32 {{.*}}, 1, 31, -1;
// LN: fma.rn.f32
// LN: fma.rn.f32
// LN-COUNT-5: shfl.sync.bfly.b32
// LN: bar.sync 0;
// LN: ld.shared.b32
// LN-NEXT: shfl.sync.bfly.b32 {{.*}}, 1, 31, -1;
// LN-NOT: shfl.sync
// LN-NOT: bar.sync
// LN-NOT: sqrt.rn
// LN-NOT: div.rn
// LN: rsqrt.approx.f32
// LN: ld.global.v4.b32
// LN: fma.rn.f32
// LN: st.global.v4.b32
// LN: st.global.v4.b32
// LN: st.global.v4.b32
// No calls (libdevice or otherwise), no local memory.
// LN-NOT: call
// LN-NOT: .local

// RMSNorm bf16, N = 4096: 128-bit loads of 8 bf16 (v4.b32), one butterfly
// of a single value.
// RMS: .entry rms_norm_kernel(
// RMS-COUNT-2: ld.global.v4.b32
// RMS-NOT: ld.global
// RMS-NOT: shfl.sync.idx
// RMS-COUNT-5: shfl.sync.bfly.b32
// RMS-NOT: shfl.sync
// RMS: bar.sync 0;
// RMS: cvt.rn.bf16x2.f32
// RMS: st.global.v4.b32
// RMS-NOT: call
// RMS-NOT: .local

// RMSNorm f32 to i8, N = 4096: the scale is an f32 kernel parameter; each
// lane is divided (correctly rounded, as the reference), rounded to even
// (cvt.rni, not a libdevice call), clamped, converted, and the 4 bytes of
// a vector stored at once.
// I8: .entry rms_norm_i8_kernel(
// I8: .param .f32 rms_norm_i8_kernel_param_{{[0-9]+}}
// I8-COUNT-4: ld.global.v4.b32
// I8: rsqrt.approx.f32
// I8: div.rn.f32
// I8: cvt.rni.f32.f32
// I8: max.NaN.f32 {{.*}}, 0fC3000000;
// I8: min.NaN.f32 {{.*}}, 0f42FE0000;
// I8: cvt.rzi.s16.f32
// I8: st.global.b32
// I8-NOT: call
// I8-NOT: .local

// LayerNorm bf16 to f8E4M3FN: clamped to +-448, then the f8 rounding in
// integer code (norm-expand-fp8-casts), 8 bytes a store.
// F8: .entry layer_norm_f8_kernel(
// F8: .param .f32 layer_norm_f8_kernel_param_{{[0-9]+}}
// F8: div.rn.f32
// F8: max.NaN.f32 {{.*}}, 0fC3E00000;
// F8: min.NaN.f32 {{.*}}, 0f43E00000;
// F8: st.global.v2.b32
// F8: st.global.v2.b32
// F8-NOT: call
// F8-NOT: .local

func.func @layer_norm(%x: memref<?x768xf32>, %g: memref<768xf32>, %b: memref<768xf32>, %o: memref<?x768xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x768xf32>) gamma(%g : memref<768xf32>) beta(%b : memref<768xf32>) outs(%o : memref<?x768xf32>)
  return
}

func.func @rms_norm(%x: memref<?x4096xbf16>, %g: memref<4096xbf16>, %o: memref<?x4096xbf16>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x4096xbf16>) gamma(%g : memref<4096xbf16>) outs(%o : memref<?x4096xbf16>)
  return
}

func.func @rms_norm_i8(%x: memref<?x4096xf32>, %g: memref<4096xf32>, %q: f32, %o: memref<?x4096xi8>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x4096xf32>) gamma(%g : memref<4096xf32>) out_scale(%q : f32) outs(%o : memref<?x4096xi8>)
  return
}

func.func @layer_norm_f8(%x: memref<?x4096xbf16>, %q: f32, %o: memref<?x4096xf8E4M3FN>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x4096xbf16>) out_scale(%q : f32) outs(%o : memref<?x4096xf8E4M3FN>)
  return
}
