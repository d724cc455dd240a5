"""Phase ingress of the umbrella chart: a workload cluster (e.g. prod) gets the ingress-nginx controller
on its own load balancer, and nothing else of the platform."""

from __future__ import annotations

import pytest

import fakecharts
from kubectl_gitops.adapters import config_file
from kubectl_gitops.adapters import helm as helm_adapter
from kubectl_gitops.core import values
from kubectl_gitops.core.errors import HelmError


@pytest.fixture(scope="module")
def chart(tmp_path_factory, shared_reference):
    return fakecharts.chart_with_dependencies(tmp_path_factory.mktemp("chart"), shared_reference)


@pytest.fixture(scope="module")
def config(repo_root):
    return config_file.load(repo_root / "examples/dev-prod-go/gitops.yaml")


def test_ingress_phase_renders_only_the_controller_on_the_cluster_s_load_balancer(chart, config, any_helm):
    release = values.ingress_release(config)
    data = values.chart_values(config, phase="ingress", load_balancer_id="lb-prod", cluster="prod")
    objects = helm_adapter.render(chart, release=release.name, namespace=release.namespace, values=data,
                                  helm=str(any_helm)).objects()
    assert {o["metadata"].get("labels", {}).get("app.kubernetes.io/name") for o in objects} == {"ingress-nginx"}
    service = next(o for o in objects if o["kind"] == "Service" and o["spec"].get("type") == "LoadBalancer")
    assert service["metadata"]["annotations"]["kubernetes.digitalocean.com/load-balancer-id"] == "lb-prod"
    assert service["metadata"]["annotations"]["service.beta.kubernetes.io/do-loadbalancer-name"] == "shop-prod-ingress"


@pytest.mark.parametrize("dependency", ["argo-cd", "tekton-operator"])
def test_ingress_phase_refuses_the_platform_s_other_dependencies(chart, config, helm_bin, dependency):
    data = values.chart_values(config, phase="ingress", cluster="prod")
    data[dependency] = {"enabled": True}
    with pytest.raises(HelmError, match=dependency):
        helm_adapter.render(chart, release="shop-ingress", namespace="ingress-nginx", values=data, helm=str(helm_bin))
