"""Report formats: text lines, kubeconform-like JSON, JUnit XML that parses."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from kubectl_gitops.adapters.schema import ObjectResult, Problem
from kubectl_gitops.cli.validate_report import format_json, format_junit, format_text

RESULTS = [
    ObjectResult("a.yaml", 1, "apps/v1", "Deployment", "web", "prod", "valid"),
    ObjectResult(
        "a.yaml",
        20,
        "apps/v1",
        "Deployment",
        "api",
        "prod",
        "invalid",
        (
            Problem("spec.replicas", 'expected integer, got string "3"'),
            Problem("spec", 'unknown field "replica" (did you mean "replicas"?)'),
        ),
    ),
    ObjectResult("b.yaml", 3, "", "", "", "", "error", (Problem("", "YAML syntax error at line 3: oops"),)),
    ObjectResult(
        "b.yaml", 9, "example.com/v1", "Widget", "w", "", "error", (Problem("", "no schema for example.com/v1 Widget"),)
    ),
    ObjectResult("b.yaml", 15, "v1", "Secret", "s", "", "skipped"),
]


def test_text_one_line_per_problem_and_summary() -> None:
    assert format_text(RESULTS).splitlines() == [
        'a.yaml:20 Deployment/prod/api: spec.replicas: expected integer, got string "3"',
        'a.yaml:20 Deployment/prod/api: spec: unknown field "replica" (did you mean "replicas"?)',
        "b.yaml:3: YAML syntax error at line 3: oops",
        "b.yaml:9 Widget/w: no schema for example.com/v1 Widget",
        "Summary: 5 objects, 1 valid, 1 invalid, 2 errors, 1 skipped",
    ]


def test_text_verbose_and_without_summary() -> None:
    lines = format_text(RESULTS, summary=False, verbose=True).splitlines()
    assert lines[0] == "a.yaml:1 Deployment/prod/web: valid"
    assert lines[-1] == "b.yaml:15 Secret/s: skipped"
    assert not any(line.startswith("Summary") for line in lines)
    assert format_text(RESULTS[:1], summary=False) == ""


def test_json_is_kubeconform_like() -> None:
    report = json.loads(format_json(RESULTS))
    assert report["summary"] == {"resources": 5, "valid": 1, "invalid": 1, "errors": 2, "skipped": 1}
    assert [r["status"] for r in report["resources"]] == [
        "statusValid",
        "statusInvalid",
        "statusError",
        "statusError",
        "statusSkipped",
    ]
    invalid = report["resources"][1]
    assert invalid["filename"] == "a.yaml" and invalid["line"] == 20
    assert (invalid["kind"], invalid["name"], invalid["namespace"], invalid["version"]) == (
        "Deployment",
        "api",
        "prod",
        "apps/v1",
    )
    assert invalid["validationErrors"][0] == {"path": "spec.replicas", "msg": 'expected integer, got string "3"'}
    assert invalid["msg"].startswith('spec.replicas: expected integer, got string "3"; spec: unknown field')


def test_junit_parses_with_a_suite_per_file_and_a_case_per_object() -> None:
    root = ET.fromstring(format_junit(RESULTS).encode())
    assert root.tag == "testsuites" and root.get("tests") == "5" and root.get("failures") == "1"
    suites = root.findall("testsuite")
    assert [(s.get("name"), s.get("tests"), s.get("failures"), s.get("errors"), s.get("skipped")) for s in suites] == [
        ("a.yaml", "2", "1", "0", "0"),
        ("b.yaml", "3", "0", "2", "1"),
    ]
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases][:2] == ["Deployment/prod/web (line 1)", "Deployment/prod/api (line 20)"]
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == 'spec.replicas: expected integer, got string "3"'
    assert 'unknown field "replica"' in failure.text
    assert cases[2].find("error") is not None and cases[4].find("skipped") is not None
    assert cases[0].find("failure") is None


def test_junit_escapes_markup_and_control_characters() -> None:
    nasty = ObjectResult(
        'dir/<&">.yaml',
        1,
        "v1",
        "ConfigMap",
        "x",
        "",
        "invalid",
        (Problem('data["<k>"]', 'bad value "a & b" \x00\x1b</failure>'),),
    )
    root = ET.fromstring(format_junit([nasty]).encode())
    assert root.find("testsuite").get("name") == 'dir/<&">.yaml'
    failure = root.find(".//failure")
    assert "</failure>" in failure.text and "\x00" not in failure.text and "a & b" in failure.get("message")
