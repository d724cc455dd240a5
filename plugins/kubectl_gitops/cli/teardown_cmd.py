"""``kubectl gitops teardown``: delete the platform's DigitalOcean resources, after showing them."""

from __future__ import annotations

import sys

import click

from .options import global_options, settings


def _stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return [("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1]).rstrip() for r in rows]


def _print_plan(plan, *, dry_run: bool, err: bool = False) -> None:
    if plan.deletions:
        click.echo(f"{'Would delete' if dry_run else 'To delete'} for platform {plan.platform}:", err=err)
        for line in _table([("KIND", "NAME", "WHY")] + [(i.kind, i.name, i.reason) for i in plan.deletions]):
            click.echo(f"  {line}", err=err)
    else:
        click.echo(f"Nothing of platform {plan.platform} to delete.", err=err)
    if plan.kept:
        click.echo("Left alone:", err=err)
        for line in _table([("KIND", "NAME", "WHY")] + [(i.kind, i.name, i.reason) for i in plan.kept]):
            click.echo(f"  {line}", err=err)


@click.command("teardown")
@global_options()
@click.option("--yes", "-y", "assume_yes", is_flag=True, help="Delete without asking (needed without a terminal).")
@click.option("--dry-run", is_flag=True, help="Only show what would be deleted.")
@click.option("--delete-registry", is_flag=True,
              help="Also delete the container registry and every image in it (kept by default).")
@click.option("--keep-volumes", is_flag=True,
              help="Keep the volumes and snapshots of the clusters' persistent volume claims.")
@click.option("--token-file", type=click.Path(dir_okay=False), metavar="FILE",
              help="File holding the DigitalOcean API token (default: $DIGITALOCEAN_TOKEN or "
                   "$DIGITALOCEAN_ACCESS_TOKEN).")
@click.pass_context
def command(ctx: click.Context, assume_yes: bool, dry_run: bool, delete_registry: bool, keep_volumes: bool,
            token_file: str | None) -> int:
    """Delete the platform's clusters, load balancers, DNS records and kubeconfig entries.

    \b
    Only resources tagged with the platform (kubectl-gitops:<name>) are
    touched; load balancers go with their clusters so none keeps billing.
    The registry is kept unless --delete-registry. Shows the list and asks
    first (--yes to skip; required when there is no terminal). Safe to
    re-run after a failure.

    Exit status: 0 done (or nothing to do), 1 failed, 2 bad input or declined.
    """
    import os

    from ..adapters import config_file
    from ..core.errors import UsageError
    from ..workflows import infra
    from ..workflows import teardown as workflow
    from .output import emit_data, reporter

    s = settings(ctx)
    config = config_file.load(s.config)
    if dry_run and assume_yes:
        raise UsageError("--dry-run and --yes exclude each other", hint="--dry-run deletes nothing")
    token = infra.resolve_token(token_file, os.environ)
    report = reporter(s)
    if token is None and dry_run:
        report.warning("no DigitalOcean token: listing what teardown looks for, not what exists")
        plan = workflow.offline_plan(config, kubeconfig=s.kubeconfig, delete_registry=delete_registry)
    elif token is None:
        raise UsageError("no DigitalOcean token: set DIGITALOCEAN_TOKEN (or DIGITALOCEAN_ACCESS_TOKEN) or pass "
                         "--token-file", hint="teardown reads the account to find what carries the platform's tag")
    else:
        plan = workflow.plan_teardown(config, token=token, reporter=report, kubeconfig=s.kubeconfig,
                                      delete_registry=delete_registry, keep_volumes=keep_volumes)
    as_data = s.output in ("json", "yaml")
    if dry_run or not plan.deletions:
        if as_data:
            emit_data({**plan.as_dict(), "dryRun": dry_run}, s.output)
        else:
            _print_plan(plan, dry_run=True)
        return 0
    if not as_data:
        _print_plan(plan, dry_run=False)
    if not assume_yes:
        if not _stdin_is_terminal():
            raise UsageError("teardown deletes resources and there is no terminal to ask on",
                             hint="pass --yes to confirm, or --dry-run to only list them")
        if as_data:
            _print_plan(plan, dry_run=False, err=True)
        if not click.confirm(f"Delete these {len(plan.deletions)} resources of platform {plan.platform}?",
                             default=False, err=True):
            click.echo("Nothing deleted.", err=True)
            return 2
    result = workflow.teardown(config, plan, token=token, reporter=report)
    if as_data:
        emit_data(result.as_dict(), s.output)
    else:
        deleted = len(result.deleted)
        click.echo(f"Deleted {deleted} resource(s) of platform {plan.platform}.")
    return 0
