// Bad --norm-gpu-pipeline options are errors when the pipeline is built:
// upstream's gpu-module-to-binary reports an unknown format or a missing
// toolkit directory but goes on, so norm-opt used to exit 0 (with a binary
// of some other format) after printing the error.

// RUN: not norm-opt %s --norm-gpu-pipeline="format=bogus" 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: not norm-opt %s --norm-gpu-pipeline="format=bin toolkit=%t.missing" 2>&1 | FileCheck %s --check-prefix=TOOLKIT
// RUN: not norm-opt %s --norm-gpu-pipeline="opt-level=4" 2>&1 | FileCheck %s --check-prefix=OPT
// RUN: not norm-opt %s --norm-gpu-pipeline="block-size=48" 2>&1 | FileCheck %s --check-prefix=BLOCK
// RUN: not norm-opt %s --norm-gpu-pipeline="chip=bogus" 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not norm-opt %s --norm-gpu-pipeline="chip=sm_" 2>&1 | FileCheck %s --check-prefix=CHIP2
// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_90a" | FileCheck %s --check-prefix=ISA
// RUN: norm-opt %s --norm-gpu-pipeline="format=isa" | FileCheck %s --check-prefix=ISA

// FORMAT: error: norm-gpu-pipeline: format must be isa, bin, fatbin or llvm, got 'bogus'
// TOOLKIT: error: norm-gpu-pipeline: toolkit '{{.*}}.missing' is not a directory
// OPT: error: norm-gpu-pipeline: opt-level must be 0 to 3, got 4
// BLOCK: error: convert-norm-to-gpu: block-size must be a multiple of 32 from 32 to 1024, got 48
// CHIP: error: norm-gpu-pipeline: chip must be an NVIDIA architecture such as sm_80 or sm_90, got 'bogus'
// CHIP2: error: norm-gpu-pipeline: chip must be an NVIDIA architecture such as sm_80 or sm_90, got 'sm_'
// ISA: gpu.binary @k_kernel

func.func @k(%x: memref<4x64xf32>, %o: memref<4x64xf32>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<4x64xf32>) outs(%o : memref<4x64xf32>)
  return
}
