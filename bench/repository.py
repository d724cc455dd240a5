"""The repository phase of `kubectl gitops bootstrap` on a no-op re-run: wall time and commits
(target: under 1 s and 0 commits).

Writes the dev-prod-go platform (two apps, two environments) into a bare repository once, then
runs the phase again N times on the up-to-date branch: preflight (`git ls-remote`), the layout,
a shallow clone, the structural comparison, no commit. Side by side, in the same run: the first
(committing) write, and a bare `git ls-remote` + `git clone --depth 1` of the same branch, which is
the floor any repository check pays.

    python bench/repository.py [--runs 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import platforms  # noqa: E402
from kubectl_gitops.adapters import config_file  # noqa: E402
from kubectl_gitops.core import values  # noqa: E402
from kubectl_gitops.core.progress import Reporter  # noqa: E402
from kubectl_gitops.core.resources import chart_dir  # noqa: E402
from kubectl_gitops.workflows import repository  # noqa: E402


def _phase(config, environ) -> tuple[float, bool]:
    start = time.perf_counter()
    by_phase = {r.phase: values.chart_values(config, phase=r.phase, repo_url=repository.argocd_url(config))
                for r in values.releases(config)}
    plan = repository.layout(config, chart_dir(), by_phase, values.chart_version_overrides(config))
    access = repository.check(config, repository.remote(config, None, environ), Reporter())
    result = repository.write(config, access, plan, Reporter())
    return time.perf_counter() - start, result.committed


def _floor(repo: Path, work: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["git", "ls-remote", "--heads", repo.as_uri()], check=True, capture_output=True)
    subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", "main", repo.as_uri(), str(work)],
                   check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-repository-") as tmp_name:
        tmp = Path(tmp_name)
        data = platforms.existing("dev-prod-go")
        repo = platforms.bare_repo(tmp / "gitops.git")
        data["gitops"]["repo"] = repo.as_uri()
        import yaml

        (tmp / "gitops.yaml").write_text(yaml.safe_dump(data))
        config = config_file.load(str(tmp / "gitops.yaml"))
        environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp)}
        first, committed = _phase(config, environ)
        assert committed
        reruns, floors, commits = [], [], 0
        for i in range(args.runs):
            seconds, changed = _phase(config, environ)
            reruns.append(seconds)
            commits += changed
            floors.append(_floor(repo, tmp / f"floor-{i}"))
        count = subprocess.run(["git", "--git-dir", str(repo), "rev-list", "--count", "main"], check=True,
                               capture_output=True, text=True).stdout.strip()
    result = {
        "first_write_s": round(first, 3),
        "noop_rerun_median_s": round(statistics.median(reruns), 3),
        "noop_rerun_max_s": round(max(reruns), 3),
        "noop_commits": commits,
        "commits_on_branch": int(count),
        "git_floor_median_s": round(statistics.median(floors), 3),
        "ratio_to_floor": round(statistics.median(reruns) / statistics.median(floors), 2),
        "runs": args.runs,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"first write (commits the layout): {result['first_write_s']:.3f} s")
        print(f"no-op re-run: median {result['noop_rerun_median_s']:.3f} s, max {result['noop_rerun_max_s']:.3f} s, "
              f"{commits} commits (branch has {count})")
        print(f"git ls-remote + shallow clone alone: median {result['git_floor_median_s']:.3f} s; "
              f"re-run = {result['ratio_to_floor']}x that")
    return 0 if commits == 0 and statistics.median(reruns) < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
