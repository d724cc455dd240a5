"""The helm adapter: finding helm and gating its version, errors carrying helm's message,
offline rendering that reports the dependencies it left out."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from kubectl_gitops.adapters import helm as helm_adapter
from kubectl_gitops.core.errors import HelmError, ToolError

CHART = Path(__file__).resolve().parent.parent / "charts" / "gitops-platform"


def fake_helm(tmp_path: Path, version_output: str, exit_code: int = 0) -> Path:
    """An executable that answers `helm version --short` like an installed helm would."""
    script = tmp_path / "helm"
    script.write_text(f"#!/bin/sh\necho '{version_output}'\nexit {exit_code}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def small_chart(tmp_path: Path, template: str, *, dependencies: str = "") -> Path:
    chart = tmp_path / "demo"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: demo\nversion: 0.1.0\n{dependencies}",
                                      encoding="utf-8")
    (chart / "values.yaml").write_text("# -- a value\nname: demo\n", encoding="utf-8")
    (chart / "templates" / "cm.yaml").write_text(template, encoding="utf-8")
    return chart


@pytest.mark.parametrize(("text", "version"), [
    ("v3.19.0+g3d8990f", (3, 19, 0)),
    ("v4.1.4+g05fa379", (4, 1, 4)),
    ("version.BuildInfo{Version:\"v3.20.1\", GitCommit:\"abc\"}", (3, 20, 1)),
])
def test_parse_version(text, version):
    assert helm_adapter.parse_version(text) == version


def test_parse_version_rejects_garbage():
    with pytest.raises(ToolError, match="could not read a version"):
        helm_adapter.parse_version("command not found")


def test_find_helm_reports_the_real_binaries(helm_bin, helm3_bin):
    assert helm_adapter.find_helm(helm_bin).version == (4, 1, 4)
    found = helm_adapter.find_helm(helm3_bin)
    assert found.version == (3, 19, 0) and found.path == helm3_bin and found.version_text == "v3.19.0"


def test_find_helm_rejects_an_old_helm_naming_version_and_remedy(tmp_path):
    old = fake_helm(tmp_path, "v3.18.6+gb76a950")
    with pytest.raises(ToolError) as err:
        helm_adapter.find_helm(old)
    text = str(err.value)
    assert "v3.18.6" in text and "3.19" in text and "install Helm 4" in text


def test_find_helm_uses_the_environment_then_path(tmp_path, monkeypatch):
    good = fake_helm(tmp_path, "v4.0.0+gabc")
    monkeypatch.setenv("GITOPS_HELM", str(good))
    assert helm_adapter.find_helm().path == good
    monkeypatch.delenv("GITOPS_HELM")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert helm_adapter.find_helm().path == good
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ToolError, match="not found on PATH"):
        helm_adapter.find_helm()


def test_find_helm_rejects_missing_and_failing_binaries(tmp_path):
    with pytest.raises(ToolError, match="does not exist"):
        helm_adapter.find_helm(tmp_path / "nope")
    broken = fake_helm(tmp_path, "Error: unknown flag", exit_code=1)
    with pytest.raises(ToolError, match="version failed"):
        helm_adapter.find_helm(broken)


def test_helm_error_carries_helms_message_not_a_traceback(any_helm, tmp_path):
    chart = small_chart(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name \n")
    with pytest.raises(HelmError) as err:
        helm_adapter.render(chart, release="r", namespace="default", values={}, helm=str(any_helm))
    assert str(err.value).startswith("helm template failed: Error:")
    assert "cm.yaml" in str(err.value)
    assert "Traceback" not in err.value.stderr_tail and "cm.yaml" in err.value.stderr_tail


def test_template_fail_message_reaches_the_caller(helm_bin, tmp_path):
    chart = small_chart(tmp_path, '{{ fail "set phase to gitops first" }}\n')
    with pytest.raises(HelmError, match="set phase to gitops first"):
        helm_adapter.render(chart, release="r", namespace="default", values={}, helm=str(helm_bin))


def test_lint_failure_names_the_lint_error(helm_bin, tmp_path):
    chart = small_chart(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n")
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: not-semver\n", encoding="utf-8")
    with pytest.raises(HelmError) as err:
        helm_adapter.lint(chart, values={}, helm=str(helm_bin))
    assert "[ERROR]" in str(err.value) and "version" in str(err.value)


def test_values_are_passed_through_a_private_file_that_is_removed(helm_bin, tmp_path, monkeypatch):
    chart = small_chart(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n"
                                  "data:\n  mode: {{ .Files.Get \"nothing\" | default \"x\" | quote }}\n")
    seen = []
    real_run = helm_adapter.subprocess.run

    def spy(args, **kwargs):
        values = Path(args[args.index("--values") + 1]) if "--values" in args else None
        if values:
            seen.append((values, stat.S_IMODE(values.stat().st_mode), values.read_text(encoding="utf-8")))
        return real_run(args, **kwargs)

    monkeypatch.setattr(helm_adapter.subprocess, "run", spy)
    result = helm_adapter.render(chart, release="r", namespace="default", values={"name": "from-values"},
                                 helm=str(helm_bin))
    assert result.objects()[0]["metadata"]["name"] == "from-values"
    (path, mode, text), = seen
    assert mode == 0o600 and "from-values" in text
    assert not path.exists()


def test_missing_dependencies_are_left_out_and_reported(any_helm, tmp_path):
    deps = ("dependencies:\n  - name: absent\n    version: 1.2.3\n    repository: https://example.invalid\n"
            "  - name: present\n    version: 0.1.0\n    repository: https://example.invalid\n")
    chart = small_chart(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: parent\n",
                        dependencies=deps)
    sub = chart / "charts" / "present"
    (sub / "templates").mkdir(parents=True)
    (sub / "Chart.yaml").write_text("apiVersion: v2\nname: present\nversion: 0.1.0\n", encoding="utf-8")
    (sub / "templates" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: child\n",
                                               encoding="utf-8")
    assert helm_adapter.missing_dependencies(chart) == ("absent",)
    result = helm_adapter.render(chart, release="r", namespace="default", values={}, helm=str(any_helm))
    assert result.omitted_dependencies == ("absent",)
    assert {o["metadata"]["name"] for o in result.objects()} == {"parent", "child"}
    assert "absent" in (chart / "Chart.yaml").read_text(encoding="utf-8"), "the caller's chart is untouched"
    linted = helm_adapter.lint(chart, values={}, helm=str(any_helm))
    assert linted.omitted_dependencies == ("absent",)


def test_without_the_offline_copy_helm_refuses_the_umbrella_chart(helm_bin, tmp_path):
    """Why the offline mode exists: plain helm stops at the missing dependency archives."""
    chart = tmp_path / "gitops-platform"
    shutil.copytree(CHART, chart, ignore=shutil.ignore_patterns("charts"))
    assert not (chart / "charts").exists()
    helm = helm_adapter.find_helm(helm_bin)
    with pytest.raises(HelmError, match="missing in charts/ directory"):
        helm_adapter._run(helm, ["template", "r", str(chart)], what="template", timeout=60)


def test_archived_dependencies_are_not_reported_missing(tmp_path):
    chart = small_chart(tmp_path, "{}\n", dependencies=(
        "dependencies:\n  - name: argo-cd\n    version: 10.1.1\n    repository: https://example.invalid\n"))
    (chart / "charts").mkdir()
    (chart / "charts" / "argo-cd-extras-1.0.0.tgz").write_bytes(b"")
    assert helm_adapter.missing_dependencies(chart) == ("argo-cd",)
    (chart / "charts" / "argo-cd-10.1.1.tgz").write_bytes(b"")
    assert helm_adapter.missing_dependencies(chart) == ()


def test_timeout_becomes_a_helm_error(tmp_path):
    slow = tmp_path / "helm"
    slow.write_text("#!/bin/sh\nif [ \"$1\" = version ]; then echo v4.1.4; exit 0; fi\nexec sleep 5\n",
                    encoding="utf-8")
    slow.chmod(slow.stat().st_mode | stat.S_IXUSR)
    chart = small_chart(tmp_path, "{}\n")
    with pytest.raises(HelmError, match="did not finish within 0.5 s"):
        helm_adapter.render(chart, release="r", namespace="d", values={}, helm=str(slow), timeout=0.5)
    assert os.access(slow, os.X_OK)
