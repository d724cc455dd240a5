"""Following a build: requests sent while `kubectl gitops build -f` follows a three-task run, and the delay
from a log line written in the stand-in to the same line handed to the CLI's output (target: a handful of
requests plus one per log stream, and under 200 ms median).

Runs the build workflow's follower (workflows.build.follow, the code behind `build -f` and `logs -f`)
against the Kubernetes API stand-in with the Tekton stand-in playing a Pipeline of three tasks (clone:
one step, test: one step, build: two steps; four log streams), whose steps write timestamped lines at a
steady pace. Side by side in the same run: the requests `kubectl get pipelinerun -w` and one `kubectl
logs -f` per step would make are counted as the floor.

    python bench/build.py [--lines 20] [--json]
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from fakekube import FakeKube  # noqa: E402
from faketekton import FakeTekton  # noqa: E402
from kubectl_gitops.adapters import kube  # noqa: E402
from kubectl_gitops.core.progress import Reporter  # noqa: E402
from kubectl_gitops.workflows import build  # noqa: E402

NS = "ci"
PIPELINE = {
    "apiVersion": "tekton.dev/v1", "kind": "Pipeline", "metadata": {"name": "bench", "namespace": NS},
    "spec": {"results": [{"name": "IMAGE_DIGEST", "value": "$(tasks.build.results.IMAGE_DIGEST)"}],
             "tasks": [
                 {"name": "clone", "taskSpec": {"steps": [{"name": "clone", "image": "git"}]}},
                 {"name": "test", "runAfter": ["clone"], "taskSpec": {"steps": [{"name": "unit", "image": "go"}]}},
                 {"name": "build", "runAfter": ["test"], "taskSpec": {
                     "results": [{"name": "IMAGE_DIGEST"}],
                     "steps": [{"name": "build-and-push", "image": "kaniko"}, {"name": "report", "image": "sh"}]}},
             ]},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20, help="log lines per step")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import os

    reference = Path(os.environ.get("GITOPS_SHARED_REFERENCE", ROOT.parent / "shared" / "reference"))
    if not reference.is_dir():
        sys.exit("needs ../shared/reference (or GITOPS_SHARED_REFERENCE) for the Tekton CRDs")
    written: dict[str, float] = {}

    def step(context):
        for i in range(args.lines):
            key = f"{context.task}/{context.step}/{i}"
            written[key] = time.perf_counter()
            context.log(f"line {key}")
            time.sleep(0.02)
        return [], 0, ({"IMAGE_DIGEST": "sha256:" + "ab" * 32} if context.step == "report" else {})

    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp_name:
        tmp = Path(tmp_name)
        fake = FakeKube().start()
        tekton = FakeTekton(fake, reference).install()
        try:
            fake.write_kubeconfig(tmp / "kubeconfig")
            fake.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
            fake.create(PIPELINE)
            for task, name in (("clone", "clone"), ("test", "unit"), ("build", "build-and-push"),
                               ("build", "report")):
                tekton.script(task, name, run=step)
            conn = kube.connect(kubeconfig=str(tmp / "kubeconfig"))
            created = conn.create({"apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
                                   "metadata": {"generateName": "bench-", "namespace": NS},
                                   "spec": {"pipelineRef": {"name": "bench"}}})
            name = created["metadata"]["name"]
            fake.reset_counters()
            delays: list[float] = []

            def on_log(line: str) -> None:
                key = line.rsplit(" ", 1)[-1]
                if key in written:
                    delays.append(time.perf_counter() - written[key])

            started = time.perf_counter()
            result = build.follow(conn, name, "bench", image="bench", reporter=Reporter(),
                                  deadline=time.monotonic() + 300, on_log=on_log)
            wall = time.perf_counter() - started
            with fake._lock:
                requests = list(fake.requests)
        finally:
            tekton.close()
            fake.stop()
    by_kind = collections.Counter()
    for r in requests:
        if r.query.get("watch") in ("true", "1", ["true"]):
            by_kind["watch"] += 1
        elif r.path.endswith("/log"):
            by_kind["log follow" if r.query.get("follow") else "log"] += 1
        else:
            by_kind[f"{r.method} {r.verb}"] += 1
    streams = 4
    report = {
        "status": result.status,
        "requests": len(requests),
        "requests_by_kind": dict(by_kind),
        "log_streams": streams,
        "requests_beyond_one_per_stream": len(requests) - streams,
        "lines_followed": len(delays),
        "delay_median_ms": round(statistics.median(delays) * 1000, 1) if delays else None,
        "delay_p95_ms": round(sorted(delays)[int(len(delays) * 0.95) - 1] * 1000, 1) if delays else None,
        "wall_s": round(wall, 2),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"run {result.status} in {report['wall_s']} s; {report['lines_followed']} lines followed")
        print(f"requests while following: {report['requests']} ({report['requests_beyond_one_per_stream']} beyond "
              f"one per log stream): {dict(by_kind)}")
        print(f"log line written -> handed to output: median {report['delay_median_ms']} ms, "
              f"p95 {report['delay_p95_ms']} ms (target < 200 ms median)")
    return 0 if delays and statistics.median(delays) < 0.2 else 1


if __name__ == "__main__":
    sys.exit(main())
