"""The GPU kernels' SASS instruction budget (issue #18, part 6).

The benchmark kernels, assembled by ptxas for sm_90, issue at most 1.2x the
instructions per element of hand-written CUDA kernels of the same geometry
(bench/gpu/handwritten_norms.cu, compiled by nvcc). Needs ptxas and nvcc;
skipped without them.
"""

import struct

import pytest

from norm_mlir.core import tools
from norm_mlir.gpu import budget, generate, sass

needs_cuda = pytest.mark.skipif(not (tools.ptxas() and tools.nvcc()),
                                reason="needs ptxas and nvcc")


def _instruction(opcode, predicate=7):
    """16 bytes of an instruction with `opcode` under `predicate` (PT)."""
    return struct.pack("<QQ", opcode | predicate << 12, 0)


def test_issued_count_drops_the_trap_and_the_padding():
    ffma, exit_, bra, nop = 0x223, sass.EXIT, sass.BRA, sass.NOP
    code = b"".join(_instruction(op) for op in
                    [ffma, ffma, exit_, ffma, exit_, bra, nop, nop])
    ops = sass.opcodes(code)
    assert ops == [ffma, ffma, exit_, ffma, exit_, bra, nop, nop]
    assert sass.issued_count(ops) == 5
    # A branch that is not the trap after the last EXIT is counted.
    assert sass.issued_count([ffma, bra]) == 2


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    return budget.budget(str(tmp_path_factory.mktemp("budget")))


@needs_cuda
def test_every_benchmark_kernel_is_measured(rows):
    buckets = len(budget.ROW_BUCKETS)
    assert len(rows) == len(generate.bench_specs()) + 2 * 3 * buckets
    static = [r for r in rows if "?x?" not in r["variant"]]
    assert len(static) == len(generate.bench_specs())
    for row in rows:
        # Held in registers: the count is one row's work for a thread.
        assert row["elements"] >= 12
        assert row["ours"] > 0 and row["hand"] > 0


@needs_cuda
def test_counts_follow_the_work(rows):
    by_name = {r["variant"]: r for r in rows}
    # LayerNorm does more per element than RMSNorm, in both kernels.
    for shape in ("4096x768", "32768x4096", "8192x8192"):
        for dtype in ("f32", "f16", "bf16"):
            layer = by_name[f"layer_norm {dtype} {shape}"]
            rms = by_name[f"rms_norm {dtype} {shape}"]
            assert layer["ours"] > rms["ours"]
            assert layer["hand"] > rms["hand"]


@needs_cuda
def test_within_the_budget_of_hand_written_kernels(rows):
    over = [f"{r['variant']}: {r['ratio']:.2f}x" for r in rows
            if r["ratio"] > budget.BUDGET]
    assert over == [], budget.format_budget(rows)


@needs_cuda
def test_the_budget_is_not_slack(rows):
    # The check discriminates: the short-row kernels, which pay the pivot
    # and the exchange over 12 elements a thread, are above 1.1x, so a
    # regression of a few instructions a row shows.
    assert max(r["ratio"] for r in rows) > 1.1
    assert any(r["ratio"] > 1.0 for r in rows)


@needs_cuda
def test_bucket_kernels_hold_their_rows(rows):
    # Every ?x? op has one kernel a row-length bucket, each held in
    # registers at the geometry of the static kernel of its length (16
    # elements a thread), and costing what that static kernel does plus
    # its guards on every vector and run-time strides: the hand-written
    # kernels pay 1.3x for the same at 4096 (254 against 195, f32).
    dynamic = [r for r in rows if "?x?" in r["variant"]]
    assert len(dynamic) == 2 * 3 * len(budget.ROW_BUCKETS)
    for row in dynamic:
        assert row["elements"] == 16
        assert row["static"] < row["ours"] <= 1.4 * row["static"], row
