"""Entry points: ``kubectl-gitops``, ``argocd-gitops`` and ``kubectl_complete-gitops``.

kubectl runs ``kubectl-gitops`` for every ``kubectl gitops ...`` (its plugin lookup
takes the longest ``kubectl-gitops-*`` name on PATH and stops at the first flag), so
this one executable dispatches every subcommand itself; there are deliberately no
``kubectl-gitops-<command>`` executables: kubectl would list each of them as a
second completion candidate and a second plugin, and krew links one file per
plugin. Help and usage speak as ``kubectl gitops`` or, when started as
``argocd-gitops`` (Argo CD >= 3.1 runs ``argocd-<name>`` for ``argocd <name>``),
as ``argocd gitops``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from ..core.errors import ConfigError, GitopsError
from . import (
    bootstrap_cmd,
    build_cmd,
    history_cmd,
    init_cmd,
    password_cmd,
    promote_cmd,
    registry_secret_cmd,
    rollback_cmd,
    status_cmd,
    teardown_cmd,
    validate_cmd,
    webhook_cmd,
)
from .options import global_options

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT_SETTINGS)
@global_options()
def cli() -> None:
    """GitOps on DigitalOcean or any Kubernetes cluster: Argo CD, Tekton and
    ingress-nginx from one config file (gitops.yaml).

    \b
    Start here:
      init        write a commented gitops.yaml
      validate    check gitops.yaml and every object the platform would install
      bootstrap   install the platform (start with --dry-run: no token, no cluster needed)
      teardown    delete the platform's DigitalOcean resources (shows them, asks first)
      status      is the platform healthy: components, clusters, applications
      password    print (or --rotate) the Argo CD admin password
    """


cli.add_command(init_cmd.command)
cli.add_command(validate_cmd.command)
cli.add_command(bootstrap_cmd.command)
cli.add_command(build_cmd.command)
cli.add_command(build_cmd.builds_command)
cli.add_command(build_cmd.logs_command)
cli.add_command(teardown_cmd.command)
cli.add_command(status_cmd.command)
cli.add_command(password_cmd.command)
cli.add_command(promote_cmd.command)
cli.add_command(rollback_cmd.command)
cli.add_command(history_cmd.command)
cli.add_command(webhook_cmd.command)
cli.add_command(registry_secret_cmd.command)


def _prog_name(argv0: str) -> str:
    base = os.path.basename(argv0)
    if base.lower().endswith(".exe"):  # Windows: pip's launchers, the release archive's
        base = base[:-4]
    if base.startswith("argocd-"):
        return "argocd " + base[len("argocd-"):].replace("-", " ")
    if base.startswith("kubectl-"):
        return "kubectl " + base[len("kubectl-"):].replace("-", " ").replace("_", "-")
    return "kubectl gitops"


def _run(command: click.Command, args: Sequence[str] | None, prog_name: str) -> int:
    from .output import error

    argv = list(sys.argv[1:] if args is None else args)
    argv = _kubeconform_spellings(command, argv)
    verbose = sum(a.count("v") for a in argv if a.startswith("-v") and set(a[1:]) == {"v"}) + argv.count("--verbose")
    try:
        result = command.main(args=argv, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:  # one line: what is wrong, and where the help is
        where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        error(exc.format_message().replace("\n", " ") + where)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        error("aborted")
        return 130
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except ConfigError as exc:
        error(str(exc))
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        return exc.exit_code
    except GitopsError as exc:
        error(str(exc))
        if verbose >= 2 and exc.__cause__ is not None:
            import traceback

            traceback.print_exception(exc.__cause__)
        return exc.exit_code
    except BrokenPipeError:
        return 1
    except Exception as exc:  # a bug: say so plainly, traceback on request
        error(f"internal error: {exc.__class__.__name__}: {exc} (run with -vv for the traceback)")
        if verbose >= 2:
            import traceback

            traceback.print_exc()
        return 1
    return result if isinstance(result, int) else 0


def _kubeconform_spellings(command: click.Command, argv: list[str]) -> list[str]:
    """``validate``'s arguments with kubeconform's single-dash long flags mapped to ours (one note per flag that
    means nothing here), so a kubeconform line in a CI script works with only the binary's name changed."""
    if command.name == "validate":
        start = 0
    elif "validate" in argv:
        start = argv.index("validate") + 1
    else:
        return argv
    from .validate_cmd import kubeconform_args

    rest, notes = kubeconform_args(argv[start:])
    for note in notes:
        click.echo(f"⚠ {note}", err=True)
    return argv[:start] + rest


def main(args: Sequence[str] | None = None) -> None:
    """``kubectl-gitops`` and ``argocd-gitops``."""
    sys.exit(_run(cli, args, _prog_name(sys.argv[0])))


def main_complete() -> None:
    """``kubectl_complete-gitops``: completion of ``kubectl gitops ...`` for kubectl's shell completion."""
    from .complete import answer

    for line in answer(cli, sys.argv[1:]):
        click.echo(line)
