"""``kubectl gitops bootstrap``: provision (or take) clusters and install the platform."""

from __future__ import annotations

import re

import click

from .options import global_options, settings

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$")


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``1h30m`` -> seconds."""
    match = _DURATION.match(text.strip())
    if not text.strip() or not match or not any(match.groups()):
        raise click.BadParameter(f"{text!r}: expected a duration like 900s, 15m or 1h", param_hint="--timeout")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise click.BadParameter(f"{text!r}: must be more than zero", param_hint="--timeout")
    return float(total)


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=False)) + "  " + r[-1] for r in rows]


@click.command("bootstrap")
@global_options()
@click.option("--provider", type=click.Choice(["digitalocean", "existing"]),
              help="Override gitops.yaml's provider: create the clusters on DigitalOcean, or use the "
                   "current (--context) cluster.")
@click.option("--dry-run", is_flag=True,
              help="Print the whole plan and validate every object; needs no token and no cluster, writes nothing.")
@click.option("--timeout", "timeout", default="15m", show_default=True, metavar="DURATION",
              help="Time the whole run may take (helm and readiness waits), e.g. 900s, 15m, 1h.")
@click.option("--token-file", type=click.Path(dir_okay=False), metavar="FILE",
              help="File holding the DigitalOcean API token (default: $DIGITALOCEAN_TOKEN or "
                   "$DIGITALOCEAN_ACCESS_TOKEN).")
@click.option("--chart", "chart", type=click.Path(file_okay=False), metavar="DIR",
              help="Install this chart directory instead of the packaged one (air-gapped clusters: "
                   "put the dependency archives in its charts/).")
@click.option("--registry-auth", type=click.Path(dir_okay=False), metavar="FILE",
              help="docker config.json with push credentials for the builds (registries other than "
                   "DigitalOcean's); stored only in the CI namespace.")
@click.option("--helm", "helm_path", metavar="PATH", envvar="GITOPS_HELM",
              help="helm binary (default: helm on PATH; Helm 4 or >= 3.19).")
@click.option("--git-token-file", type=click.Path(dir_okay=False), metavar="FILE",
              help="File holding a token for the GitOps repository over HTTPS (default: $GITOPS_GIT_TOKEN, "
                   "user name $GITOPS_GIT_USERNAME or x-access-token; without a token, git's own credential "
                   "helper or SSH agent). Argo CD and the builds get read access from it.")
@click.option("--git-ssh-key-file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Private SSH key Argo CD reads an ssh GitOps repository with (pushes use your SSH agent).")
@click.option("--offline", is_flag=True,
              help="With --dry-run: contact nothing, not even DigitalOcean with a token you have (plans as if "
                   "the account were empty).")
@click.pass_context
def command(ctx: click.Context, provider: str | None, dry_run: bool, timeout: str, token_file: str | None,
            chart: str | None, registry_auth: str | None, helm_path: str | None, git_token_file: str | None,
            git_ssh_key_file: str | None, offline: bool) -> int:
    """Install the platform: infrastructure, ingress-nginx, Argo CD, Tekton, the apps.

    \b
    Phases: preflight -> infrastructure -> platform -> repository (the GitOps
    repository gets the platform and every app, one commit) -> handover to Argo CD.
    Safe to re-run: an up-to-date platform is left untouched, and a run that
    stopped half-way is completed. Start with --dry-run to see the plan.

    Exit status: 0 done (or a valid plan), 1 failed, 2 bad input or config.
    """
    import os

    from ..core.errors import UsageError
    from ..workflows import bootstrap as workflow
    from .output import emit_data, reporter

    s = settings(ctx)
    if offline and not dry_run:
        raise UsageError("--offline plans without contacting anything: it needs --dry-run")
    if offline and token_file:
        raise UsageError("--offline and --token-file exclude each other", hint="an offline plan reads no account")
    seconds = parse_duration(timeout)
    opts = workflow.BootstrapOptions(
        config=s.config, kubeconfig=s.kubeconfig, context=s.context, provider=provider, dry_run=dry_run,
        timeout=seconds, token_file=token_file, chart=chart, helm=helm_path, registry_auth=registry_auth,
        git_token_file=git_token_file, git_ssh_key_file=git_ssh_key_file, environ=dict(os.environ),
        offline=offline,
    )
    result = workflow.run(opts, reporter=reporter(s))
    if s.output in ("json", "yaml"):
        emit_data(result.as_dict(), s.output)
    else:
        _print_text(result, verbose=s.verbose > 0, offline=offline)
    return 0 if result.ok else 1


def _print_text(result, *, verbose: bool, offline: bool = False) -> None:
    if result.dry_run:
        title = f"Plan for platform {result.platform} (provider {result.provider})"
        if result.offline and result.provider == "digitalocean":
            title += (", --offline" if offline else ", no DigitalOcean token") + \
                ": planned as if the account were empty"
        click.echo(title)
        rows = [("PHASE", "KIND", "NAME", "ACTION", "WHY")]
        for phase in result.phases:
            rows += [(phase.name, c.kind, c.name, c.action, c.detail) for c in phase.changes]
        for line in _table(rows):
            click.echo(line.rstrip())
        if verbose:
            for release, kind, name in result.objects:
                click.echo(f"  {release}: {kind} {name}")
            if result.diff:
                click.echo(result.diff.rstrip("\n"))
        for problem in result.invalid_objects:
            click.echo(f"invalid: {problem}")
        return
    for phase in result.phases:
        click.echo(f"{phase.name}: {phase.summary}")
        for c in phase.changes:
            if c.changed or verbose:
                click.echo(f"  {c.action:<10} {c.kind} {c.name}")
    click.echo("up to date" if not result.changed else f"Argo CD: {result.argocd_url} "
               "(admin password: kubectl gitops password)")
