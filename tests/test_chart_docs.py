"""The chart README is generated and current, every value is documented, and upstream versions
are pinned in one place only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import chartdocs

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "gitops-platform"


def test_readme_is_generated_from_the_current_values():
    readme = (CHART / "README.md").read_text(encoding="utf-8")
    assert readme == chartdocs.generate(), "run: python tests/chartdocs.py --write"
    assert chartdocs.main(["--check"]) == 0


def test_readme_documents_phases_and_every_value():
    readme = (CHART / "README.md").read_text(encoding="utf-8")
    assert "## Phases and CRD ordering" in readme
    assert "argo-cd.enabled=false" in readme
    for value in chartdocs.parse((CHART / "values.yaml").read_text(encoding="utf-8")):
        assert f"| {value.key} |" in readme


def test_every_value_has_a_doc_comment():
    assert chartdocs.undocumented((CHART / "values.yaml").read_text(encoding="utf-8")) == []


def test_doc_parser_sees_a_missing_comment_and_reads_defaults():
    text = ("a:\n  # -- documented\n  b: 1\n  c: two\n# -- (object) map of data\nd:\n  x.y/z: \"1\"\n"
            "# -- computed\n# @default -- `derived`\ne: \"\"\n# -- a list\nf:\n  - g: 1\n    h: 2\n")
    assert chartdocs.undocumented(text) == ["a.c"]
    parsed = {v.key: v for v in chartdocs.parse(text)}
    assert parsed["a.b"].default == "`1`" and parsed["a.b"].type == "int"
    assert parsed["d"].type == "object"
    assert parsed["e"].default == "`derived`"
    assert set(parsed) == {"a.b", "d", "e", "f"}


def mentions(text: str, version: str) -> bool:
    """Whether ``text`` holds ``version`` (a version, or `<image>:<tag>`) as a whole word; a
    leading v on a bare version does not matter."""
    bare = re.escape(version.removeprefix("v"))
    return re.search(rf"(?<![\w.]){'v?' if ':' not in version else ''}{bare}(?![\w.])", text) is not None


def pinned_versions() -> dict[str, str]:
    """Every upstream version string pinned in Chart.yaml and values.yaml `versions`."""
    meta = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    pins = {f"Chart.yaml {d['name']}": str(d["version"]) for d in meta["dependencies"]}
    for key, ref in values["versions"].items():
        # an image or bundle is pinned as `<name>:<tag>` (a bare tag like 1.28.0 is too common)
        pins[f"versions.{key}"] = ref.rsplit("/", 1)[-1] if "/" in ref else ref
    return pins


def test_the_promised_versions_are_pinned():
    pins = pinned_versions()
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))["versions"]
    assert pins["Chart.yaml argo-cd"] == "10.1.1"
    assert pins["Chart.yaml ingress-nginx"] == "4.15.1"
    assert pins["Chart.yaml tekton-operator"] == "0.81.1"
    assert pins["versions.kanikoBundle"] == "bundle:v1.0.0"
    assert values["gitCloneBundle"] == "ghcr.io/tektoncd-catalog/git-clone/bundle:v1.7.0"
    assert values["kanikoBundle"] == "ghcr.io/tektoncd-catalog/kaniko/bundle:v1.0.0"
    assert re.fullmatch(r"ghcr\.io/osscontainertools/kaniko:v1\.28\.\d+", values["kanikoImage"])
    assert (values["tektonPipelines"], values["tektonTriggers"], values["tektonDashboard"]) == (
        "v1.15.0", "v0.37.0", "v0.71.0")


def _files_outside_the_pins() -> list[Path]:
    files = []
    for base in (ROOT / "charts", ROOT / "plugins"):
        for path in base.rglob("*"):
            if not path.is_file() or "__pycache__" in path.parts or path.suffix in {".tgz", ".pyc"}:
                continue
            if path in (CHART / "Chart.yaml", CHART / "values.yaml", CHART / "README.md"):
                continue  # the pins themselves, and the README generated from them
            files.append(path)
    return files


def test_version_pins_appear_in_one_place_only():
    pins = pinned_versions()
    offenders = []
    for path in _files_outside_the_pins():
        text = path.read_text(encoding="utf-8", errors="replace")
        for where, version in pins.items():
            if mentions(text, version):
                offenders.append(f"{path.relative_to(ROOT)} repeats {where} ({version})")
    assert offenders == []


def test_values_yaml_mentions_pins_only_in_the_versions_block():
    values_text = (CHART / "values.yaml").read_text(encoding="utf-8")
    block = re.search(r"^versions:\n(?:(?:  .*)?\n)+", values_text, re.M)
    assert block
    outside = values_text.replace(block.group(0), "")
    for where, version in pinned_versions().items():
        if where.startswith("versions."):
            assert not mentions(outside, version), where


@pytest.mark.parametrize("pin", ["v1.7.0", "10.1.1", "kaniko:v1.28.0"])
def test_pin_check_would_catch_a_repeat(tmp_path, pin):
    stray = tmp_path / "x.yaml"
    stray.write_text(f"image: example/{pin}\n", encoding="utf-8")
    assert mentions(stray.read_text(encoding="utf-8"), pin)
    assert not mentions("image: example/thing:v11.7.0 and 1.7.01", pin)
