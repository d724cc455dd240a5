"""`kubectl gitops status` against `kubectl get applications.argoproj.io -A -o json`, side by side.

Both talk to the same Kubernetes API stand-in (tests/fakekube) holding a running platform
(tests/fakekube/platform.py) with the applications of examples/dev-prod-go, its two clusters
being two contexts of that one stand-in. Each command runs N times, interleaved so both see the
same machine load (bytecode caching on, as after ``pip install``); the script prints the
medians, their ratio (target: <= 3x), the requests each command sends, and where a status run
spends its import time (``python -X importtime``).

    python bench/status.py [--runs 31] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import yaml  # noqa: E402

import platforms  # noqa: E402
import tools  # noqa: E402
from fakekube import FakeKube  # noqa: E402
from fakekube.fixtures import make_kube_env  # noqa: E402
from fakekube.platform import install_platform  # noqa: E402

TARGET = 3.0
IMPORTS = ("click", "kubectl_gitops.cli.main", "kubectl_gitops.adapters.config_file", "kubectl_gitops.workflows.status",
           "kubernetes.client.configuration", "kubernetes.client.rest", "urllib3", "yaml")


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd, timeout=60)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode().strip()}")
    return elapsed


def setup(work: Path) -> tuple[FakeKube, dict[str, str], Path]:
    kube = FakeKube().start()
    path = kube.write_kubeconfig(work / "kubeconfig", context="dev")
    doc = yaml.safe_load(path.read_text())
    doc["contexts"].append({"name": "prod", "context": {"cluster": "dev", "user": "dev"}})
    path.write_text(yaml.safe_dump(doc))
    config = yaml.safe_load((ROOT / "examples" / "dev-prod-go" / "gitops.yaml").read_text())
    config["provider"] = "existing"
    config.pop("region", None)
    config.pop("registry", None)
    for name, cluster in config["clusters"].items():
        cluster.pop("node_pool", None)
        cluster["context"] = name
    config["gitops"]["repo"] = platforms.bare_repo(work / "gitops.git").as_uri()  # status reads its head
    (work / "gitops.yaml").write_text(yaml.safe_dump(config))
    apps = tuple((app, env) for app in config["applications"] for env in config["environments"])
    install_platform(kube, apps=apps)
    return kube, make_kube_env(path, work / "home"), work / "gitops.yaml"


def import_profile(plugin: str, env: dict[str, str], cwd: Path) -> dict[str, float]:
    """Cumulative import time (ms) of the modules that dominate a status run."""
    code = ("import sys; from kubectl_gitops.cli.main import main; "
            "sys.argv = ['kubectl-gitops', 'status', '-o', 'json']; main()")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=60)
    found: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
        if name in IMPORTS and cumulative.isdigit():
            found[name] = round(int(cumulative) / 1000, 1)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    kubectl = tools.binary("kubectl") or shutil.which("kubectl")
    plugin = str(Path(sys.executable).parent / "kubectl-gitops")
    if not kubectl or not Path(plugin).exists():
        sys.exit("needs kubectl (python tests/tools.py) and kubectl-gitops (pip install -e .)")
    with tempfile.TemporaryDirectory(prefix="bench-status-") as tmp:
        work = Path(tmp)
        kube, env, config = setup(work)
        try:
            env["PATH"] = f"{Path(plugin).parent}:{os.environ.get('PATH', '')}"
            env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: compiled modules are cached
            commands = {
                "kubectl get applications -A -o json": [str(kubectl), "get", "applications.argoproj.io", "-A",
                                                        "-o", "json"],
                "kubectl-gitops status -o json": [plugin, "--config", str(config), "status", "-o", "json"],
                "kubectl gitops status -o json": [str(kubectl), "gitops", "--config", str(config), "status", "-o",
                                                  "json"],
            }
            requests = {}
            for name, cmd in commands.items():  # warm caches (kubectl's discovery cache, the page cache)
                timed(cmd, env, work)
                kube.reset_counters()
                timed(cmd, env, work)
                requests[name] = len(kube.requests)
            samples: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(args.runs):
                for name, cmd in commands.items():
                    samples[name].append(timed(cmd, env, work))
            imports = import_profile(plugin, env, work)
        finally:
            kube.stop()
    medians = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    base = medians["kubectl get applications -A -o json"]
    result = {
        "runs": args.runs,
        "median_ms": {k: round(v, 1) for k, v in medians.items()},
        "requests": requests,
        "ratio_plugin_executable": round(medians["kubectl-gitops status -o json"] / base, 2),
        "ratio_through_kubectl": round(medians["kubectl gitops status -o json"] / base, 2),
        "target": TARGET,
        "import_ms": imports,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, value in result["median_ms"].items():
            print(f"{name:38s} {value:7.1f} ms (median of {args.runs}), {requests[name]} requests")
        print(f"ratio kubectl-gitops status / kubectl get: {result['ratio_plugin_executable']}x (target <= {TARGET}x)")
        print(f"ratio kubectl gitops status (dispatch) / kubectl get: {result['ratio_through_kubectl']}x")
        print("import time of a status run (cumulative ms): "
              + ", ".join(f"{k} {v}" for k, v in sorted(imports.items(), key=lambda kv: -kv[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
