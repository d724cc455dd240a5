"""``kubectl gitops validate``: check gitops.yaml and every object, or plain manifests."""

from __future__ import annotations

import sys

import click

from .options import global_options, settings


@click.command("validate")
@global_options(output_choices=("text", "json", "yaml", "junit"))
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option("--kubernetes-version", metavar="1.XX",
              help="Kubernetes version to validate against (default: gitops.yaml's, else 1.34).")
@click.option("--schema-location", "schema_locations", multiple=True, metavar="DIR|TEMPLATE",
              help="More schemas, as kubeconform's -schema-location: a directory in "
                   "{group}/{kind}_{version}.json layout or a path template; `default` is the built-in set.")
@click.option("--ignore-missing-schemas", is_flag=True, help="Skip objects whose kind has no schema.")
@click.option("--strict/--no-strict", default=True, show_default=True, help="Unknown fields are errors.")
@click.option("--helm", "helm_path", metavar="PATH", envvar="GITOPS_HELM",
              help="helm binary used to render the chart (default: helm on PATH).")
@click.pass_context
def command(ctx: click.Context, paths: tuple[str, ...], kubernetes_version: str | None,
            schema_locations: tuple[str, ...], ignore_missing_schemas: bool, strict: bool,
            helm_path: str | None) -> int:
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
    if kubernetes_version and not kubernetes_version.replace(".", "").isdigit():
        raise click.BadParameter(f"{kubernetes_version!r}: expected a version like 1.34",
                                 param_hint="--kubernetes-version")
    opts = workflow.ValidateOptions(
        paths=paths,
        config=s.config,
        kubernetes_version=kubernetes_version,
        schema_locations=schema_locations,
        ignore_missing_schemas=ignore_missing_schemas,
        strict=strict,
        helm=helm_path,
    )
    report = workflow.run(opts, stdin=sys.stdin, reporter=reporter(s))
    if s.output == "junit":
        click.echo(validate_report.format_junit(report.results))
    elif s.output in ("json", "yaml"):
        import json

        data = json.loads(validate_report.format_json(report.results))
        if report.releases:
            data["releases"] = [
                {"phase": r.phase, "release": r.release, "namespace": r.namespace, "objects": r.objects,
                 "omittedDependencies": list(r.omitted_dependencies)}
                for r in report.releases
            ]
        emit_data(data, s.output)
    else:
        for r in report.releases:
            omitted = (f"; not rendered offline: {', '.join(r.omitted_dependencies)} "
                       f"(run `helm dependency build` on the chart to include them)"
                       if r.omitted_dependencies else "")
            click.echo(f"Phase {r.phase}: release {r.release} in namespace {r.namespace}, "
                       f"{r.objects} objects{omitted}")
            if not s.quiet:
                for result in report.results:
                    if result.source.startswith(f"{r.release}:"):
                        where = f"{result.namespace}/" if result.namespace else ""
                        click.echo(f"  {result.kind} {where}{result.name}")
        text = validate_report.format_text(report.results, verbose=s.verbose > 0)
        if text:
            click.echo(text)
    return 0 if report.ok else 1
