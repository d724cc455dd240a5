"""Every object each ci scenario renders passes our validator: Kubernetes schemas and our CRD schemas, strict."""

from __future__ import annotations

import pytest
import yaml

from kubectl_gitops.adapters import helm, schema
from kubectl_gitops.core import manifests
from kubectl_gitops.core.resources import chart_dir

SCENARIOS = sorted(p.name for p in (chart_dir() / "ci").glob("*-values.yaml"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rendered_objects_are_valid(scenario, helm_bin):
    values = yaml.safe_load((chart_dir() / "ci" / scenario).read_text())
    result = helm.render(chart_dir(), release="gitops", namespace="argocd", values=values, kube_version="1.34",
                         helm=helm_bin)
    documents = list(manifests.parse_documents(result.manifest_text, source=scenario))
    if values.get("phase") == "operator":  # the Tekton operator chart alone, left out offline
        assert documents == [] and result.omitted_dependencies
        return
    assert documents, "the scenario renders nothing"
    registry = schema.SchemaRegistry(kubernetes_version="1.34")
    results = schema.validate(documents, registry=registry)
    bad = [(r.kind, r.name, r.status, [(p.path, p.message) for p in r.problems]) for r in results
           if r.status != "valid"]
    assert bad == []
    assert len(results) == len(documents)
