"""Runs norm-op cases through a lowering pipeline and checks the numbers.

    python -m norm_mlir.testing.check --pipeline linalg --sweep foundation
    python -m norm_mlir.testing.check --pipeline cpu \\
        --case "op=rms_norm shape=3x4099 dtype=bf16 gamma"

Exits non-zero (and says which case and why) on any mismatch.
"""

import argparse
import sys

from norm_mlir.core.pipelines import PIPELINES
from norm_mlir.testing import harness
from norm_mlir.testing.norm_cases import NormCase
from norm_mlir.testing.sweeps import SWEEPS


def run_cases(specs, pipeline, batch=16, verbose=False, keep=None,
              exclude_abi=()):
    cases = [NormCase.parse(s) for s in specs]
    cases = [c for c in cases if c.abi not in exclude_abi]
    failures = 0
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
            results = harness.run_calls("\n".join(kernels), calls, pipeline,
                                        keep=keep)
        except harness.HarnessError as err:
            print(f"FAIL [{pipeline}] batch of {len(chunk)} cases starting at "
                  f"'{chunk[0].spec}':\n{err}")
            failures += len(chunk)
            continue
        for case, outputs, values in zip(chunk, results, data):
            problems = case.check(outputs, values)
            if problems:
                failures += 1
                print(f"FAIL [{pipeline}] {case.spec}")
                for p in problems:
                    print(f"    {p}")
            elif verbose:
                print(f"ok   [{pipeline}] {case.spec}")
    print(f"{len(cases) - failures} passed, {failures} failed")
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", default="linalg",
                        help="pipeline name (%s) or norm-opt flags" %
                        ", ".join(PIPELINES))
    parser.add_argument("--sweep", action="append", default=[],
                        help="named sweep: %s" % ", ".join(SWEEPS))
    parser.add_argument("--case", action="append", default=[],
                        help="one case spec (see norm_cases.py)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--exclude-abi", action="append", default=[],
                        help="skip cases of this abi (tensor, memref, kernel)")
    parser.add_argument("--keep", help="write the generated module here")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    specs = list(args.case)
    for name in args.sweep:
        specs += SWEEPS[name]
    if not specs:
        parser.error("no cases: give --case or --sweep")
    return 1 if run_cases(specs, args.pipeline, args.batch, args.verbose,
                          args.keep, args.exclude_abi) else 0


if __name__ == "__main__":
    sys.exit(main())
