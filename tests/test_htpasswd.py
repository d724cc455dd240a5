"""The users files each edge accepts in front of the dashboard (core.htpasswd), against htpasswd's own output."""

from __future__ import annotations

import base64
import hashlib

import pytest

from kubectl_gitops.core import htpasswd

SHA = "{SHA}" + base64.b64encode(hashlib.sha1(b"s3cret").digest()).decode()  # what `htpasswd -nbs ops s3cret` prints
BCRYPT = "$2y$05$3KmEFm0HMxgHGfGQJ0Uw7e0m1c8yI9Yz0aQbE5oU3tN3Y1aYv5xJu"  # `htpasswd -nbB`
APR1 = "$apr1$VD0UN8jS$Q1ybTb4ArG8RKz1JqC9PB/"  # `htpasswd -nbm`


@pytest.mark.parametrize("edge", ["ingress-nginx", "gateway"])
def test_sha_entries_serve_both_edges(edge):
    assert htpasswd.problem(f"ops:{SHA}\r\nci:{SHA}\n", edge=edge) is None


@pytest.mark.parametrize("password", [BCRYPT, APR1, "plain"])
def test_the_gateway_edge_takes_only_sha_while_nginx_reads_every_scheme(password):
    assert htpasswd.problem(f"ops:{SHA}\nci:{password}\n", edge="ingress-nginx") is None
    assert htpasswd.problem(f"ops:{SHA}\nci:{password}\n", edge="gateway") == (
        "has entry 2 (ci) that is not {SHA}, the only kind Envoy Gateway accepts")


@pytest.mark.parametrize(("text", "expected"), [
    ("", "holds no user"),
    ("\n\n", "holds no user"),
    ("ops\n", "has entry 1 that is not user:password"),
    ("ops:{SHA}not-base64!\n", "has entry 1 (ops) that is not a base64 SHA-1 digest"),
    ("ops:{SHA}" + base64.b64encode(b"short").decode(), "has entry 1 (ops) that is not a base64 SHA-1 digest"),
])
def test_what_is_refused_says_which_entry(text, expected):
    assert htpasswd.problem(text, edge="gateway") == expected
