"""Runs norm-op cases through --norm-gpu-pipeline under the CPU emulator
(see emulator.py) and checks the numbers against the float64 reference.

    python -m norm_mlir.gpu.check --sweep foundation
    python -m norm_mlir.gpu.check --case "op=rms_norm shape=3x4099 dtype=bf16 gamma" \\
        --options "block-size=64"
    python -m norm_mlir.gpu.check --grad-sweep gpu_gradients
    python -m norm_mlir.gpu.check --grad-case "op=layer_norm shape=4x8 gamma saved dgamma"

Exits non-zero (and says which case and why) on any mismatch.
"""

import argparse
import sys

from norm_mlir.gpu import emulator
from norm_mlir.testing import harness
from norm_mlir.testing.grad_cases import GradCase
from norm_mlir.testing.norm_cases import NormCase
from norm_mlir.testing.sweeps import GRAD_SWEEPS, SWEEPS


def run_cases(specs, options="", batch=8, verbose=False, keep=None,
              grad_specs=()):
    """Runs the norm-op cases `specs` and the gradient cases `grad_specs`;
    returns the number that failed."""
    cases = [NormCase.parse(s) for s in specs]
    cases += [GradCase.parse(s) for s in grad_specs]
    failures = 0
    label = f"gpu-emulated {options}".strip()
    for start in range(0, len(cases), batch):
        chunk = cases[start:start + batch]
        kernels, calls, data = [], [], []
        for i, case in enumerate(chunk):
            func = f"kernel_{start + i}"
            kernels.append(case.kernel_ir(func))
            values = case.inputs()
            args, outputs = case.call_args(values)
            result_shapes = ([shape for _, shape, _ in case.destinations()]
                             if case.abi == "tensor" else [])
            calls.append(harness.Call(func, args, outputs, result_shapes))
            data.append(values)
        try:
            results = harness.run_calls_emulated("\n".join(kernels), calls,
                                                 options, keep=keep)
        except (harness.HarnessError, emulator.EmulatorError) as err:
            print(f"FAIL [{label}] batch of {len(chunk)} cases starting at "
                  f"'{chunk[0].spec}':\n{err}")
            failures += len(chunk)
            continue
        for case, outputs, values in zip(chunk, results, data):
            problems = case.check(outputs, values)
            if problems:
                failures += 1
                print(f"FAIL [{label}] {case.spec}")
                for p in problems:
                    print(f"    {p}")
            elif verbose:
                print(f"ok   [{label}] {case.spec}")
    print(f"{len(cases) - failures} passed, {failures} failed")
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep", action="append", default=[],
                        help="named sweep: %s" % ", ".join(SWEEPS))
    parser.add_argument("--case", action="append", default=[],
                        help="one case spec (see norm_cases.py)")
    parser.add_argument("--grad-sweep", action="append", default=[],
                        help="named gradient sweep: %s" % ", ".join(GRAD_SWEEPS))
    parser.add_argument("--grad-case", action="append", default=[],
                        help="one gradient case spec (see grad_cases.py)")
    parser.add_argument("--options", default="",
                        help="extra --norm-gpu-pipeline options")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--keep", help="write the generated module here")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    specs = list(args.case)
    for name in args.sweep:
        specs += SWEEPS[name]
    grad_specs = list(args.grad_case)
    for name in args.grad_sweep:
        grad_specs += GRAD_SWEEPS[name]
    if not specs and not grad_specs:
        parser.error("no cases: give --case, --sweep, --grad-case or "
                     "--grad-sweep")
    return 1 if run_cases(specs, args.options, args.batch, args.verbose,
                          args.keep, grad_specs) else 0


if __name__ == "__main__":
    sys.exit(main())
