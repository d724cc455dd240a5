"""``kubectl gitops build``: build and push an app's image in the cluster with Tekton; dev deploys it."""

from __future__ import annotations

import sys

import click

from .bootstrap_cmd import parse_duration
from .options import global_options, settings


def _terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


@click.command("build")
@global_options()
@click.argument("app")
@click.option("--revision", metavar="REF", help="Branch, tag or commit to build (default: the app's revision).")
@click.option("-f", "--follow", is_flag=True, help="Stream every step's log as it runs, prefixed with task and step.")
@click.option("--no-wait", is_flag=True, help="Start the run and return (follow it with `kubectl gitops logs RUN -f`).")
@click.option("--no-deploy", is_flag=True, help="Do not wait for dev to run what was built.")
@click.option("--timeout", default="30m", show_default=True, metavar="DURATION",
              help="Time the build (and dev's deploy) may take; then the run is cancelled.")
@click.pass_context
def command(ctx: click.Context, app: str, revision: str | None, follow: bool, no_wait: bool, no_deploy: bool,
            timeout: str) -> int:
    """Build APP's image in the cluster (Tekton), push it, and let dev deploy it.

    \b
    Progress per task goes to stderr (-f adds every step's log on stdout as
    it runs). On success stdout gets <registry>/<app>@sha256:... (or -o json|yaml
    with the run, commit, digest and durations); the run's last task writes
    the digest into dev's release file in the GitOps repository, and the
    command waits until dev is Synced at that commit and Healthy (unless
    --no-deploy). On failure: the failed task and step, Tekton's reason and
    the last lines of its log. Ctrl-C asks whether to cancel the run.

    Exit status: 0 built (and deployed), 1 failed, cancelled or timed out, 2 bad input.
    """
    from ..core.errors import GitopsError
    from ..workflows import build as workflow
    from .output import emit_data, reporter

    if follow and no_wait:
        raise click.UsageError("--follow and --no-wait exclude each other")
    s = settings(ctx)
    seconds = parse_duration(timeout)
    started: list[str] = []
    as_data = s.output in ("json", "yaml")
    on_log = (lambda line: click.echo(line, err=as_data)) if follow else None
    opts = workflow.BuildOptions(app=app, config=s.config, kubeconfig=s.kubeconfig, context=s.context,
                                 revision=revision, follow=follow, wait=not no_wait, deploy=not no_deploy,
                                 timeout=seconds, on_log=on_log, on_started=started.append)
    try:
        result = workflow.run(opts, reporter=reporter(s))
    except KeyboardInterrupt:
        if not started:
            raise
        run = started[0]
        if _terminal() and click.confirm(f"\nCancel run {run}?", default=False, err=True):
            from ..adapters import kube

            workflow.cancel(kube.connect(kubeconfig=s.kubeconfig, context=s.context), run)
            raise GitopsError(f"run {run} cancelled") from None
        raise GitopsError(f"stopped following; run {run} goes on",
                          hint=f"follow it with `kubectl gitops logs {run} -f`") from None
    if as_data:
        emit_data(result.as_dict(), s.output)
    elif no_wait:
        click.echo(result.run)
    else:
        click.echo(result.reference)
    return 0


@click.command("builds")
@global_options()
@click.argument("app", required=False)
@click.pass_context
def builds_command(ctx: click.Context, app: str | None) -> int:
    """List build runs (of APP): app, commit, status, started, duration, digest.

    Exit status: 0 listed, 1 the cluster cannot be read, 2 bad input.
    """
    from ..workflows import build as workflow
    from .output import columns, emit_data

    s = settings(ctx)
    runs = workflow.list_runs(kubeconfig=s.kubeconfig, context=s.context, app=app)
    if s.output in ("json", "yaml"):
        emit_data([r.as_dict() for r in runs], s.output)
        return 0
    if not runs:
        click.echo(f"no build runs{' of ' + app if app else ''} yet")
        return 0
    rows = [("APP", "RUN", "COMMIT", "STATUS", "STARTED", "DURATION", "DIGEST")]
    rows += [(r.app, r.run, r.commit[:12] or "-", r.status, (r.started or "-").replace("T", " ").rstrip("Z"),
              f"{r.seconds:g}s" if r.seconds is not None else "-", r.digest[:19] or "-") for r in runs]
    columns(rows)
    return 0


@click.command("logs")
@global_options()
@click.argument("target", metavar="RUN|APP")
@click.option("-f", "--follow", is_flag=True, help="Keep streaming while the run goes on.")
@click.pass_context
def logs_command(ctx: click.Context, target: str, follow: bool) -> int:
    """Show the logs of build run RUN, or of APP's latest run, every step prefixed with task and step.

    Exit status: 0 shown, 1 no such run or the cluster cannot be read, 2 bad input.
    """
    from ..workflows import build as workflow
    from .output import reporter

    s = settings(ctx)
    workflow.logs(target, kubeconfig=s.kubeconfig, context=s.context, follow_run=follow, emit=click.echo,
                  reporter=reporter(s))
    return 0
