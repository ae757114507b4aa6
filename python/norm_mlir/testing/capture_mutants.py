"""Mutation check of `--norm-capture`: a small change to a norm is either
left alone or still a norm.

    python -m norm_mlir.testing.capture_mutants test/Transforms/Capture/*.mlir

Every function of the given positive test files is mutated in many small
ways (operands swapped, an add for a multiply, sqrt for rsqrt, constants
scaled, reduction axes moved, ...). A mutant that still verifies and whose
outputs are all captured norm ops must compute what the mutant computes:
it is run original vs captured through norm_mlir.testing.equiv, within
docs/Tolerances.md. A mutant the pass leaves alone (or captures only in
part) says nothing and is skipped. Slow (minutes): not part of check-norm.
"""

import argparse
import re
import subprocess
import sys
import tempfile

from norm_mlir.core import tools
from norm_mlir.testing import equiv

# (pattern, replacement) pairs; each is applied at every match separately.
MUTATIONS = [
    (r"arith\.subf (%[\w#]+), (%[\w#]+)",
     lambda m: f"arith.subf {m.group(2)}, {m.group(1)}"),
    (r"arith\.mulf", lambda m: "arith.addf"),
    (r"arith\.addf", lambda m: "arith.subf"),
    (r"arith\.divf (%[\w#]+), (%[\w#]+)",
     lambda m: f"arith.divf {m.group(2)}, {m.group(1)}"),
    (r"math\.rsqrt", lambda m: "math.sqrt"),
    (r"math\.sqrt", lambda m: "math.rsqrt"),
    (r"tosa\.sub (%[\w#]+), (%[\w#]+)",
     lambda m: f"tosa.sub {m.group(2)}, {m.group(1)}"),
    (r"tosa\.rsqrt", lambda m: "tosa.reciprocal"),
    (r"tosa\.add", lambda m: "tosa.sub"),
    (r"(\d+\.\d+)(e[-+]?\d+)?( : f(?:32|64))",
     lambda m: f"{float(m.group(1) + (m.group(2) or '')) * 1.5!r}{m.group(3)}"),
    (r"dense<(\d+\.\d+(?:e[-+]?\d+)?)>",
     lambda m: f"dense<{float(m.group(1)) * 0.75!r}>"),
    (r"axis = (\d) : i32",
     lambda m: f"axis = {max(0, int(m.group(1)) - 1)} : i32"),
    (r"dimensions = \[1\]", lambda m: "dimensions = [0]"),
    (r"(%c\d) = arith\.constant (\d) : i32",
     lambda m: f"{m.group(1)} = arith.constant {int(m.group(2)) + 1} : i32"),
]


def mutants(section):
    for pattern, replace in MUTATIONS:
        for m in re.finditer(pattern, section):
            mutant = section[:m.start()] + replace(m) + section[m.end():]
            if mutant != section:
                yield mutant


def _norm_opt(text, *flags):
    proc = subprocess.run([tools.norm_opt(), "-", *flags], input=text,
                          capture_output=True, text=True)
    return proc.stdout if proc.returncode == 0 else None


def fully_captured(text):
    """Whether, after capture, every returned value comes from a norm op."""
    out = _norm_opt(text, "--norm-capture")
    if out is None:
        return False
    defs = dict(re.findall(r"(%[\w]+)(?::\d+)? = (\S+)", out))
    returns = re.findall(r"return ([^:]+) :", out)
    if not returns:
        return False
    for ret in returns:
        for value in ret.split(","):
            if not defs.get(value.strip().split("#")[0], "").startswith("norm."):
                return False
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--batch", type=int, default=25)
    args = parser.parse_args(argv)

    kept, total = [], 0
    for path in args.files:
        for section in open(path).read().split("// -----"):
            if "func.func" not in section:
                continue
            for mutant in mutants(section):
                total += 1
                for name in set(re.findall(r"func\.func @(\w+)", mutant)):
                    mutant = re.sub(r"@" + name + r"\b", f"@{name}_m{total}", mutant)
                if _norm_opt(mutant, "-o", "/dev/null") is None:
                    continue
                if fully_captured(mutant):
                    kept.append(mutant)
    print(f"{total} mutants, {len(kept)} still captured: checking them",
          flush=True)

    options = argparse.Namespace(func=[], dyn=6, eps=1e-5, data="normal",
                                 seed=0, allow_uncaptured=False)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for start in range(0, len(kept), args.batch):
            path = f"{tmp}/mutants_{start}.mlir"
            with open(path, "w") as f:
                f.write("\n// -----\n".join(kept[start:start + args.batch]))
            failures += equiv.run(path, options)
    print(f"mutation check: {len(kept)} captured mutants, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
