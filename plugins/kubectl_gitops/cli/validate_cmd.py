"""``kubectl gitops validate``: check gitops.yaml and every object, or plain manifests."""

from __future__ import annotations

import re
import sys

import click

from .options import global_options, settings

_VERSION = re.compile(r"^v?(\d+\.\d+)(?:\.\d+)?$")
# kubeconform's single-dash long flags, and what they are here
KUBECONFORM_FLAGS = {
    "-strict": "--strict", "-summary": "--summary", "-output": "-o", "-schema-location": "--schema-location",
    "-ignore-missing-schemas": "--ignore-missing-schemas", "-kubernetes-version": "--kubernetes-version",
    "-skip": "--skip", "-reject": "--reject", "-verbose": "-v",
}
# kubeconform flags that mean nothing here: name -> (takes a value, why)
KUBECONFORM_IGNORED = {
    "-cache": (True, "schemas are read locally, there is nothing to cache"),
    "-insecure-skip-tls-verify": (False, "validation is offline"),
    "-exit-on-error": (False, "every problem is reported in one run"),
    "-debug": (False, "use -v"),
    "-n": (True, "validation runs in one process"),
}


def kubeconform_args(args: list[str]) -> tuple[list[str], list[str]]:
    """``args`` after ``validate`` with kubeconform's single-dash long flags in our spelling, and one note per
    kubeconform flag that has no meaning here (dropped, with its value). ``-flag=value`` works too."""
    out: list[str] = []
    notes: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            out += args[index - 1:]
            break
        name, eq, value = arg.partition("=")
        if name in KUBECONFORM_FLAGS:
            out.append(KUBECONFORM_FLAGS[name] + (f"={value}" if eq and KUBECONFORM_FLAGS[name] != "-o" else ""))
            if eq and KUBECONFORM_FLAGS[name] == "-o":
                out.append(value)
        elif name in KUBECONFORM_IGNORED and not (name == "-n" and not (index < len(args) and
                                                                        args[index].isdigit())):
            takes_value, why = KUBECONFORM_IGNORED[name]
            if takes_value and not eq:
                index += 1
            notes.append(f"kubeconform's {name} has no meaning here ({why}); ignored")
        else:
            out.append(arg)
    return out, notes


def _kinds(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(kind.strip() for value in values for kind in value.split(",") if kind.strip())


@click.command("validate")
@global_options(output_choices=("text", "json", "yaml", "junit", "tap"))
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option("--kubernetes-version", metavar="1.XX",
              help="Kubernetes version to validate against, 1.34 or 1.34.2 (default: gitops.yaml's, else 1.34).")
@click.option("--skip", "skip", multiple=True, metavar="KINDS",
              help="Comma-separated kinds (Secret) or apiVersion/kind (apps/v1/Deployment) not to validate.")
@click.option("--reject", "reject", multiple=True, metavar="KINDS",
              help="Comma-separated kinds or apiVersion/kind that are errors wherever they appear.")
@click.option("--summary", is_flag=True, hidden=True, help="Accepted for kubeconform (text output ends with one).")
@click.option("--schema-location", "schema_locations", multiple=True, metavar="DIR|TEMPLATE",
              help="More schemas, as kubeconform's -schema-location: a directory in "
                   "{group}/{kind}_{version}.json layout or a path template; `default` is the built-in set.")
@click.option("--ignore-missing-schemas", is_flag=True, help="Skip objects whose kind has no schema.")
@click.option("--strict/--no-strict", default=True, show_default=True, help="Unknown fields are errors.")
@click.option("--helm", "helm_path", metavar="PATH", envvar="GITOPS_HELM",
              help="helm binary used to render the chart (default: helm on PATH).")
@click.pass_context
def command(ctx: click.Context, paths: tuple[str, ...], kubernetes_version: str | None, skip: tuple[str, ...],
            reject: tuple[str, ...], summary: bool, schema_locations: tuple[str, ...], ignore_missing_schemas: bool,
            strict: bool, helm_path: str | None) -> int:
    """Validate the platform, or Kubernetes manifests, offline.

    \b
    With no PATHS: checks gitops.yaml, renders every install phase of the
    platform chart with helm and validates each object it would install.
    With PATHS (files, directories, - for stdin): validates those manifests
    against Kubernetes and CRD schemas, like kubeconform.

    Exit status: 0 all valid, 1 something invalid, 2 bad input or config.
    """
    from ..workflows import validate as workflow
    from . import validate_report
    from .output import emit_data, reporter

    s = settings(ctx)
    if kubernetes_version:
        match = _VERSION.match(kubernetes_version)
        if not match:
            raise click.BadParameter(f"{kubernetes_version!r}: expected a version like 1.34 or 1.34.2",
                                     param_hint="--kubernetes-version")
        kubernetes_version = match.group(1)
    opts = workflow.ValidateOptions(
        paths=paths,
        config=s.config,
        kubernetes_version=kubernetes_version,
        schema_locations=schema_locations,
        ignore_missing_schemas=ignore_missing_schemas,
        strict=strict,
        helm=helm_path,
        skip_kinds=_kinds(skip),
        reject_kinds=_kinds(reject),
    )
    report = workflow.run(opts, stdin=sys.stdin, reporter=reporter(s))
    if s.output == "junit":
        click.echo(validate_report.format_junit(report.results))
    elif s.output == "tap":
        click.echo(validate_report.format_tap(report.results))
    elif s.output in ("json", "yaml"):
        import json

        data = json.loads(validate_report.format_json(report.results))
        if report.releases:
            data["releases"] = [
                {"phase": r.phase, "release": r.release, "namespace": r.namespace, "objects": r.objects,
                 "omittedDependencies": list(r.omitted_dependencies), "cluster": r.cluster}
                for r in report.releases
            ]
        emit_data(data, s.output)
    else:
        for r in report.releases:
            omitted = (f"; not rendered offline: {', '.join(r.omitted_dependencies)} "
                       f"(run `helm dependency build` on the chart to include them)"
                       if r.omitted_dependencies else "")
            shown = f"{r.release} ({r.cluster})" if r.cluster else r.release
            on = f" on cluster {r.cluster}" if r.cluster else ""
            click.echo(f"Phase {r.phase}: release {r.release}{on} in namespace {r.namespace}, "
                       f"{r.objects} object{'s' * (r.objects != 1)}{omitted}")
            if not s.quiet:
                for result in report.results:
                    if result.source.startswith(f"{shown}:"):
                        where = f"{result.namespace}/" if result.namespace else ""
                        click.echo(f"  {result.kind} {where}{result.name}")
        text = validate_report.format_text(report.results, verbose=s.verbose > 0)
        if text:
            click.echo(text)
    return 0 if report.ok else 1
