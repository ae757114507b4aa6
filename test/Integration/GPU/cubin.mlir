// REQUIRES: ptxas
// format=bin: the pipeline runs the CUDA toolkit's ptxas itself and the
// gpu.binary holds a cubin (an ELF file) for the chip; fatbin wraps it.

// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_90 format=bin" | FileCheck %s --check-prefix=BIN
// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_80 format=bin" | FileCheck %s --check-prefix=BIN80
// RUN: norm-opt %s --norm-gpu-pipeline="format=fatbin" -o %t.fatbin.mlir
// RUN: FileCheck %s --check-prefix=FATBIN < %t.fatbin.mlir
// RUN: %python -m norm_mlir.gpu.binaries %t.fatbin.mlir -o %t.fatbin
// RUN: %python -c "import sys; data = open(sys.argv[1], 'rb').read(); sys.exit(data[:4] != bytes.fromhex('50ed55ba'))" %t.fatbin

// BIN: gpu.binary @rms_norm_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">, {{.*}}bin = "\7FELF
// FATBIN: gpu.binary @rms_norm_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">, properties = {{{.*}}}, "P\EDU\BA
// BIN80: gpu.binary @rms_norm_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">, {{.*}}bin = "\7FELF

func.func @rms_norm(%x: memref<?x4096xbf16>, %g: memref<4096xbf16>, %o: memref<?x4096xbf16>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<?x4096xbf16>) gamma(%g : memref<4096xbf16>) outs(%o : memref<?x4096xbf16>)
  return
}
