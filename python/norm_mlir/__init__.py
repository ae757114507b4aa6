"""norm-mlir: Python helpers for the norm dialect (reference, test harness)."""
