"""Self-checking test harness: runs MLIR kernels on the CPU through norm-opt
and mlir-runner, with exact (bit-pattern) input and output transfer."""
