"""Benchmark: the infrastructure phase against the same steps run one after another.

The DigitalOcean stand-in runs with scripted latencies (wall clock): a cluster takes 6 s to be
running, a load balancer 2 s to be active with an IP, creating the registry takes 0.2 s and each
DNS record 0.1 s (all multiplied by ``--scale``). In one process, on fresh accounts, it times:

- concurrent: ``workflows.infra.provision`` as bootstrap runs it;
- sequential: the same requests through the same adapter, one step after another in the
  original proof of concept's order (registry, each cluster and its wait, each load balancer
  and its wait, the DNS records, the registry integration, credentials, kubeconfig).

It reports both times, the longest single step (scripted, and as measured in the sequential run)
and each time's ratio to it. Target: concurrent <= 1.2 x the longest step. Every request of both
runs is checked against DigitalOcean's OpenAPI spec; a violation aborts the benchmark.

Run ``python bench/infra.py [--scale 0.25] [--example dev-prod-go|proof-of-concept] [--json]``.
This is a measurement, not a test: it asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT / "tests"))

from fakedo import FakeDigitalOcean, load_spec  # noqa: E402
from kubectl_gitops.adapters import config_file  # noqa: E402
from kubectl_gitops.adapters.digitalocean import DigitalOcean  # noqa: E402
from kubectl_gitops.core import infra as model  # noqa: E402
from kubectl_gitops.core import kubeconfig as kubecfg  # noqa: E402
from kubectl_gitops.core.progress import Reporter  # noqa: E402
from kubectl_gitops.core.secrets import Secret  # noqa: E402
from kubectl_gitops.workflows import infra  # noqa: E402

LATENCIES = {"cluster": 6.0, "load_balancer": 2.0, "registry": 0.2, "dns_record": 0.1}
POLL = 0.02  # seconds between two looks at a resource being made ready (both runs)


def _spec_path() -> Path:
    base = Path(os.environ.get("GITOPS_SHARED_REFERENCE", ROOT.parent / "shared" / "reference"))
    return base / "digitalocean-openapi.json"


def _account(spec, latencies: dict[str, float], domain: str) -> FakeDigitalOcean:
    fake = FakeDigitalOcean(spec, latencies=latencies).start()
    fake.seed_domain(domain)
    return fake


def _wait(fetch, ready) -> None:
    while not ready(fetch()):
        time.sleep(POLL)


def concurrent(config, fake: FakeDigitalOcean, kubeconfig: Path) -> float:
    api = DigitalOcean(Secret(fake.token))
    started = time.perf_counter()
    infra.provision(config, token=Secret(fake.token), kubeconfig=str(kubeconfig), timeout=600,
                    reporter=Reporter(), api=api, poll_interval=POLL)
    return time.perf_counter() - started


def sequential(config, fake: FakeDigitalOcean, kubeconfig: Path) -> tuple[float, float]:
    """The same steps one after another; returns (total, longest single step) in seconds."""
    api = DigitalOcean(Secret(fake.token))
    steps: list[float] = []
    started = time.perf_counter()

    def step(fn):
        t0 = time.perf_counter()
        result = fn()
        steps.append(time.perf_counter() - t0)
        return result

    plan = infra.plan(config, token=Secret(fake.token), reporter=Reporter(), kubeconfig=str(kubeconfig), api=api)
    decisions = plan.decisions
    tag = model.platform_tag(config)
    if api.tag_count(tag) is None:
        api.create_tag(tag)
    reg = next(d for d in decisions if d.row.kind == "registry")
    step(lambda: api.create_registry(reg.desired.name, reg.desired.tier, reg.desired.region))
    clusters = {}
    for d in (d for d in decisions if d.row.kind == "cluster"):
        def make_cluster(d=d):
            state = api.create_cluster(d.desired)
            _wait(lambda: api.cluster(state.id), lambda c: c.running)
            return api.cluster(state.id)
        clusters[d.key] = step(make_cluster)
    lbs = {}
    for d in (d for d in decisions if d.row.kind == "load_balancer"):
        def make_lb(d=d):
            lb = api.create_load_balancer(d.desired)
            _wait(lambda: api.load_balancer(lb.id), lambda x: x.ready)
            return api.load_balancer(lb.id)
        lbs[d.key] = step(make_lb)
    for d in (d for d in decisions if d.row.kind == "dns_record"):
        step(lambda d=d: api.create_a_record(config.domain, d.desired.name, lbs[d.key].ip))
    step(lambda: api.add_registry_to_clusters([c.id for c in clusters.values()]))
    step(lambda: api.docker_credentials(read_write=True, expiry_seconds=config.registry.credentials_expiry_seconds))
    creds = [step(lambda k=k, c=c: api.cluster_credentials(c, context=model.context_name(config, k),
                                                          platform=config.name, key=k))
             for k, c in clusters.items()]
    _, doc = infra.read_kubeconfig(kubeconfig)
    infra.write_kubeconfig(kubeconfig, kubecfg.merge(doc, creds), Reporter())
    return time.perf_counter() - started, max(steps)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every scripted latency (default 1)")
    parser.add_argument("--example", default="dev-prod-go", choices=["dev-prod-go", "proof-of-concept"])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    spec_path = _spec_path()
    if not spec_path.is_file():
        print(f"DigitalOcean spec not found at {spec_path} (set GITOPS_SHARED_REFERENCE)", file=sys.stderr)
        return 2
    spec = load_spec(spec_path)
    config = config_file.load(ROOT / "examples" / args.example / "gitops.yaml")
    latencies = {k: v * args.scale for k, v in LATENCIES.items()}
    longest_scripted = max(latencies.values())
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        fake = _account(spec, latencies, config.domain)
        try:
            figures["concurrent"] = concurrent(config, fake, Path(tmp) / "concurrent-kubeconfig")
            requests_concurrent = len(fake.log)
        finally:
            fake.stop()
        violations = fake.take_violations()
        fake = _account(spec, latencies, config.domain)
        try:
            figures["sequential"], longest_measured = sequential(config, fake, Path(tmp) / "sequential-kubeconfig")
            requests_sequential = len(fake.log)
        finally:
            fake.stop()
        violations += fake.take_violations()
    if violations:
        print("requests the DigitalOcean spec does not allow:\n" + "\n".join(violations), file=sys.stderr)
        return 1
    clusters = len(model.used_clusters(config))
    records = len(model.dns_hosts(config))
    result = {
        "example": args.example,
        "clusters": clusters,
        "dns_records": records,
        "latencies_s": latencies,
        "concurrent_s": round(figures["concurrent"], 3),
        "sequential_s": round(figures["sequential"], 3),
        "longest_step_scripted_s": longest_scripted,
        "longest_step_measured_s": round(longest_measured, 3),
        "concurrent_vs_longest_step": round(figures["concurrent"] / longest_measured, 3),
        "sequential_vs_longest_step": round(figures["sequential"] / longest_measured, 3),
        "speedup": round(figures["sequential"] / figures["concurrent"], 2),
        "requests": {"concurrent": requests_concurrent, "sequential": requests_sequential},
        "target": "concurrent <= 1.2 x the longest step",
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"example {args.example}: {clusters} cluster(s), {clusters} load balancer(s), {records} DNS records")
    print("scripted latencies: " + ", ".join(f"{k} {v:g} s" for k, v in latencies.items()))
    print(f"longest single step: {longest_measured:.2f} s measured ({longest_scripted:g} s scripted)")
    print(f"concurrent (provision):  {figures['concurrent']:6.2f} s = {result['concurrent_vs_longest_step']:.2f}x "
          f"the longest step ({requests_concurrent} requests)")
    print(f"sequential (same steps): {figures['sequential']:6.2f} s = {result['sequential_vs_longest_step']:.2f}x "
          f"the longest step ({requests_sequential} requests)")
    print(f"speed-up: {result['speedup']:.2f}x; target: concurrent <= 1.2x the longest step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
