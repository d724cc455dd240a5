"""``kubectl gitops history``: builds, promotions and rollbacks of an app, from the GitOps repository."""

from __future__ import annotations

import click

from .options import git_token_file_option, global_options, settings


@click.command("history")
@global_options()
@click.argument("app")
@click.option("--env", "environment", metavar="ENV", help="Only this environment (default: every one).")
@git_token_file_option
@click.pass_context
def command(ctx: click.Context, app: str, environment: str | None, git_token_file: str | None) -> int:
    """List what ran where: APP's builds, promotions and rollbacks, newest first.

    \b
    Read from the history of the app's overlays in the GitOps repository:
    action, environment, digest, commit, who and when.

    Exit status: 0 listed, 1 the repository cannot be read, 2 bad input.
    """
    from ..workflows import history as workflow
    from .output import columns, emit_data

    s = settings(ctx)
    records = workflow.run(workflow.HistoryOptions(app=app, config=s.config, environment=environment,
                                                   git_token_file=git_token_file))
    if s.output in ("json", "yaml"):
        emit_data([r.as_dict() for r in records], s.output)
        return 0
    if not records:
        click.echo(f"no builds, promotions or rollbacks of {app} yet")
        return 0
    rows = [("WHEN", "ENV", "ACTION", "DIGEST", "COMMIT", "WHO")]
    rows += [(f"{r.date:%Y-%m-%d %H:%M:%S}", r.environment, r.action + (f" from {r.source}" if r.source else ""),
              r.digest[:19], r.commit[:12], r.author) for r in records]
    columns(rows)
    return 0

