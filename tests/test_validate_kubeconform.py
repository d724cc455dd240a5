"""`kubectl gitops validate` as a drop-in for kubeconform in a CI pipeline, through the real executable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import xmlschema

BIN = Path(sys.executable).parent

# The rules of the JUnit 4 XSD CI systems validate reports against (Jenkins' junit-4.xsd, also read by GitLab
# and most JUnit report plugins): the elements, their order and count, and the only attributes allowed.
JUNIT4_XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:element name="failure">
    <xs:complexType mixed="true">
      <xs:attribute name="type" type="xs:string"/>
      <xs:attribute name="message" type="xs:string"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="error">
    <xs:complexType mixed="true">
      <xs:attribute name="type" type="xs:string"/>
      <xs:attribute name="message" type="xs:string"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="skipped">
    <xs:complexType mixed="true">
      <xs:attribute name="message" type="xs:string"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="properties">
    <xs:complexType>
      <xs:sequence><xs:element ref="property" maxOccurs="unbounded"/></xs:sequence>
    </xs:complexType>
  </xs:element>
  <xs:element name="property">
    <xs:complexType>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="value" type="xs:string" use="required"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="system-out" type="xs:string"/>
  <xs:element name="system-err" type="xs:string"/>
  <xs:element name="testcase">
    <xs:complexType>
      <xs:sequence>
        <xs:element ref="skipped" minOccurs="0"/>
        <xs:element ref="error" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element ref="failure" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element ref="system-out" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element ref="system-err" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="assertions" type="xs:string"/>
      <xs:attribute name="time" type="xs:string"/>
      <xs:attribute name="classname" type="xs:string"/>
      <xs:attribute name="status" type="xs:string"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testsuite">
    <xs:complexType>
      <xs:sequence>
        <xs:element ref="properties" minOccurs="0"/>
        <xs:element ref="testcase" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element ref="system-out" minOccurs="0"/>
        <xs:element ref="system-err" minOccurs="0"/>
      </xs:sequence>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="tests" type="xs:string" use="required"/>
      <xs:attribute name="failures" type="xs:string"/>
      <xs:attribute name="errors" type="xs:string"/>
      <xs:attribute name="time" type="xs:string"/>
      <xs:attribute name="disabled" type="xs:string"/>
      <xs:attribute name="skipped" type="xs:string"/>
      <xs:attribute name="timestamp" type="xs:string"/>
      <xs:attribute name="hostname" type="xs:string"/>
      <xs:attribute name="id" type="xs:string"/>
      <xs:attribute name="package" type="xs:string"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testsuites">
    <xs:complexType>
      <xs:sequence><xs:element ref="testsuite" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
      <xs:attribute name="name" type="xs:string"/>
      <xs:attribute name="time" type="xs:string"/>
      <xs:attribute name="tests" type="xs:string"/>
      <xs:attribute name="failures" type="xs:string"/>
      <xs:attribute name="disabled" type="xs:string"/>
      <xs:attribute name="errors" type="xs:string"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""

VALID = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\ndata: {a: b}\n"
INVALID = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec: {replicas: many}\n"
SECRET = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {token: x}\n"
UNKNOWN = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"


def run(*args, input: str | None = None, cwd=None):
    return subprocess.run([str(BIN / "kubectl-gitops"), "validate", *map(str, args)], capture_output=True, text=True,
                          input=input if input is not None else "", cwd=cwd, timeout=120)


@pytest.fixture
def manifests(tmp_path) -> Path:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "a.yaml").write_text("---\n".join([VALID, INVALID, SECRET]))
    (tmp_path / "m" / "b.yaml").write_text(UNKNOWN)
    return tmp_path / "m"


def test_junit_report_validates_against_the_junit4_xsd(manifests):
    out = run(manifests, "-o", "junit")
    assert out.returncode == 1
    schema = xmlschema.XMLSchema(JUNIT4_XSD)
    schema.validate(out.stdout.split("\n", 1)[1])  # raises on any attribute or element the XSD does not allow
    assert out.stdout.count("<testcase ") == 4 and "<failure " in out.stdout and "<error " in out.stdout
    skipped = run(manifests, "-o", "junit", "--skip", "Secret", "--ignore-missing-schemas")
    schema.validate(skipped.stdout.split("\n", 1)[1])
    assert skipped.stdout.count("<skipped") == 2


def test_the_xsd_check_can_fail():
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        xmlschema.XMLSchema(JUNIT4_XSD).validate('<testsuites skipped="0"/>')


def test_kubeconform_line_works_with_only_the_binary_renamed(manifests, tmp_path):
    """kubeconform -strict -summary -output json -kubernetes-version 1.34.1 -skip Secret -ignore-missing-schemas."""
    out = run("-strict", "-summary", "-output", "json", "-kubernetes-version", "1.34.1", "-skip", "Secret",
              "-ignore-missing-schemas", "-schema-location", "default", manifests)
    assert out.returncode == 1, out.stderr
    statuses = {r["kind"]: r["status"] for r in json.loads(out.stdout)["resources"]}
    assert statuses == {"ConfigMap": "statusValid", "Deployment": "statusInvalid", "Secret": "statusSkipped",
                        "Widget": "statusSkipped"}
    out = run("-output=tap", "-reject=Secret,apps/v1/Deployment", "-cache", tmp_path / "cache", manifests)
    assert out.returncode == 1
    assert out.stderr.splitlines() == ["⚠ kubeconform's -cache has no meaning here (schemas are read locally, "
                                       "there is nothing to cache); ignored"]
    assert not (tmp_path / "cache").exists()
    lines = out.stdout.splitlines()
    assert lines[0] == "TAP version 13" and lines[-1] == "1..4"
    assert lines[1].startswith("ok 1 - ") and "ConfigMap/ok" in lines[1]
    assert lines[2].startswith("not ok 2 - ") and "rejected" in lines[2]
    assert lines[3].startswith("not ok 3 - ") and "rejected" in lines[3]
    assert lines[4].startswith("not ok 4 - ") and "no schema" in lines[4]


def test_tap_marks_skips():
    out = run("-o", "tap", "--skip", "Secret", "-", input=SECRET)
    assert out.returncode == 0
    assert out.stdout.splitlines() == ["TAP version 13", "ok 1 - stdin (Secret/s) # skip", "1..1"]


@pytest.mark.parametrize("version,code", [("1.34", 0), ("1.34.2", 0), ("v1.33.0", 0), ("1", 2), ("1.34.x", 2)])
def test_kubernetes_version_as_x_y_or_x_y_z(version, code):
    out = run("--kubernetes-version", version, "-", input=VALID)
    assert out.returncode == code, out.stderr


def test_duplicate_keys_are_errors_in_strict_mode():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: '1'\n  x: '2'\n"
    out = run("-", input=text)
    assert out.returncode == 1 and "duplicate key x (line 7)" in out.stdout
    assert run("--no-strict", "-", input=text).returncode == 0


def test_empty_stdin_is_refused():
    for text in ("", "\n\n", "---\n# nothing\n"):
        out = run("-", input=text)
        assert out.returncode == 1 and out.stderr.splitlines() == [
            "error: stdin is empty: nothing to validate (pipe manifests in, or give paths)"]


def test_a_plain_json_schema_file_as_schema_location(tmp_path):
    schema = tmp_path / "widget.json"
    schema.write_text(json.dumps({
        "type": "object", "required": ["spec"],
        "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
                       "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}},
    }))
    good = UNKNOWN + "spec: {size: 3}\n"
    out = run("--schema-location", schema, "-", input=good)
    assert out.returncode == 0, out.stdout + out.stderr
    out = run("-schema-location", schema, "-o", "json", "-", input=UNKNOWN + "spec: {size: big}\n")
    assert out.returncode == 1
    assert json.loads(out.stdout)["resources"][0]["status"] == "statusInvalid"
