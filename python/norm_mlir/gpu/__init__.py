"""GPU side of norm-mlir's Python tooling, in two layers (python/README.md):
tools on norm_mlir.core alone, reading the binaries that --norm-gpu-pipeline
produces (binaries) and running them on the CPU (emulator); and test
drivers on norm_mlir.testing, running norm-op cases on the emulator (check)
and generating and running the artefacts of the device harness, bench/gpu
(generate, device)."""
