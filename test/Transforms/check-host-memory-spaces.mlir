// RUN: norm-opt %s -split-input-file -verify-diagnostics --norm-check-host-memory-spaces
// RUN: not norm-opt %s -split-input-file --norm-cpu-pipeline 2>&1 | FileCheck %s --check-prefix=PIPELINE

// Regression (norm-fuzz): a memref in GPU workgroup memory went through
// norm-cpu-pipeline with errors from the LLVM conversions, without a
// location, and exit status 0. The pipeline's first pass now reports it.
// PIPELINE: 10:29: error: argument #0 has type 'memref<4x8xf32, #gpu.address_space<workgroup>>', in memory space #gpu.address_space<workgroup>, which host code cannot address
// PIPELINE-NOT: integer address space failed
// expected-error @+1 {{argument #0 has type 'memref<4x8xf32, #gpu.address_space<workgroup>>', in memory space #gpu.address_space<workgroup>, which host code cannot address}}
func.func @workgroup_memory(%x: memref<4x8xf32, #gpu.address_space<workgroup>>, %o: memref<4x8xf32>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<4x8xf32, #gpu.address_space<workgroup>>) outs(%o : memref<4x8xf32>)
  return
}

// -----

// An op result and a declaration.
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
