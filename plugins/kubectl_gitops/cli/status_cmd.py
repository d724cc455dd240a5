"""``kubectl gitops status``: the platform's components, clusters and applications, healthy or not."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from .options import global_options, settings


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = []
    for row in (headers, *rows):
        lines.append("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())
    return lines


def _short_image(image: str) -> str:
    """``registry/app@sha256:abcdef...`` shortened to ``registry/app@sha256:abcdef123456``."""
    name, at, digest = image.partition("@")
    return f"{name}@{digest[:19]}" if at and digest.startswith("sha256:") else image


def format_text(report: Any) -> str:
    """The report as tables (what ``-o text`` prints)."""
    state = "healthy" if report.healthy else "NOT healthy"
    lines = [f"Platform {report.platform} on context {report.context} ({report.server}): {state}", ""]
    lines += _table(
        ("COMPONENT", "NAMESPACE", "READY", "VERSION", "MESSAGE"),
        [(c.name, c.namespace, "yes" if c.ready else "no", c.version or "-", c.message) for c in report.components],
    )
    lines.append("")
    lines += _table(
        ("CLUSTER", "CONTEXT", "READY", "VERSION", "MESSAGE"),
        [(c.name + (" (platform)" if c.management else ""), c.context or "-", "yes" if c.ready else "no",
          c.version or "-", c.message) for c in report.clusters],
    )
    lines.append("")
    edges = [("Edge", report.edge), *((f"Edge of cluster {c.name}", c.edge) for c in report.clusters)]
    for title, edge in edges:
        if edge is None:
            continue
        lines.append(f"{title}: {edge.controller}, load balancer {edge.address or '(no address yet)'}")
        if edge.hosts:
            lines += _table(
                ("HOST", "INGRESS", "CERTIFICATE", "EXPIRES", "DNS", "MESSAGE"),
                [(h.url, h.ingress, h.certificate, h.expires or "-", h.dns or "not checked", h.message)
                 for h in edge.hosts],
            )
        lines.append("")
    if report.platform_applications:
        lines += _table(
            ("PLATFORM APPLICATION", "PART", "SYNC", "HEALTH", "REVISION", "MESSAGE"),
            [(a.application, a.environment, a.sync, a.health, (a.revision or "-")[:12], a.message)
             for a in report.platform_applications],
        )
        lines.append("")
    if report.applications:
        lines += _table(
            ("APPLICATION", "ENV", "SYNC", "HEALTH", "REVISION", "IMAGE", "MESSAGE"),
            [(a.app, a.environment, a.sync, a.health, (a.revision or "-")[:12],
              ", ".join(_short_image(i) for i in a.images) or "-",
              a.message if (not a.ready or a.message.startswith(("not ", "behind "))) else "")
             for a in report.applications],
        )
    else:
        lines.append("No applications in gitops.yaml.")
    if report.repository:
        head = (f"branch head {report.repository_head[:12]}" if report.repository_head
                else report.repository_message or "branch head unknown")
        lines += ["", f"GitOps repository {report.repository}: {head}"]
    return "\n".join(lines)


@click.command("status")
@global_options()
@click.option("--request-timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True, metavar="SECONDS",
              help="How long each request to a cluster may take.")
@click.option("--no-dns", is_flag=True, envvar="GITOPS_NO_DNS",
              help="Do not look the hosts up in DNS (offline); otherwise each host is checked to point at the "
                   "load balancer. Environment: GITOPS_NO_DNS=1.")
@click.pass_context
def command(ctx: click.Context, request_timeout: float, no_dns: bool) -> int:
    """Show whether the platform is healthy: components, clusters, applications.

    \b
    Platform components (Argo CD, the Tekton operator, ingress-nginx, Tekton
    Pipelines, Triggers and Dashboard) with their versions; the edge: the
    load balancer's address and every host with its certificate's state and
    expiry and whether DNS points at the load balancer; every cluster of
    gitops.yaml with its Kubernetes version; every application in every
    environment with its sync and health, synced revision and running image.

    Exit status: 0 healthy, 1 something is not ready or unreachable, 2 bad config.
    """
    from ..workflows import status as workflow
    from .output import emit_data, reporter

    s = settings(ctx)
    opts = workflow.StatusOptions(config=s.config, kubeconfig=s.kubeconfig, context=s.context,
                                  request_timeout=request_timeout, resolve=None if no_dns else workflow.resolve_host)
    report = workflow.run(opts, reporter=reporter(s))
    if s.output in ("json", "yaml"):
        emit_data(report.to_dict(), s.output)
    else:
        click.echo(format_text(report))
    return 0 if report.healthy else 1
