"""Start-up from the release archive vs from a pip install: `kubectl-gitops --help`, side by side.

Builds this machine's archive (release/build.py, wheels cached), installs it the krew way
into a temporary KREW_ROOT, pip-installs the same wheels into a fresh virtual environment,
then runs both N times, interleaved so both see the same machine load, and prints the
archive size, the medians and their ratio (archive / pip).

    python bench/archive_startup.py [--runs 31] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "release")]
import build  # noqa: E402
import manifest  # noqa: E402
import yaml  # noqa: E402

import krew  # noqa: E402


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True, timeout=60)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    base_python = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        target = build.running_target()
        dist = tmp_path / "dist"
        started = time.perf_counter()
        archive = build.build(target, dist)
        build_seconds = time.perf_counter() - started
        rendered = yaml.safe_load(manifest.render(dist, only_built=True))
        link = krew.install(rendered, archive, tmp_path / "krew", os_=target.os, arch=target.arch)
        own = tmp_path / "own"
        wheel = build.project_wheel(own)
        venv = tmp_path / "venv"
        subprocess.run([str(base_python), "-m", "venv", str(venv)], check=True, timeout=120)
        python = f"{sys.version_info[0]}.{sys.version_info[1]}"
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--no-index", "--find-links", str(own),
                        "--find-links", str(build.download(target, python)), str(wheel)],
                       check=True, timeout=600, env=dict(os.environ, PIP_CONFIG_FILE=os.devnull))
        tools = tmp_path / "tools"
        tools.mkdir()
        (tools / "python3").symlink_to(base_python)
        env = {"PATH": f"{tools}:/usr/bin:/bin", "HOME": str(tmp_path), "LC_ALL": "C.UTF-8"}
        commands = {"archive (krew)": [str(link), "--help"], "pip install": [str(venv / "bin" / "kubectl-gitops"),
                                                                          "--help"]}
        for cmd in commands.values():  # warm the page cache and write __pycache__ on both sides
            timed(cmd, env)
            timed(cmd, env)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                samples[name].append(timed(cmd, env))
        installed = sum(p.stat().st_size for p in (tmp_path / "krew" / "store").rglob("*") if p.is_file())
        medians = {name: statistics.median(values) * 1000 for name, values in samples.items()}
        result = {
            "archive": archive.name,
            "archive_mb": round(archive.stat().st_size / 1e6, 1),
            "installed_mb": round(installed / 1e6, 1),
            "build_seconds_cached_wheels": round(build_seconds, 1),
            "runs": args.runs,
            "median_ms": {k: round(v, 1) for k, v in medians.items()},
            "ratio_archive_over_pip": round(medians["archive (krew)"] / medians["pip install"], 2),
        }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['archive']}: {result['archive_mb']} MB ({result['installed_mb']} MB installed), "
              f"built in {result['build_seconds_cached_wheels']} s")
        for name, value in result["median_ms"].items():
            print(f"kubectl-gitops --help, {name:16s} {value:7.1f} ms (median of {args.runs})")
        print(f"ratio archive / pip install: {result['ratio_archive_over_pip']}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
