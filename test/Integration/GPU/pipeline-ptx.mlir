// The GPU pipeline down to PTX (format=isa needs nothing but LLVM), for
// sm_90 and sm_80, read back from the gpu.binary.

// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_90 format=isa" -o %t.sm90.mlir
// RUN: FileCheck %s --check-prefix=HOST < %t.sm90.mlir
// RUN: %python -m norm_mlir.gpu.binaries %t.sm90.mlir --module layer_norm_kernel | FileCheck %s --check-prefixes=LN,SM90
// RUN: %python -m norm_mlir.gpu.binaries %t.sm90.mlir --module rms_norm_kernel | FileCheck %s --check-prefix=RMS
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
// loads its three 128-bit vectors of the row before anything else, the
// pivot comes from lane 0 (shfl.sync.idx); the shifted sum, then the sum
// of squares, each go through a five-step butterfly and meet the row's
// other warp in shared memory after a barrier; then gamma and beta are
// read and the row stored, 128 bits at a time.
// SM90: .target sm_90
// SM80: .target sm_80
// LN: .entry layer_norm_kernel(
// LN: .maxntid 256, 1, 1
// LN: .shared .align 4 .b8 __wg_layer_norm_kernel_0[192];
// LN-COUNT-3: ld.global.v4.b32
// LN-NOT: ld.global
// LN: shfl.sync.idx.b32
// LN-COUNT-5: shfl.sync.bfly.b32
// LN: bar.sync 0;
// LN-COUNT-5: shfl.sync.bfly.b32
// LN: bar.sync 0;
// LN-NOT: shfl.sync
// LN-NOT: bar.sync
// LN: sqrt.rn.f32
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

func.func @layer_norm(%x: memref<?x768xf32>, %g: memref<768xf32>, %b: memref<768xf32>, %o: memref<?x768xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x768xf32>) gamma(%g : memref<768xf32>) beta(%b : memref<768xf32>) outs(%o : memref<?x768xf32>)
  return
}

func.func @rms_norm(%x: memref<?x4096xbf16>, %g: memref<4096xbf16>, %o: memref<?x4096xbf16>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x4096xbf16>) gamma(%g : memref<4096xbf16>) outs(%o : memref<?x4096xbf16>)
  return
}
