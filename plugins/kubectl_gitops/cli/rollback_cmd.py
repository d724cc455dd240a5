"""``kubectl gitops rollback``: an environment goes back to the digest it ran before."""

from __future__ import annotations

import click

from .bootstrap_cmd import parse_duration
from .options import global_options, release_change_options, settings
from .promote_cmd import confirm_on_terminal, emit_result


@click.command("rollback")
@global_options()
@click.argument("app")
@click.option("--env", "target", metavar="ENV", help="Environment to roll back (default: the last one, e.g. prod).")
@click.option("--to", "digest", metavar="DIGEST", help="Digest to go back to (default: the one it ran before); "
              "it must have run there before.")
@release_change_options
@click.pass_context
def command(ctx: click.Context, app: str, target: str | None, digest: str | None, dry_run: bool, assume_yes: bool,
            no_sync: bool, timeout: str, git_token_file: str | None) -> int:
    """Roll APP back in an environment to the image digest it ran before.

    \b
    The previous digest comes from the overlay's history in the GitOps
    repository (see `kubectl gitops history`). Same path as promote: one
    commit, then Argo CD syncs at that commit and the command waits until the
    environment is Synced there and Healthy.

    Exit status: 0 rolled back, 1 refused or failed, 2 bad input or no terminal to ask on.
    """
    from ..workflows import promote as workflow
    from .output import reporter

    s = settings(ctx)
    seconds = parse_duration(timeout)
    opts = workflow.PromoteOptions(app=app, config=s.config, kubeconfig=s.kubeconfig, context=s.context,
                                   target=target, rollback=True, rollback_to=digest, dry_run=dry_run,
                                   sync=not no_sync, timeout=seconds, git_token_file=git_token_file,
                                   confirm=confirm_on_terminal(assume_yes), ask=not assume_yes)
    emit_result(s, workflow.run(opts, reporter=reporter(s)))
    return 0

