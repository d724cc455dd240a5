"""Global options in kubectl's style, accepted before or after the subcommand.

``kubectl gitops --context c validate`` and ``kubectl gitops validate --context c``
mean the same: each option stores its value in the root context, and a value given
after the subcommand wins. :func:`settings` turns the stored values into one frozen
:class:`Settings` for the command to use.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import click

from ..core.defaults import DEFAULT_CONFIG_FILE as DEFAULT_FILE

F = TypeVar("F", bound=Callable[..., Any])


class Settings(NamedTuple):
    """The global settings of one invocation (immutable)."""

    kubeconfig: str | None
    context: str | None
    namespace: str | None
    output: str
    config: str
    verbose: int
    quiet: bool
    color: bool


def _store(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    root = ctx.find_root()
    root.ensure_object(dict)
    if value not in (None, False, 0, ()):
        root.obj[param.name] = value
    return value


def _version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from .. import __version__

    root = ctx.find_root().info_name or "kubectl gitops"
    prog = " ".join(root.split()[:2]) if root.startswith(("kubectl ", "argocd ")) else root
    click.echo(f"{prog} {__version__}")
    ctx.exit(0)


def _option(*decls: str, **kwargs: Any) -> Callable[[F], F]:
    return click.option(*decls, expose_value=False, callback=_store, **kwargs)


def global_options(output_choices: tuple[str, ...] = ("text", "json", "yaml")) -> Callable[[F], F]:
    """Decorate a group or command with the global options."""

    def decorate(f: F) -> F:
        for opt in reversed(
            [
                _option("--kubeconfig", metavar="PATH",
                        help="Path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)."),
                _option("--context", metavar="NAME", help="Kube context to use."),
                _option("-n", "--namespace", metavar="NAME", help="Namespace, where a command works in one."),
                _option("-o", "--output", type=click.Choice(output_choices), help="Output format (default: text)."),
                _option("--config", metavar="FILE", envvar="GITOPS_CONFIG",
                        help=f"Platform config file (default: ./{DEFAULT_FILE}, env GITOPS_CONFIG)."),
                _option("-v", "--verbose", count=True, help="More detail; -vv also shows tracebacks."),
                _option("-q", "--quiet", is_flag=True, help="Only errors on stderr."),
                _option("--no-color", is_flag=True, help="No colour (also when NO_COLOR is set)."),
                click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
                             help="Print the version and exit."),
            ]
        ):
            f = opt(f)
        return f

    return decorate


def settings(ctx: click.Context) -> Settings:
    """The global settings of this invocation."""
    obj = ctx.find_root().obj or {}
    if obj.get("quiet") and obj.get("verbose"):
        from ..core.errors import UsageError

        raise UsageError("-q/--quiet and -v/--verbose exclude each other", hint="pass one")
    return Settings(
        kubeconfig=obj.get("kubeconfig"),
        context=obj.get("context"),
        namespace=obj.get("namespace"),
        output=obj.get("output", "text"),
        config=obj.get("config") or DEFAULT_FILE,
        verbose=obj.get("verbose", 0),
        quiet=bool(obj.get("quiet")),
        color=not obj.get("no_color") and "NO_COLOR" not in os.environ,
    )


def git_token_file_option(f: F) -> F:
    """``--git-token-file`` of the commands that read or write the GitOps repository (not bootstrap, whose help
    also says what the token grants Argo CD and the builds)."""
    return click.option("--git-token-file", type=click.Path(dir_okay=False), metavar="FILE",
                        help="Token for the GitOps repository over HTTPS (default: $GITOPS_GIT_TOKEN; else git's own "
                             "credentials).")(f)


def release_change_options(f: F) -> F:
    """What promote and rollback share: ``--dry-run``, ``--yes``, ``--no-sync``, ``--timeout`` and
    ``--git-token-file``; each commits one environment's release file and has Argo CD sync it."""
    f = git_token_file_option(f)
    for option in reversed((
        click.option("--dry-run", is_flag=True, help="Check and show the change; write nothing."),
        click.option("-y", "--yes", "assume_yes", is_flag=True, help="Do not ask (needed without a terminal)."),
        click.option("--no-sync", is_flag=True, help="Stop after the push: do not ask Argo CD to sync the "
                     "environment."),
        click.option("--timeout", default="10m", show_default=True, metavar="DURATION",
                     help="How long to wait for the environment to be Synced and Healthy."),
    )):
        f = option(f)
    return f
