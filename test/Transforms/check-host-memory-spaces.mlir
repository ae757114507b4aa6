// RUN: norm-opt %s -split-input-file -verify-diagnostics --norm-check-host-memory-spaces
// RUN: not norm-opt %s -split-input-file --norm-cpu-pipeline 2>&1 | FileCheck %s --check-prefix=PIPELINE
// RUN: not norm-opt %s -split-input-file --norm-check-host-memory-spaces=allow-gpu-address-spaces=true 2>&1 | FileCheck %s --check-prefix=GPU
// RUN: not norm-opt %s -split-input-file --norm-gpu-pipeline 2>&1 | FileCheck %s --check-prefix=GPU-PIPELINE

// Regression (norm-fuzz): a memref in GPU workgroup memory went through
// norm-cpu-pipeline with errors from the LLVM conversions, without a
// location, and exit status 0. The pipeline's first pass now reports it.
// PIPELINE: [[@LINE+3]]:29: error: argument #0 has type 'memref<4x8xf32, #gpu.address_space<workgroup>>', in memory space #gpu.address_space<workgroup>, which host code cannot address
// PIPELINE-NOT: integer address space failed
// expected-error @+1 {{argument #0 has type 'memref<4x8xf32, #gpu.address_space<workgroup>>', in memory space #gpu.address_space<workgroup>, which host code cannot address}}
func.func @workgroup_memory(%x: memref<4x8xf32, #gpu.address_space<workgroup>>, %o: memref<4x8xf32>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<4x8xf32, #gpu.address_space<workgroup>>) outs(%o : memref<4x8xf32>)
  return
}

// -----

// An op result and a declaration. The GPU pipeline (host code lowered by
// the GPU conversions, which map GPU address spaces) rejects the string
// memory space but not the GPU address space: norm-fuzz found both giving
// location-less errors and exit 0 there.
// GPU-NOT: error: argument #0 has type
// GPU: [[@LINE+4]]:1: error: the function has type '(memref<8xf32, "private">) -> ()'
// GPU-NOT: error: result #0 of 'memref.alloc'
// GPU-PIPELINE: [[@LINE+2]]:1: error: the function has type '(memref<8xf32, "private">) -> ()', in memory space "private", which host code cannot address (the default memory space and integer address spaces are host memory; so are GPU address spaces)
// GPU-PIPELINE-NOT: integer address space failed
func.func private @external(memref<8xf32, "private">)
// expected-error @-1 {{the function has type '(memref<8xf32, "private">) -> ()', in memory space "private"}}

func.func @alloc() {
  // expected-error @+1 {{result #0 of 'memref.alloc' has type 'memref<8xf32, #gpu.address_space<private>>'}}
  %a = memref.alloc() : memref<8xf32, #gpu.address_space<private>>
  return
}

// -----

// Near miss: the default memory space and numbered address spaces are host
// memory; nothing is reported.
func.func @host(%x: memref<4x8xf32>, %o: memref<4x8xf32, 1>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<4x8xf32>) outs(%o : memref<4x8xf32, 1>)
  return
}
