#!/usr/bin/env python3
"""Keeps production code readable in one sitting: no source file over
MAX_FILE lines and no function over MAX_FN lines. Production code is each
file up to its first `#[cfg(test)]`; test crates and test folders are not
counted.

Usage: sizes.py [--report] DIR ...
Exits 1 when anything is over, printing each; --report lists the largest
even when nothing is.
"""

import os
import re
import sys

MAX_FILE = 1200
MAX_FN = 120

FN = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+(\w+)")


def production(lines):
    for i, line in enumerate(lines):
        if re.match(r"\s*#\[cfg\(test\)\]", line):
            return lines[:i]
    return lines


def functions(lines):
    """(name, first line, length) of every fn with a body."""
    out = []
    i = 0
    while i < len(lines):
        m = FN.match(lines[i])
        if not m:
            i += 1
            continue
        depth, started, j = 0, False, i
        while j < len(lines):
            code = re.sub(r'"(?:\\.|[^"\\])*"', '""', lines[j].split("//")[0])
            depth += code.count("{") - code.count("}")
            if "{" in code:
                started = True
            if started and depth <= 0:
                break
            if not started and code.rstrip().endswith(";"):
                break
            j += 1
        if started:
            out.append((m.group(1), i + 1, j - i + 1))
        i += 1
    return out


def main(argv):
    report = "--report" in argv
    dirs = [a for a in argv if not a.startswith("--")]
    over, files, fns = [], [], []
    for d in dirs:
        for folder, _, names in os.walk(d):
            for n in names:
                if not n.endswith(".rs"):
                    continue
                path = os.path.join(folder, n)
                lines = production(open(path, encoding="utf-8").read().split("\n"))
                files.append((len(lines), path))
                if len(lines) > MAX_FILE:
                    over.append(f"{path}: {len(lines)} lines (at most {MAX_FILE})")
                for name, line, length in functions(lines):
                    fns.append((length, f"{path}:{line} {name}"))
                    if length > MAX_FN:
                        over.append(f"{path}:{line}: fn {name} is {length} lines (at most {MAX_FN})")
    if report:
        for n, p in sorted(files, reverse=True)[:10]:
            print(f"  {n:5} {p}")
        for n, p in sorted(fns, reverse=True)[:10]:
            print(f"  {n:5} {p}")
    for o in over:
        print(o)
    if over:
        print(f"sizes: {len(over)} over; split by concern")
        return 1
    print(f"sizes: no production file over {MAX_FILE} lines, no function over {MAX_FN}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
