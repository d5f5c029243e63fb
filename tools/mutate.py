"""Mutation testing of src/aelpn: apply each semantic mutation of ``tools/mutations.py`` to a scratch copy of
the source (never the working tree), run the fast tests that should catch it, and report killed / survived and
the score = killed / (killed + survived). A mutation whose snippet no longer matches the source is STALE (an
error: update the catalogue). Run before resolving work on models, training or solvers; not part of CI.

    python tools/mutate.py                      # the whole catalogue
    python tools/mutate.py --only poisson pnp   # mutations whose name or area is listed
    python tools/mutate.py --list               # the catalogue

Exit status: 0 when every mutation was killed, 1 when some survived, 2 on stale mutations or a failing
baseline."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutations import CATALOGUE, Mutation  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "aelpn"


class Stale(Exception):
    """A mutation's snippet does not occur the expected number of times in the current source."""


def apply(mutation: Mutation, package: Path) -> None:
    """Apply every edit of ``mutation`` to the package copy at ``package``; raise Stale when one cannot."""
    for edit in mutation.edits:
        path = package / edit.path
        if not path.is_file():
            raise Stale(f"{mutation.name}: src/aelpn/{edit.path} no longer exists")
        text = path.read_text()
        found = text.count(edit.old)
        if found != edit.count:
            raise Stale(f"{mutation.name}: src/aelpn/{edit.path}: snippet found {found} times, expected "
                        f"{edit.count}: {edit.old.strip()[:70]!r}")
        path.write_text(text.replace(edit.old, edit.new))


def scratch_package(root: Path) -> Path:
    """A fresh copy of src/aelpn under ``root``/src (links resolved, so the schema file is a real copy)."""
    target = root / "src" / "aelpn"
    shutil.rmtree(root / "src", ignore_errors=True)
    shutil.copytree(PACKAGE, target, symlinks=False, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def run_tests(src: Path, tests: tuple[str, ...], timeout: float) -> str:
    """'passed', 'failed' or 'timeout' for the fast tier of ``tests`` importing aelpn from ``src``."""
    env = dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not slow and not slurm",
           *tests]
    try:
        out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout"
    if out.returncode == 0:
        return "passed"
    if out.returncode == 1:
        return "failed"
    raise RuntimeError(f"pytest exited {out.returncode} on {' '.join(tests)}:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="mutation names or areas to run")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per test run (a timeout kills)")
    parser.add_argument("--list", action="store_true", help="print the catalogue and exit")
    args = parser.parse_args(argv)

    chosen = [m for m in CATALOGUE if not args.only or m.name in args.only or m.area in args.only]
    if args.list or not chosen:
        for m in chosen or CATALOGUE:
            print(f"{m.area:10s} {m.name:30s} {m.description}  [{', '.join(m.tests)}]")
        return 0 if chosen else 2

    with tempfile.TemporaryDirectory(prefix="aelpn-mutate-") as tmp:
        root = Path(tmp)
        baseline_tests = tuple(sorted({t for m in chosen for t in m.tests}))
        print(f"baseline: {' '.join(baseline_tests)}", flush=True)
        scratch_package(root)
        baseline = run_tests(root / "src", baseline_tests, args.timeout * 3)
        if baseline != "passed":
            print(f"baseline {baseline}: the unmutated source must pass these tests first", flush=True)
            return 2

        results: dict[str, list[str]] = {"killed": [], "survived": [], "stale": []}
        for i, mutation in enumerate(chosen, 1):
            package = scratch_package(root)
            tic = time.monotonic()
            try:
                apply(mutation, package)
            except Stale as err:
                results["stale"].append(mutation.name)
                print(f"[{i}/{len(chosen)}] STALE    {err}", flush=True)
                continue
            outcome = run_tests(root / "src", mutation.tests, args.timeout)
            verdict = "survived" if outcome == "passed" else "killed"
            results[verdict].append(mutation.name)
            note = " (timeout)" if outcome == "timeout" else ""
            print(f"[{i}/{len(chosen)}] {verdict.upper():8s} {mutation.area:10s} {mutation.name}{note} "
                  f"({time.monotonic() - tic:.0f} s)", flush=True)

    judged = len(results["killed"]) + len(results["survived"])
    score = len(results["killed"]) / judged if judged else float("nan")
    print(f"\nmutation score {len(results['killed'])}/{judged} = {score:.0%} killed")
    if results["survived"]:
        print("survived: " + ", ".join(results["survived"]))
    if results["stale"]:
        print("STALE (update tools/mutations.py): " + ", ".join(results["stale"]))
        return 2
    return 1 if results["survived"] else 0


if __name__ == "__main__":
    sys.exit(main())
