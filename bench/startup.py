"""Start-up time: `kubectl gitops --help` against `kubectl version --client`, side by side.

Runs each command N times, interleaved so both see the same machine load, and
prints the medians and their ratio (target: <= 1.5x). Two views of our side:
the plugin executable alone, and through real kubectl plugin dispatch.

    python bench/startup.py [--runs 31] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import tools  # noqa: E402


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True, timeout=60)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    kubectl = tools.binary("kubectl") or shutil.which("kubectl")
    plugin = shutil.which("kubectl-gitops") or str(Path(sys.executable).parent / "kubectl-gitops")
    if not kubectl or not Path(plugin).exists():
        sys.exit("needs kubectl (python tests/tools.py) and kubectl-gitops (pip install .) on PATH")
    env = dict(os.environ, PATH=f"{Path(plugin).parent}:{os.environ.get('PATH', '')}")
    commands = {
        "kubectl version --client": [str(kubectl), "version", "--client"],
        "kubectl-gitops --help": [plugin, "--help"],
        "kubectl gitops --help": [str(kubectl), "gitops", "--help"],
    }
    for cmd in commands.values():  # warm the page cache
        timed(cmd, env)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            samples[name].append(timed(cmd, env))
    medians = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    base = medians["kubectl version --client"]
    result = {
        "runs": args.runs,
        "median_ms": {k: round(v, 1) for k, v in medians.items()},
        "ratio_plugin_executable": round(medians["kubectl-gitops --help"] / base, 2),
        "ratio_through_kubectl": round(medians["kubectl gitops --help"] / base, 2),
        "target": 1.5,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, value in result["median_ms"].items():
            print(f"{name:28s} {value:7.1f} ms (median of {args.runs})")
        print(f"ratio kubectl-gitops --help / kubectl version --client: {result['ratio_plugin_executable']}x")
        print(f"ratio kubectl gitops --help (dispatch) / kubectl version --client: {result['ratio_through_kubectl']}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
