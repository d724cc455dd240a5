"""The built wheel carries the chart, schemas and examples, and works outside the source tree."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory, repo_root):
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "-q", "-w", str(out), str(repo_root)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (path,) = out.glob("kubectl_gitops-*.whl")
    return path


def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ["kubectl_gitops/_data/charts/gitops-platform/Chart.yaml",
                   "kubectl_gitops/_data/charts/gitops-platform/values.schema.json",
                   "kubectl_gitops/_data/schemas/gitops.schema.json",
                   "kubectl_gitops/_data/schemas/crds/argoproj.io/application_v1alpha1.json",
                   "kubectl_gitops/_data/examples/proof-of-concept/gitops.yaml"]:
        assert needed in names, needed
    from kubectl_gitops import __version__

    entry_points = zipfile.ZipFile(wheel).read(f"kubectl_gitops-{__version__}.dist-info/entry_points.txt").decode()
    scripts = sorted(line.split(" = ")[0] for line in entry_points.split("[console_scripts]")[1].strip().splitlines())
    # one plugin executable that dispatches every subcommand: no kubectl-gitops-<command> copies
    assert scripts == ["argocd-gitops", "kubectl-gitops", "kubectl_complete-gitops"]


def test_installed_wheel_validates_from_its_own_data(wheel, tmp_path, helm_bin):
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    example = target / "kubectl_gitops/_data/examples/proof-of-concept/gitops.yaml"
    code = "import sys; from kubectl_gitops.cli.main import main; main(sys.argv[1:])"
    env = dict(os.environ, PYTHONPATH=str(target), PYTHONSAFEPATH="1")
    proc = subprocess.run([sys.executable, "-c", code, "validate", "--config", str(example), "--helm", str(helm_bin),
                           "-o", "json"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    import json

    data = json.loads(proc.stdout)
    assert data["releases"][0]["release"] == "bl-k8s-platform"
    check = subprocess.run([sys.executable, "-c", "import kubectl_gitops; print(kubectl_gitops.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert check.stdout.strip().startswith(str(target))
