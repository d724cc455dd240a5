"""Formatting validation results as text, JSON (kubeconform-like) or JUnit XML.

Pure functions: they take :class:`~kubectl_gitops.adapters.schema.ObjectResult` values
and return a string without a trailing newline; the caller prints it.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kubectl_gitops.adapters.schema import ObjectResult

_KUBECONFORM_STATUS = {
    "valid": "statusValid",
    "invalid": "statusInvalid",
    "error": "statusError",
    "skipped": "statusSkipped",
}
# Characters XML 1.0 cannot carry at all.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def object_label(result: ObjectResult) -> str:
    """``Kind/namespace/name``, ``Kind/name``, or ``Kind`` when the name is unknown."""
    parts = [result.kind or "<unknown kind>"]
    if result.namespace:
        parts.append(result.namespace)
    if result.name:
        parts.append(result.name)
    return "/".join(parts)


def summary_counts(results: Sequence[ObjectResult]) -> dict[str, int]:
    """Counts per status plus the total: ``objects``, ``valid``, ``invalid``, ``errors``, ``skipped``."""
    counts = {"objects": len(results), "valid": 0, "invalid": 0, "errors": 0, "skipped": 0}
    for result in results:
        counts["errors" if result.status == "error" else result.status] += 1
    return counts


def format_summary(results: Sequence[ObjectResult]) -> str:
    """``Summary: 3 objects, 1 valid, 1 invalid, 1 errors, 0 skipped``."""
    c = summary_counts(results)
    return (
        f"Summary: {c['objects']} objects, {c['valid']} valid, {c['invalid']} invalid, "
        f"{c['errors']} errors, {c['skipped']} skipped"
    )


def format_text(results: Sequence[ObjectResult], *, summary: bool = True, verbose: bool = False) -> str:
    """One line per problem, ``FILE:LINE Kind/namespace/name: field.path: message``.

    Args:
        results: Validation results.
        summary: End with the ``Summary:`` line.
        verbose: Also print one line for each valid or skipped object.

    Returns:
        The report, lines separated by newlines, no trailing newline ("" when empty).
    """
    lines = []
    for result in results:
        where = f"{result.source}:{result.line}"
        label = object_label(result) if result.kind else ""
        prefix = f"{where} {label}" if label else where
        if result.problems:
            for problem in result.problems:
                field = f"{problem.path}: " if problem.path else ""
                lines.append(f"{prefix}: {field}{problem.message}")
        elif verbose:
            lines.append(f"{prefix}: {result.status}")
    if summary:
        lines.append(format_summary(results))
    return "\n".join(lines)


def format_json(results: Sequence[ObjectResult]) -> str:
    """A JSON report in kubeconform's shape: ``{"resources": [...], "summary": {...}}``.

    Each resource has ``filename``, ``line``, ``kind``, ``name``, ``namespace``,
    ``version`` (the apiVersion), ``status`` (``statusValid``, ``statusInvalid``,
    ``statusError``, ``statusSkipped``), ``msg`` (all problems on one line) and
    ``validationErrors`` (``path`` and ``msg`` for each problem). The summary counts
    ``resources``, ``valid``, ``invalid``, ``errors`` and ``skipped``.
    """
    resources = []
    for result in results:
        errors = [{"path": p.path, "msg": p.message} for p in result.problems]
        resources.append(
            {
                "filename": result.source,
                "line": result.line,
                "kind": result.kind,
                "name": result.name,
                "namespace": result.namespace,
                "version": result.api_version,
                "status": _KUBECONFORM_STATUS[result.status],
                "msg": "; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in result.problems),
                "validationErrors": errors,
            }
        )
    counts = summary_counts(results)
    summary = {
        "resources": counts["objects"],
        "valid": counts["valid"],
        "invalid": counts["invalid"],
        "errors": counts["errors"],
        "skipped": counts["skipped"],
    }
    return json.dumps({"resources": resources, "summary": summary}, indent=2)


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)


def format_junit(results: Sequence[ObjectResult]) -> str:
    """A JUnit XML report: one ``testsuite`` per file, one ``testcase`` per object.

    Invalid objects get a ``failure`` element, errors an ``error`` element, skipped objects
    a ``skipped`` element; their text lists the problems one per line. Only the elements and
    attributes of the JUnit 4 XSD that CI systems validate against (Jenkins' junit-4.xsd).
    """
    by_file: dict[str, list[ObjectResult]] = {}
    for result in results:
        by_file.setdefault(result.source, []).append(result)
    counts = summary_counts(results)
    root = ET.Element(
        "testsuites",
        name="kubectl-gitops validate",
        tests=str(counts["objects"]),
        failures=str(counts["invalid"]),
        errors=str(counts["errors"]),
    )  # JUnit 4's XSD allows no `skipped` on testsuites (only on each testsuite)
    for index, (source, file_results) in enumerate(by_file.items()):
        file_counts = summary_counts(file_results)
        suite = ET.SubElement(
            root,
            "testsuite",
            id=str(index),
            name=_xml_text(source),
            tests=str(file_counts["objects"]),
            failures=str(file_counts["invalid"]),
            errors=str(file_counts["errors"]),
            skipped=str(file_counts["skipped"]),
        )
        for result in file_results:
            case = ET.SubElement(
                suite,
                "testcase",
                name=_xml_text(f"{object_label(result)} (line {result.line})"),
                classname=_xml_text(result.api_version or source),
            )
            text = "\n".join(f"{p.path}: {p.message}" if p.path else p.message for p in result.problems)
            first = text.splitlines()[0] if text else result.status
            if result.status in ("invalid", "error"):
                tag = "failure" if result.status == "invalid" else "error"
                element = ET.SubElement(case, tag, message=_xml_text(first), type=result.status)
                element.text = _xml_text(text)
            elif result.status == "skipped":
                ET.SubElement(case, "skipped", message="skipped")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body


def format_tap(results: Sequence[ObjectResult]) -> str:
    """A TAP version 13 report, as kubeconform's ``-output tap``: one test line per object, then the plan."""
    lines = ["TAP version 13"]
    for number, result in enumerate(results, start=1):
        label = f"{result.source} ({object_label(result)})"
        text = "; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in result.problems)
        label = label.replace("\n", " ").replace("#", "\\#")
        if result.status == "valid":
            lines.append(f"ok {number} - {label}")
        elif result.status == "skipped":
            lines.append(f"ok {number} - {label} # skip")
        else:
            lines.append(f"not ok {number} - {label} - {text.replace(chr(10), ' ') or result.status}")
    lines.append(f"1..{len(results)}")
    return "\n".join(lines)
