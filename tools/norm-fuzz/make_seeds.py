"""Writes norm-fuzz seeds: every `.mlir` under the given directories, split
at `// -----` into one file per case, without the RUN/CHECK/expected-*
comments (the fuzzer needs the IR, not the test harness).

    python3 make_seeds.py OUT_DIR DIR...
"""

import hashlib
import os
import re
import sys

_TEST_COMMENT = re.compile(r"^\s*//\s*(RUN|CHECK|REQUIRES|UNSUPPORTED|XFAIL|"
                           r"expected-|[A-Z0-9_-]+(-SAME|-NEXT|-LABEL|-NOT|-DAG)?:)")


def cases(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for case in re.split(r"^// -----\s*$", text, flags=re.M):
        lines = [l for l in case.splitlines() if not _TEST_COMMENT.match(l)
                 or l.lstrip().startswith("// PIPELINE:")]
        body = "\n".join(lines).strip()
        if body:
            yield body + "\n"


def main(out_dir, roots):
    os.makedirs(out_dir, exist_ok=True)
    count = 0
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for name in sorted(files):
                if not name.endswith(".mlir"):
                    continue
                for case in cases(os.path.join(dirpath, name)):
                    digest = hashlib.sha1(case.encode()).hexdigest()
                    with open(os.path.join(out_dir, digest), "w") as f:
                        f.write(case)
                    count += 1
    return count


if __name__ == "__main__":
    print(f"make_seeds: {main(sys.argv[1], sys.argv[2:])} seeds", file=sys.stderr)
