"""``kubectl gitops init``: ask (on a terminal) or take flags, then write gitops.yaml."""

from __future__ import annotations

import sys

import click

from ..core.errors import UsageError
from .options import global_options, settings


def _app(value: str) -> tuple[str, str]:
    name, sep, url = value.partition("=")
    if not sep or not name or not url:
        raise click.BadParameter(f"{value!r}: expected NAME=GIT_URL", param_hint="--app")
    return name, url


@click.command("init")
@global_options()
@click.option("--name", help="Platform name (prefixes clusters, tags cloud resources).")
@click.option("--provider", type=click.Choice(["digitalocean", "existing"]), help="Where the clusters come from.")
@click.option("--region", help="DigitalOcean region (provider digitalocean), e.g. ams3.")
@click.option("--domain", help="Base DNS domain; Argo CD is served at argo.<domain>.")
@click.option("--registry", "registry", help="Container registry name (provider digitalocean).")
@click.option("--registry-server", metavar="HOST",
              help="Registry host for provider existing (a registry other than DigitalOcean's), e.g. ghcr.io/you.")
@click.option("--registry-tier", type=click.Choice(["starter", "basic", "professional"]), default=None,
              help="Registry tier (default: basic).")
@click.option("--environments", type=click.Choice(["dev", "dev,prod"]), default=None,
              help="Environments to create (default: dev,prod).")
@click.option("--shared-cluster", is_flag=True, default=None,
              help="One cluster for all environments (default for provider existing).")
@click.option("--cluster-per-environment", is_flag=True, default=None,
              help="One cluster per environment (default for provider digitalocean).")
@click.option("--kube-context", help="Kube context of the existing cluster (provider existing).")
@click.option("--gitops-repo", help="Clone URL of the GitOps repository Argo CD syncs from.")
@click.option("--gitops-branch", default="main", show_default=True, help="Branch Argo CD follows.")
@click.option("--gitops-path", default="platform", show_default=True, help="Directory in the GitOps repository.")
@click.option("--app", "apps", multiple=True, metavar="NAME=GIT_URL", help="An application (repeatable).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask: take flags and defaults (required without a terminal).")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--helm", "helm_path", metavar="PATH", envvar="GITOPS_HELM",
              help="helm binary used to check the chart renders (default: helm on PATH).")
@click.pass_context
def command(ctx: click.Context, **answers: object) -> int:
    """Write a commented gitops.yaml (the file --config points at).

    On a terminal it asks for what the flags do not say; with --yes (or no
    terminal) every required answer must come from a flag. An existing file is
    never replaced without --force.
    """
    from pathlib import Path

    from ..workflows import init as workflow
    from .output import emit_data, reporter

    s = settings(ctx)
    if answers["shared_cluster"] and answers["cluster_per_environment"]:
        raise UsageError("--shared-cluster and --cluster-per-environment exclude each other", hint="pass one")
    path = Path(s.config)
    if path.exists() and not answers["force"]:
        raise UsageError(f"{path} already exists", hint="pass --force to overwrite it, or --config for another file")
    interactive = not answers["yes"] and sys.stdin.isatty()

    def need(key: str, prompt: str, default: str | None = None, choices: list[str] | None = None) -> str | None:
        value = answers.get(key)
        if value:
            return str(value)
        if interactive:
            return click.prompt(prompt, default=default, type=click.Choice(choices) if choices else str)
        return default

    provider = need("provider", "Provider", "digitalocean", ["digitalocean", "existing"])
    name = need("name", "Platform name")
    domain = need("domain", "Domain (Argo CD at argo.<domain>)")
    region = need("region", "DigitalOcean region", "ams3") if provider == "digitalocean" else answers["region"]
    registry = need("registry", "Registry name", name) if provider == "digitalocean" else answers["registry"]
    registry_server = answers["registry_server"]
    if provider == "digitalocean" and registry_server:
        raise UsageError("--registry-server is for provider existing",
                         hint="provider digitalocean uses the account's registry (registry.digitalocean.com)")
    if provider == "existing" and (answers["apps"] or registry or registry_server) and not registry_server:
        registry_server = need("registry_server", "Registry host the builds push to (e.g. ghcr.io/you)")
        if not registry_server:
            raise UsageError("applications on provider existing need a registry: pass --registry-server HOST",
                             hint="and at bootstrap --registry-auth with its push credentials")
    if registry_server and not registry:
        registry = name
    environments = need("environments", "Environments", "dev,prod", ["dev", "dev,prod"])
    gitops_repo = need("gitops_repo", "GitOps repository URL")
    missing = [flag for flag, value in (("--name", name), ("--domain", domain), ("--gitops-repo", gitops_repo))
               if not value]
    if missing:
        raise UsageError(f"missing {', '.join(missing)}",
                         hint="give them as flags, or run on a terminal without --yes to be asked")
    shared = True if answers["shared_cluster"] else (False if answers["cluster_per_environment"] else None)
    opts = workflow.InitOptions(
        path=path,
        name=str(name),
        provider=str(provider),
        domain=str(domain),
        gitops_repo=str(gitops_repo),
        region=str(region) if region else None,
        registry=str(registry) if registry else None,
        registry_tier=str(answers["registry_tier"] or "basic"),
        registry_server=str(registry_server) if registry_server else None,
        environments=tuple(str(environments).split(",")),
        shared_cluster=bool(shared) if shared is not None else provider != "digitalocean",
        context=answers["kube_context"] or s.context,  # type: ignore[arg-type]
        gitops_branch=str(answers["gitops_branch"]),
        gitops_path=str(answers["gitops_path"]),
        applications=tuple(_app(str(a)) for a in answers["apps"]),  # type: ignore[union-attr]
        force=bool(answers["force"]),
        helm=answers["helm_path"],  # type: ignore[arg-type]
    )
    result = workflow.run(opts, reporter=reporter(s))
    if s.output != "text":
        emit_data({"path": str(result.path), "overwritten": result.overwritten,
                   "environments": list(result.environments), "applications": result.applications}, s.output)
    else:
        click.echo(f"Wrote {result.path}. Next: kubectl gitops validate" +
                   ("" if str(result.path) == "gitops.yaml" else f" --config {result.path}"))
    return 0
