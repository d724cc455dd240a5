"""``kubectl gitops password``: print the Argo CD admin password (``--rotate``: set a new one first)."""

from __future__ import annotations

import click

from .options import global_options, settings


@click.command("password")
@global_options()
@click.option("--rotate", is_flag=True,
              help="Set a new random password, print it, and delete the initial-password Secret.")
@click.pass_context
def command(ctx: click.Context, rotate: bool) -> int:
    """Print the Argo CD admin password (user admin), followed by a newline.

    \b
    Reads Secret argocd-initial-admin-secret in namespace argocd (-n for
    another). With --rotate: sets a new random password in argocd-secret,
    deletes the initial Secret and prints the new password, which is then
    stored nowhere else. The password goes to stdout only.

    Exit status: 0 printed, 1 Argo CD missing or the password unavailable.
    """
    from ..workflows import password as workflow
    from .output import emit_data, reporter

    s = settings(ctx)
    opts = workflow.PasswordOptions(kubeconfig=s.kubeconfig, context=s.context, namespace=s.namespace or "argocd",
                                    rotate=rotate)
    result = workflow.run(opts, reporter=reporter(s))
    if s.output in ("json", "yaml"):
        emit_data({"username": "admin", "password": result.password}, s.output)
    else:
        click.echo(result.password)
    return 0
