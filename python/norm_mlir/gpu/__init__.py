"""GPU side of norm-mlir's Python tooling: reading the binaries that
--norm-gpu-pipeline produces, running them on the CPU for tests, and
generating the artefacts of the device harness (bench/gpu)."""
