"""The helm adapter: finding helm and gating its version, errors carrying helm's message,
offline rendering that reports the dependencies it left out, ready-to-install charts, and what never
reaches a values file. Installing against the Kubernetes API stand-in: test_helm_install.py."""

from __future__ import annotations

import os
import re
import shutil
import stat
import tarfile
from pathlib import Path

import pytest
import yaml

from kubectl_gitops.adapters import helm as helm_adapter
from kubectl_gitops.core.errors import GitopsError, HelmError, ToolError

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


# ---------------------------------------------------------------- error messages

def test_problems_keep_the_cause_printed_after_the_error_line():
    output = ("E1125 13:46:32.438846 reflector.go:205] \"Failed to watch\" err=\"context canceled\"\n"
              "Error: UPGRADE FAILED: pre-upgrade hooks failed: 1 error occurred:\n"
              "\t* job ingress-nginx-admission-create failed: BackoffLimitExceeded\n\n")
    assert helm_adapter._problems(output) == [
        "Error: UPGRADE FAILED: pre-upgrade hooks failed: 1 error occurred: "
        "job ingress-nginx-admission-create failed: BackoffLimitExceeded"]
    lint = "==> Linting x\n[ERROR] Chart.yaml: version is invalid\n[WARNING] templates/: a warning\n"
    assert helm_adapter._problems(lint) == ["[ERROR] Chart.yaml: version is invalid"]


# ---------------------------------------------------------------- prepare_chart

def recording_helm(tmp_path: Path) -> tuple[Path, Path]:
    """A helm that passes the version gate and records every other call (then fails)."""
    log = tmp_path / "calls.log"
    script = tmp_path / "recording-helm"
    script.write_text(f"#!/bin/sh\nif [ \"$1\" = version ]; then echo v4.1.4; exit 0; fi\n"
                      f"echo \"$@\" >> {log}\necho 'Error: not expected' >&2\nexit 1\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def chart_with_local_dependency(tmp_path: Path, *, archived: bool) -> Path:
    sub = tmp_path / "sub"
    (sub / "templates").mkdir(parents=True)
    (sub / "Chart.yaml").write_text("apiVersion: v2\nname: sub\nversion: 0.1.0\n", encoding="utf-8")
    (sub / "templates" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sub\n",
                                               encoding="utf-8")
    chart = small_chart(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: parent\n", dependencies=(
        "dependencies:\n  - name: sub\n    version: 0.1.0\n    repository: file://../sub\n"))
    if archived:
        (chart / "charts").mkdir()
        with tarfile.open(chart / "charts" / "sub-0.1.0.tgz", "w:gz") as tar:
            tar.add(sub, arcname="sub")
    return chart


def test_prepare_chart_runs_no_helm_when_the_archives_are_there_and_caches_by_content(tmp_path):
    helm, log = recording_helm(tmp_path)
    chart = chart_with_local_dependency(tmp_path, archived=True)
    work = tmp_path / "work"
    prepared = helm_adapter.prepare_chart(chart, version_overrides={}, work_dir=work, helm=str(helm))
    assert prepared.name == "demo" and (prepared / "charts" / "sub-0.1.0.tgz").is_file()
    assert not log.exists(), "no helm call"
    marker = prepared.parent / "prepared.json"
    stamp = marker.stat().st_mtime_ns
    assert helm_adapter.prepare_chart(chart, version_overrides={}, work_dir=work, helm=str(helm)) == prepared
    assert marker.stat().st_mtime_ns == stamp, "a re-run does nothing"
    assert [p.name for p in work.iterdir()] == [prepared.parent.name], "no leftovers"
    (chart / "values.yaml").write_text("# -- a value\nname: changed\n", encoding="utf-8")
    changed = helm_adapter.prepare_chart(chart, version_overrides={}, work_dir=work, helm=str(helm))
    assert changed != prepared and (changed / "values.yaml").read_text(encoding="utf-8").endswith("changed\n")


