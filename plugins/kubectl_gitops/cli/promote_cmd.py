"""``kubectl gitops promote``: the next environment gets the digest that is healthy in the one before it."""

from __future__ import annotations

import sys

import click

from .bootstrap_cmd import parse_duration
from .options import global_options, release_change_options, settings


def _terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def describe(plan) -> list[str]:
    """The change a promotion or rollback makes, as lines for a person."""
    current = plan.current or "nothing (never promoted)"
    if plan.action == "promote":
        lines = [f"promote {plan.app}: {plan.source} -> {plan.target}",
                 f"  image  {plan.image}",
                 f"  from   {current}",
                 f"  to     {plan.digest}"]
        if plan.commits:
            lines.append(f"  brings {len(plan.commits)} build{'s' * (len(plan.commits) != 1)} of {plan.source}:")
            for rec in plan.commits:
                source = f" from {rec.source_commit[:12]}" if rec.source_commit else ""
                lines.append(f"    {rec.date:%Y-%m-%d %H:%M} {rec.digest[:19]}{source}  ({rec.author})")
    else:
        lines = [f"rollback {plan.app} in {plan.target}",
                 f"  image  {plan.image}",
                 f"  from   {current}",
                 f"  to     {plan.digest}"]
    return lines


def confirm_on_terminal(assume_yes: bool):
    """The confirm callback: None with --yes or without a terminal (the workflow then refuses to write
    unless --yes was given); a prompt on a terminal."""
    if assume_yes or not _terminal():
        return None

    def ask(plan) -> bool:
        for line in describe(plan):
            click.echo(line, err=True)
        return click.confirm(f"{plan.action.capitalize()} {plan.app} to {plan.target}?", default=False, err=True)

    return ask


def emit_result(s, result) -> None:
    from .output import emit_data

    if s.output in ("json", "yaml"):
        emit_data(result.as_dict(), s.output)
        return
    if result.dry_run:
        for line in describe(result.plan):
            click.echo(line)
        click.echo("dry run: nothing was written")
        return
    plan = result.plan
    synced = ", Synced and Healthy" if result.synced else " (not synced: --no-sync)"
    click.echo(f"{plan.app} in {plan.target}: {plan.image}@{plan.digest} at commit {result.commit[:12]}{synced}")


@click.command("promote")
@global_options()
@click.argument("app")
@click.option("--to", "target", metavar="ENV", help="Environment to promote to (default: the one after --from).")
@click.option("--from", "source", metavar="ENV", help="Environment to promote from (default: the one before --to, "
              "or dev).")
@release_change_options
@click.pass_context
def command(ctx: click.Context, app: str, target: str | None, source: str | None, dry_run: bool, assume_yes: bool,
            no_sync: bool, timeout: str, git_token_file: str | None) -> int:
    """Promote APP: the next environment gets exactly the image digest healthy in the one before it.

    \b
    Checks, before anything is written: the source environment's Application
    is Synced and Healthy (for at least its promotion.soak), and Argo CD, the
    live Deployment and the overlay in git name the same digest. Shows the
    change, asks (or --yes), commits the target overlay (one commit, never a
    force push), asks Argo CD to sync the target at that commit and waits
    until it is Synced there and Healthy.

    Exit status: 0 promoted, 1 refused or failed, 2 bad input or no terminal to ask on.
    """
    from ..workflows import promote as workflow
    from .output import reporter

    s = settings(ctx)
    seconds = parse_duration(timeout)
    opts = workflow.PromoteOptions(app=app, config=s.config, kubeconfig=s.kubeconfig, context=s.context,
                                   source=source, target=target, dry_run=dry_run, sync=not no_sync, timeout=seconds,
                                   git_token_file=git_token_file, confirm=confirm_on_terminal(assume_yes),
                                   ask=not assume_yes)
    emit_result(s, workflow.run(opts, reporter=reporter(s)))
    return 0

