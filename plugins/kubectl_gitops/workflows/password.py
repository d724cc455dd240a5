"""`kubectl gitops password`: the Argo CD admin password, and `--rotate` to set a new one.

Argo CD keeps the first admin password in Secret ``argocd-initial-admin-secret`` (key
``password``) until someone deletes it, which its documentation advises once the password is
changed. The password in use is a bcrypt hash in Secret ``argocd-secret`` (keys
``admin.password`` and ``admin.passwordMtime``; a newer mtime invalidates sessions issued before
it), so the initial password is printed only while it still matches that hash. Rotating writes
a new random password there the same way Argo CD does (bcrypt, cost 10, ``$2a$``), deletes the
initial Secret, and returns the new password: it exists nowhere else.
"""

from __future__ import annotations

import base64
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..adapters import kube
from ..core.errors import GitopsError
from ..core.progress import Reporter

INITIAL_SECRET = "argocd-initial-admin-secret"
ARGOCD_SECRET = "argocd-secret"
PASSWORD_LENGTH = 24
BCRYPT_COST = 10  # Argo CD's (golang.org/x/crypto/bcrypt DefaultCost)


@dataclass(frozen=True)
class PasswordOptions:
    """Attributes:
    kubeconfig: kubeconfig path (default: ``KUBECONFIG`` or ``~/.kube/config``).
    context: context of Argo CD's cluster (default: the current context).
    namespace: Argo CD's namespace.
    rotate: set a new random password and delete the initial one.
    """

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str = "argocd"
    rotate: bool = False
    request_timeout: float = 10.0


@dataclass(frozen=True)
class PasswordResult:
    password: str = field(repr=False)
    rotated: bool
    context: str
    namespace: str


def new_password(length: int = PASSWORD_LENGTH) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def argocd_hash(password: str) -> str:
    """The bcrypt hash of ``password`` as Argo CD writes it into ``admin.password``."""
    import bcrypt

    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_COST, prefix=b"2a")).decode()


def _matches(password: str, hashed: bytes) -> bool:
    import bcrypt

    try:
        return bcrypt.checkpw(password.encode(), hashed)
    except ValueError:  # not a bcrypt hash: nothing to compare with
        return True


def _not_installed(conn: kube.Kube, namespace: str) -> GitopsError:
    return GitopsError(
        f"Argo CD is not installed on context {conn.context}: no Secret {namespace}/{ARGOCD_SECRET}",
        hint="run `kubectl gitops bootstrap`, or pass --context or -n for the cluster and namespace of Argo CD",
    )


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def run(opts: PasswordOptions, *, reporter: Reporter | None = None) -> PasswordResult:
    """Read (or with ``rotate``, replace) the Argo CD admin password.

    Raises:
        GitopsError: Argo CD is not installed there, or the initial password was deleted already.
        KubeError: the cluster cannot be used.
    """
    reporter = reporter or Reporter()
    ns = opts.namespace
    with kube.connect(kubeconfig=opts.kubeconfig, context=opts.context, request_timeout=opts.request_timeout) as conn:
        if not opts.rotate:
            initial = conn.get("v1", "Secret", INITIAL_SECRET, ns)
            encoded = ((initial or {}).get("data") or {}).get("password")
            argocd_secret = conn.get("v1", "Secret", ARGOCD_SECRET, ns)
            if encoded:
                password = base64.b64decode(encoded).decode()
                in_use = ((argocd_secret or {}).get("data") or {}).get("admin.password")
                if in_use and not _matches(password, base64.b64decode(in_use)):
                    raise GitopsError(
                        f"the password in Secret {ns}/{INITIAL_SECRET} no longer works: the admin password was "
                        "changed since",
                        hint="use the new one, or set another with `kubectl gitops password --rotate`",
                    )
                return PasswordResult(password, rotated=False, context=conn.context, namespace=ns)
            if argocd_secret is None:
                raise _not_installed(conn, ns)
            raise GitopsError(
                f"the initial admin password is gone: Secret {ns}/{INITIAL_SECRET} was deleted (Argo CD advises "
                "that once the password is changed)",
                hint="set a new one with `kubectl gitops password --rotate`",
            )
        if conn.get("v1", "Secret", ARGOCD_SECRET, ns) is None:
            raise _not_installed(conn, ns)
        password = new_password()
        mtime = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        conn.patch("v1", "Secret", ARGOCD_SECRET, ns,
                   patch={"data": {"admin.password": _b64(argocd_hash(password)), "admin.passwordMtime": _b64(mtime)}})
        reporter.success(f"set a new Argo CD admin password in Secret {ns}/{ARGOCD_SECRET} (context {conn.context})")
        if conn.delete("v1", "Secret", INITIAL_SECRET, ns):
            reporter.success(f"deleted Secret {ns}/{INITIAL_SECRET}")
        return PasswordResult(password, rotated=True, context=conn.context, namespace=ns)
