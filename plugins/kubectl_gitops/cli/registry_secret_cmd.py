"""``kubectl gitops registry-secret``: where the registry credentials live; renew or add them."""

from __future__ import annotations

import click

from .options import global_options, settings


@click.command("registry-secret")
@global_options()
@click.option("--rotate", is_flag=True,
              help="Issue fresh read-write DigitalOcean credentials into the push Secret (CI namespace only).")
@click.option("--registry-auth", type=click.Path(dir_okay=False), metavar="FILE",
              help="With -n/--namespace: a docker config.json with read-only credentials for a registry outside "
                   "DigitalOcean, written as that namespace's pull Secret.")
@click.option("--token-file", type=click.Path(dir_okay=False), metavar="FILE",
              help="DigitalOcean token for --rotate (default: $DIGITALOCEAN_TOKEN, $DIGITALOCEAN_ACCESS_TOKEN).")
@click.pass_context
def command(ctx: click.Context, rotate: bool, registry_auth: str | None, token_file: str | None) -> int:
    """Show where the registry credentials live: the push Secret and each environment's pull access.

    \b
    For each: namespace, Secret, where it came from, registry, read-only or
    read-write, and when it expires. Warns when the push credentials expire
    within 7 days. Credentials themselves are never printed.
    --rotate                      renew the push credentials (DigitalOcean); the
                                  Secret is replaced in place, never missing
    -n NS --registry-auth FILE    add a read-only pull Secret to namespace NS

    Exit status: 0 shown (and changed), 1 the cluster or DigitalOcean failed, 2 bad input.
    """
    from ..workflows import registry_secret as workflow
    from .output import emit_data, reporter

    s = settings(ctx)
    if s.namespace and not registry_auth:
        raise click.UsageError("-n/--namespace goes with --registry-auth FILE (the pull Secret to write there)")
    opts = workflow.RegistrySecretOptions(config=s.config, kubeconfig=s.kubeconfig, context=s.context, rotate=rotate,
                                          namespace=s.namespace, registry_auth=registry_auth, token_file=token_file)
    report = reporter(s)
    result = workflow.run(opts, reporter=report)
    if result.warning:
        report.warning(result.warning)
    if s.output in ("json", "yaml"):
        emit_data(result.as_dict(), s.output)
        return 0
    rows = [("PURPOSE", "ENVIRONMENT", "NAMESPACE", "SECRET", "SOURCE", "REGISTRY", "ACCESS", "EXPIRES")]
    rows += [(c.purpose, c.environment or "-", c.namespace, c.secret or "-", c.source, ",".join(c.registries) or "-",
              c.access, c.expires) for c in result.credentials]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0
