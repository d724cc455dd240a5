"""``kubectl gitops webhook``: the push webhook to set on an app's repository."""

from __future__ import annotations

import click

from .options import global_options, settings


@click.command("webhook")
@global_options()
@click.argument("app")
@click.option("--show-secret", is_flag=True, help="Also print the webhook secret (read from the cluster).")
@click.pass_context
def command(ctx: click.Context, app: str, show_secret: bool) -> int:
    """Show the push webhook to add to APP's repository so its pushes start builds.

    \b
    Payload URL, content type, events, and which pushes build (the revision
    branch, tags matching build_on.tags). The secret the platform checks
    signatures with is printed only with --show-secret, read from Secret
    ci/git-push-webhook of the current context (--context for another).

    Exit status: 0 shown, 1 the secret cannot be read, 2 bad input.
    """
    from ..workflows import webhook as workflow
    from .output import emit_data

    s = settings(ctx)
    hook = workflow.run(workflow.WebhookOptions(app=app, config=s.config, kubeconfig=s.kubeconfig, context=s.context,
                                                show_secret=show_secret))
    if s.output in ("json", "yaml"):
        data = hook.as_dict()
        if not show_secret:
            data.pop("secret")
        emit_data(data, s.output)
        return 0
    rows = [("Repository", hook.repository), ("Payload URL", hook.url), ("Content type", hook.content_type),
            ("Events", ", ".join(hook.events) + " (tag pushes are push events)"),
            ("Secret", hook.secret if hook.secret is not None else "(hidden: --show-secret prints it)"),
            ("Builds", hook.builds)]
    if hook.settings_url:
        rows.append(("Set it at", hook.settings_url))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key + ':':<{width + 1}} {value}")
    return 0
