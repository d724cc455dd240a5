"""What the edges accept as basic-authentication users (htpasswd files); no I/O.

ingress-nginx hands the Secret's ``auth`` key to nginx, which reads every htpasswd scheme it knows. Envoy
Gateway (v1.9, SecurityPolicy ``basicAuth``) reads the ``.htpasswd`` key and accepts only unsalted SHA-1
entries (``user:{SHA}<base64 of 20 bytes>``, what ``htpasswd -nbs user password`` prints); anything else makes
it refuse the policy and answer 500 on the route. The same ``{SHA}`` entries under both keys serve both edges.
"""

from __future__ import annotations

import base64
import binascii

KEY = {"ingress-nginx": "auth", "gateway": ".htpasswd"}


def problem(text: str, *, edge: str) -> str | None:
    """Why ``text`` is not a users file ``edge`` accepts (a verb phrase: "holds no user"), or None."""
    entries = [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not entries:
        return "holds no user"
    for number, line in enumerate(entries, 1):
        user, sep, password = line.partition(":")
        if not sep or not user or not password:
            return f"has entry {number} that is not user:password"
        if edge != "gateway":
            continue
        if not password.startswith("{SHA}"):
            return f"has entry {number} ({user}) that is not {{SHA}}, the only kind Envoy Gateway accepts"
        try:
            digest = base64.b64decode(password[len("{SHA}"):], validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) != 20:
            return f"has entry {number} ({user}) that is not a base64 SHA-1 digest"
    return None