def test_prepare_chart_builds_missing_dependencies_with_helm(any_helm, tmp_path):
    chart = chart_with_local_dependency(tmp_path, archived=False)
    prepared = helm_adapter.prepare_chart(chart, version_overrides={}, work_dir=tmp_path / "work", helm=str(any_helm))
    assert (prepared / "charts" / "sub-0.1.0.tgz").is_file()
    assert not (chart / "charts").exists(), "the source chart is left alone"
    rendered = helm_adapter.render(prepared, release="r", namespace="default", values={}, helm=str(any_helm))
    assert rendered.omitted_dependencies == ()
    assert {o["metadata"]["name"] for o in rendered.objects()} == {"parent", "sub"}


def test_prepare_chart_overrides_dependency_versions_and_marks_the_chart_version(tmp_path, any_helm):
    helm, log = recording_helm(tmp_path)
    chart = chart_with_local_dependency(tmp_path, archived=True)
    same = helm_adapter.prepare_chart(chart, version_overrides={"sub": "0.1.0"}, work_dir=tmp_path / "w1",
                                      helm=str(helm))
    assert yaml.safe_load((same / "Chart.yaml").read_text())["version"] == "0.1.0", "an override equal to the pin"
    assert not log.exists()
    with pytest.raises(HelmError) as err:
        helm_adapter.prepare_chart(chart, version_overrides={"sub": "0.2.0"}, work_dir=tmp_path / "w2",
                                   helm=str(any_helm))
    assert "dependency build failed" in str(err.value) and "sub 0.2.0" in err.value.hint
    assert list((tmp_path / "w2").iterdir()) == [], "a failed preparation leaves nothing behind"
    (tmp_path / "sub" / "Chart.yaml").write_text("apiVersion: v2\nname: sub\nversion: 0.2.0\n", encoding="utf-8")
    bumped = helm_adapter.prepare_chart(chart, version_overrides={"sub": "0.2.0"}, work_dir=tmp_path / "w3",
                                        helm=str(any_helm))
    meta = yaml.safe_load((bumped / "Chart.yaml").read_text())
    assert meta["dependencies"][0]["version"] == "0.2.0"
    assert re.fullmatch(r"0\.1\.0\+deps\.[0-9a-f]{8}", meta["version"]), "another chart than the deployed 0.1.0"
    assert sorted(p.name for p in (bumped / "charts").iterdir()) == ["sub-0.2.0.tgz"]
    assert "0.1.0" in (chart / "Chart.yaml").read_text(), "the source chart is left alone"


def test_prepare_chart_rejects_overrides_of_unknown_dependencies(tmp_path):
    chart = chart_with_local_dependency(tmp_path, archived=True)
    with pytest.raises(GitopsError, match="version override for argo-cd, which is not a dependency of chart demo"):
        helm_adapter.prepare_chart(chart, version_overrides={"argo-cd": "1.0.0"}, work_dir=tmp_path / "w")


def test_values_compare_as_helm_gives_them_back():
    assert helm_adapter._normalized({"a": 1.0, "b": [2.5, (3, "x")], 4: True}) == {
        "a": 1, "b": [2.5, [3, "x"]], "4": True}


@pytest.mark.parametrize(("data", "where"), [
    ({"registry": {"password": "s3cret"}}, "registry.password"),
    ({"x": {".dockerconfigjson": "{}"}}, "x..dockerconfigjson"),
    ({"apps": [{"git": "https://dop_v1_" + "0" * 64 + "@github.com/x"}]}, "apps[0].git"),
    ({"note": '{"auths": {"registry.example.com": {}}}'}, "note"),
])
def test_credentials_are_refused_by_path_without_their_value(data, where):
    with pytest.raises(GitopsError) as err:
        helm_adapter._refuse_credentials(data)
    assert f"({where})" in str(err.value) and "s3cret" not in str(err.value) and "dop_v1" not in str(err.value)


def test_names_of_secrets_are_not_credentials():
    helm_adapter._refuse_credentials({"registry": {"pushSecretName": "registry-push"},
                                      "tekton": {"triggers": {"webhookSecretName": "hook", "serviceAccountName": "sa"}},
                                      "ingress": {"tektonDashboard": {"auth": {"secretName": "basic"}}}})
