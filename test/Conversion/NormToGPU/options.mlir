// The lowering's options: vector width, block size, rows per block.

// RUN: norm-opt %s --convert-norm-to-gpu="vector-width=1" | FileCheck %s --check-prefix=VW1
// RUN: norm-opt %s --convert-norm-to-gpu="vector-width=2" | FileCheck %s --check-prefix=VW2
// RUN: norm-opt %s --convert-norm-to-gpu="block-size=128 rows-per-block=2" -cse | FileCheck %s --check-prefix=B128R2
// RUN: norm-opt %s --convert-norm-to-gpu="rows-per-block=1" -cse | FileCheck %s --check-prefix=R1
// RUN: norm-opt %s --convert-norm-to-gpu="block-size=32" -cse | FileCheck %s --check-prefix=B32
// RUN: norm-opt %s --convert-norm-to-gpu="rows-per-block=2" -cse | FileCheck %s --check-prefix=R2

// RUN: not norm-opt %s --convert-norm-to-gpu="block-size=48" 2>&1 | FileCheck %s --check-prefix=ERR-BLOCK
// RUN: not norm-opt %s --convert-norm-to-gpu="block-size=2048" 2>&1 | FileCheck %s --check-prefix=ERR-BLOCK-BIG
// RUN: not norm-opt %s --convert-norm-to-gpu="rows-per-block=3" 2>&1 | FileCheck %s --check-prefix=ERR-ROWS
// RUN: not norm-opt %s --convert-norm-to-gpu="block-size=256 rows-per-block=3" 2>&1 | FileCheck %s --check-prefix=ERR-SPLIT
// RUN: not norm-opt %s --convert-norm-to-gpu="block-size=96 rows-per-block=2" 2>&1 | FileCheck %s --check-prefix=ERR-SPLIT32
// RUN: not norm-opt %s --convert-norm-to-gpu="vector-width=3" 2>&1 | FileCheck %s --check-prefix=ERR-WIDTH

// VW1-LABEL: func.func @f32_768
// VW1-NOT: vector.load
// VW1: memref.load %arg0
// VW1-NOT: vector.store
// VW1: memref.store %{{.*}}, %arg1
// VW2-LABEL: func.func @f32_768
// VW2: vector.load %arg0{{.*}} {alignment = 8 : i64} : memref<?x768xf32>, vector<2xf32>

// 64 threads a row, two rows a block of 128.
// B128R2-LABEL: func.func @f32_768
// B128R2: %[[GRID:.*]] = arith.ceildivui %{{.*}}, %c2
// B128R2: gpu.launch {{.*}} in (%{{[^ ]*}} = %[[GRID]], {{.*}} threads(%[[TID:[^,]*]], {{.*}}) in (%{{[^ ]*}} = %c128,
// B128R2: %[[TID32:.*]] = arith.index_castui %[[TID]] : index to i32
// B128R2: arith.remui %[[TID32]], %c64_i32

// One row a block: 64 threads.
// R1-LABEL: func.func @f32_768
// R1: gpu.launch blocks(%[[BID:[^,]*]], {{.*}} threads({{.*}}) in (%{{[^ ]*}} = %c64,
// R1-NOT: arith.minui
// R1: vector.load %arg0[%[[BID]],

// 32 threads would hold 128 values each: the row is streamed instead.
// B32-LABEL: func.func @f32_4096
// B32: threads({{.*}}) in (%{{[^ ]*}} = %c32,
// B32: scf.for %{{.*}} = %{{.*}} to %c1024 step %c32
// B32: vector.load %arg0
// B32: scf.for %{{.*}} = %{{.*}} to %c1024 step %c32

// N = 64 wants 4 threads a row, but two rows of 4 would not fill a warp:
// 16 threads a row.
// R2-LABEL: func.func @f32_64
// R2: threads(%[[TID:[^,]*]], {{.*}}) in (%{{[^ ]*}} = %c32,
// R2: %[[TID32:.*]] = arith.index_castui %[[TID]] : index to i32
// R2: arith.remui %[[TID32]], %c16_i32

// ERR-BLOCK: error: convert-norm-to-gpu: block-size must be a multiple of 32 from 32 to 1024, got 48
// ERR-BLOCK-BIG: error: convert-norm-to-gpu: block-size must be a multiple of 32 from 32 to 1024, got 2048
// ERR-ROWS: error: convert-norm-to-gpu: rows-per-block must be a power of two when block-size is not given, got 3
// ERR-SPLIT: error: convert-norm-to-gpu: block-size / rows-per-block (256 / 3) must be a power of two up to 32 or a multiple of 32
// ERR-SPLIT32: error: convert-norm-to-gpu: block-size / rows-per-block (96 / 2) must be a power of two up to 32 or a multiple of 32
// ERR-WIDTH: error: convert-norm-to-gpu: vector-width must be a power of two up to 16, got 3

func.func @f32_768(%x: memref<?x768xf32>, %o: memref<?x768xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<?x768xf32>) outs(%o : memref<?x768xf32>)
  return
}

func.func @f32_4096(%x: memref<?x4096xf32>, %o: memref<?x4096xf32>) {
  norm.rms_norm eps(1.0e-05) ins(%x : memref<?x4096xf32>) outs(%o : memref<?x4096xf32>)
  return
}

func.func @f32_64(%x: memref<?x64xf32>, %o: memref<?x64xf32>) {
  norm.rms_norm eps(1.0e-05) ins(%x : memref<?x64xf32>) outs(%o : memref<?x64xf32>)
  return
}
