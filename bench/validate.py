"""Benchmark: kubectl-gitops' validator engine against kubernetes-validate's validate().

Generates plain Deployments, Services and ConfigMaps into multi-document YAML files in a
temporary directory, then times, in this one process on one core:

- ours: ``load_documents`` + ``validate`` over the directory (YAML parsing included),
  both with a fresh ``SchemaRegistry`` per run (schemas loaded and compiled each time) and
  with a registry reused across runs;
- baseline: ``yaml.safe_load_all`` over the same files plus ``kubernetes_validate.validate()``
  per object. That call rebuilds everything each time, so only a sample of the objects is
  validated and the per-object time is extrapolated (the output says so).

Each figure is the median of several runs. Run ``python bench/validate.py [--json]``.
This is a measurement, not a test: it asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugins"))

from kubectl_gitops.adapters.schema import SchemaRegistry, validate  # noqa: E402
from kubectl_gitops.core.manifests import load_documents  # noqa: E402


def _deployment(i: int) -> dict:
    labels = {"app": f"app-{i}", "tier": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"app-{i}", "namespace": "bench", "labels": labels},
        "spec": {
            "replicas": 1 + i % 3,
            "selector": {"matchLabels": labels},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": labels, "annotations": {"bench/index": str(i)}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": f"registry.example.com/app:{i}",
                            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                            "env": [{"name": "INDEX", "value": str(i)}, {"name": "MODE", "value": "bench"}],
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "128Mi"},
                                "limits": {"cpu": 1, "memory": "256Mi"},
                            },
                            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                        }
                    ],
                    "securityContext": {"runAsNonRoot": True},
                },
            },
        },
    }


def _service(i: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"app-{i}", "namespace": "bench"},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app": f"app-{i}"},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def _configmap(i: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"app-{i}-config", "namespace": "bench"},
        "data": {"LOG_LEVEL": "info", "INDEX": str(i), "config.yaml": f"listen: 8080\nindex: {i}\n"},
    }


def generate(directory: Path, *, per_kind: int, per_file: int = 30) -> list[Path]:
    """Write ``3 * per_kind`` objects into YAML files of ``per_file`` documents each."""
    objects = []
    for i in range(per_kind):
        objects += [_deployment(i), _service(i), _configmap(i)]
    files = []
    for start in range(0, len(objects), per_file):
        path = directory / f"objects-{start // per_file:04d}.yaml"
        path.write_text(yaml.safe_dump_all(objects[start : start + per_file], sort_keys=False))
        files.append(path)
    return files


def _median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--objects-per-kind", type=int, default=400, help="objects of each kind (default 400)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement (median taken)")
    parser.add_argument("--baseline-sample", type=int, default=150, help="objects the baseline validates")
    parser.add_argument("--kubernetes-version", default="1.33")
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    args = parser.parse_args(argv)

    import kubernetes_validate

    with tempfile.TemporaryDirectory(prefix="gitops-bench-") as tmp:
        directory = Path(tmp)
        files = generate(directory, per_kind=args.objects_per_kind)
        count = 3 * args.objects_per_kind

        def ours_cold() -> None:
            registry = SchemaRegistry(kubernetes_version=args.kubernetes_version, include_builtin_crds=False)
            results = validate(load_documents([str(directory)]), registry=registry)
            if len(results) != count or any(r.status != "valid" for r in results):
                raise SystemExit("bench objects did not all validate; the engine or the generator is wrong")

        warm_registry = SchemaRegistry(kubernetes_version=args.kubernetes_version, include_builtin_crds=False)

        def ours_warm() -> None:
            validate(load_documents([str(directory)]), registry=warm_registry)

        ours_warm()
        cold = _median_seconds(ours_cold, args.repeats)
        warm = _median_seconds(ours_warm, args.repeats)

        objects = [obj for f in files for obj in yaml.safe_load_all(f.read_text())]
        parse = _median_seconds(
            lambda: [list(yaml.safe_load_all(f.read_text())) for f in files], args.repeats
        )
        sample = objects[: max(3, min(args.baseline_sample, count))]

        def baseline_sample() -> None:
            for obj in sample:
                kubernetes_validate.validate(obj, args.kubernetes_version, strict=True)

        per_object = _median_seconds(baseline_sample, max(1, args.repeats // 2)) / len(sample)
        baseline = parse + per_object * count

    figures = {
        "objects": count,
        "files": len(files),
        "kubernetes_version": args.kubernetes_version,
        "ours_cold_objects_per_s": round(count / cold),
        "ours_warm_objects_per_s": round(count / warm),
        "baseline_objects_per_s": round(count / baseline),
        "baseline_sampled_objects": len(sample),
        "baseline_extrapolated": len(sample) < count,
        "ratio_cold": round(baseline / cold, 1),
        "ratio_warm": round(baseline / warm, 1),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(
        f"{count} objects (Deployments, Services, ConfigMaps) in {len(files)} files, Kubernetes "
        f"{args.kubernetes_version}, strict, median of {args.repeats} runs, one process"
    )
    print(
        f"  ours, fresh registry per run (schemas loaded): {figures['ours_cold_objects_per_s']:>8} objects/s"
    )
    print(
        f"  ours, registry reused:                         {figures['ours_warm_objects_per_s']:>8} objects/s"
    )
    note = (
        f" (validate() timed on {len(sample)} objects, extrapolated)"
        if figures["baseline_extrapolated"]
        else ""
    )
    print(
        f"  kubernetes_validate.validate():  {' ' * 14}{figures['baseline_objects_per_s']:>8} objects/s{note}"
    )
    print(f"  ratio: {figures['ratio_cold']}x faster (fresh registry), {figures['ratio_warm']}x (reused)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
