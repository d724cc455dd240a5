"""A no-op `kubectl gitops bootstrap` re-run: wall time, requests, writes (target: 0 writes).

Bootstraps the proof-of-concept platform (provider existing) once against the Kubernetes API
stand-in (tests/fakekube) with the platform's controllers played by tests/fakeplatform.py and the
stand-in dependency charts of tests/fakecharts.py, then re-runs it N times on the up-to-date
platform. For each re-run: wall time, requests to the API server by verb, writes, and whether any
helm release revision moved. Side by side, in the same run: the first (installing) bootstrap.

    python bench/bootstrap.py [--runs 5] [--json]

Needs the pinned helm and kubectl (python tests/tools.py) and ../shared/reference (or
GITOPS_SHARED_REFERENCE) for the upstream CRDs the stand-in charts carry.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import fakecharts  # noqa: E402
import platforms  # noqa: E402
import tools  # noqa: E402
from fakekube import FakeKube  # noqa: E402
from fakekube.fixtures import make_kube_env  # noqa: E402
from fakeplatform import FakePlatform  # noqa: E402


def _revisions(env: dict[str, str]) -> dict[str, int]:
    out = subprocess.run(["helm", "list", "-n", "argocd", "-o", "json"], capture_output=True, text=True, env=env,
                         timeout=60, check=True)
    return {r["name"]: int(r["revision"]) for r in json.loads(out.stdout)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    reference = Path(os.environ.get("GITOPS_SHARED_REFERENCE", ROOT.parent / "shared" / "reference"))
    helm, kubectl = tools.binary("helm"), tools.binary("kubectl")
    plugin = Path(sys.executable).parent / "kubectl-gitops"
    if not (helm and kubectl and plugin.exists() and reference.is_dir()):
        sys.exit("needs helm and kubectl (python tests/tools.py), kubectl-gitops (pip install -e .) and "
                 "the shared reference data")
    with tempfile.TemporaryDirectory(prefix="bench-bootstrap-") as tmp_name:
        tmp = Path(tmp_name)
        kube = FakeKube().start()
        try:
            kube.write_kubeconfig(tmp / "kubeconfig")
            controllers = FakePlatform(kube, reference).install()
            chart = fakecharts.chart_with_dependencies(tmp / "chart", reference)
            bin_dir = tmp / "bin"
            bin_dir.mkdir()
            for name, target in (("helm", helm), ("kubectl", kubectl), ("kubectl-gitops", plugin)):
                (bin_dir / name).symlink_to(target)
            env = make_kube_env(kube.kubeconfig, tmp / "home")
            env.update(PATH=f"{bin_dir}:/usr/bin:/bin", LC_ALL="C.UTF-8")
            config = platforms.write_existing(tmp / "gitops.yaml")
            cmd = ["kubectl", "gitops", "bootstrap", "--config", str(config), "--chart", str(chart), "-q"]

            def run() -> tuple[float, dict[str, int], int]:
                kube.reset_counters()
                start = time.perf_counter()
                proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
                elapsed = time.perf_counter() - start
                if proc.returncode != 0:
                    sys.exit(f"bootstrap failed:\n{proc.stderr}")
                verbs = collections.Counter(r.verb for r in kube.requests)
                return elapsed, dict(verbs), kube.writes

            first_time, first_verbs, first_writes = run()
            revisions = _revisions(env)
            reruns = [run() for _ in range(args.runs)]
            moved = _revisions(env) != revisions
            if controllers.errors:
                sys.exit(f"stand-in controllers failed: {controllers.errors}")
        finally:
            kube.stop()
    times = [r[0] for r in reruns]
    result = {
        "runs": args.runs,
        "install": {"seconds": round(first_time, 2), "requests": sum(first_verbs.values()), "writes": first_writes},
        "noop_rerun": {
            "median_seconds": round(statistics.median(times), 2),
            "requests": sum(reruns[-1][1].values()),
            "requests_by_verb": reruns[-1][1],
            "writes_max": max(r[2] for r in reruns),
            "helm_revisions_moved": moved,
        },
        "target_writes": 0,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        rerun = result["noop_rerun"]
        print(f"install:      {result['install']['seconds']:6.2f} s, {result['install']['requests']} requests, "
              f"{result['install']['writes']} writes")
        print(f"no-op re-run: {rerun['median_seconds']:6.2f} s (median of {args.runs}), {rerun['requests']} requests "
              f"({', '.join(f'{k} {v}' for k, v in sorted(rerun['requests_by_verb'].items()))}), "
              f"{rerun['writes_max']} writes, helm revisions moved: {'yes' if moved else 'no'}")
        print(f"target: {result['target_writes']} writes -> {'met' if rerun['writes_max'] == 0 else 'MISSED'}")
    return 0 if result["noop_rerun"]["writes_max"] == 0 and not moved else 1


if __name__ == "__main__":
    sys.exit(main())
