"""A Tekton Triggers EventListener stand-in: what the ``git-push`` EventListener the chart renders does
with one webhook delivery, run on the rendered objects themselves.

For each Trigger, in order: the interceptors (``github``: the ``X-GitHub-Event`` header must be one of
``eventTypes``, and with ``secretRef`` the body's HMAC in ``X-Hub-Signature-256`` (``sha256=``) or else
``X-Hub-Signature`` (``sha1=``) must match the Secret's key, compared in constant time; ``cel``: the
``filter`` expression evaluated by a real CEL implementation, cel-python, against ``body`` and
``header``), then the bindings (``$(body.a.b)`` from the payload, inline values as given) and the
TriggerTemplate: ``$(tt.params.x)`` substituted into each resource template. :meth:`EventListener.deliver`
returns the resources the Triggers would create.

Where it differs from Tekton Triggers v0.37: only the ``github`` and ``cel`` ClusterInterceptors; CEL
without Tekton's extension functions (``compareSecret``, ``parseJSON``, ``truncate``...) and without the
``extensions`` overlays; a CEL error fails the Trigger (upstream logs it and also drops the event); no
HTTP server, no ServiceAccount checks, no ``generateName`` resolution (the name prefix is kept).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any

import celpy

_BODY_REF = re.compile(r"\$\(body\.([A-Za-z0-9_.-]+)\)")
_TT_REF = re.compile(r"\$\(tt\.params\.([A-Za-z0-9_-]+)\)")


@dataclass
class Delivery:
    """What happened to one delivery in one Trigger."""

    trigger: str
    accepted: bool
    reason: str = ""
    resources: list[dict[str, Any]] = field(default_factory=list)


class EventListener:
    """The rendered EventListener with the TriggerBindings, TriggerTemplates and Secrets it refers to."""

    def __init__(self, objects: list[dict[str, Any]], secrets: dict[str, dict[str, str]]) -> None:
        def by_kind(kind: str) -> dict[str, dict[str, Any]]:
            return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}

        (self.listener,) = by_kind("EventListener").values()
        self.bindings = by_kind("TriggerBinding")
        self.templates = by_kind("TriggerTemplate")
        self.secrets = secrets  # Secret name -> {key: value}, in the EventListener's namespace
        self.env = celpy.Environment()

    def deliver(self, headers: dict[str, str], raw: bytes) -> list[Delivery]:
        headers = {k.lower(): v for k, v in headers.items()}
        body = json.loads(raw)
        return [self._trigger(t, headers, raw, body) for t in self.listener["spec"]["triggers"] or []]

    def created(self, headers: dict[str, str], raw: bytes) -> list[dict[str, Any]]:
        return [r for d in self.deliver(headers, raw) if d.accepted for r in d.resources]

    # ---------------------------------------------------------------- one Trigger

    def _trigger(self, trigger: dict[str, Any], headers: dict[str, str], raw: bytes, body: Any) -> Delivery:
        name = trigger["name"]
        for interceptor in trigger.get("interceptors") or []:
            params = {p["name"]: p["value"] for p in interceptor.get("params") or []}
            kind = interceptor["ref"]["name"]
            if kind == "github":
                refused = self._github(params, headers, raw)
            elif kind == "cel":
                refused = self._cel(params["filter"], headers, body)
            else:
                raise NotImplementedError(f"interceptor {kind}")
            if refused:
                return Delivery(name, False, f"{kind}: {refused}")
        values: dict[str, str] = {}
        for binding in trigger.get("bindings") or []:
            if "ref" in binding:
                for param in self.bindings[binding["ref"]]["spec"]["params"]:
                    values[param["name"]] = _from_body(param["value"], body)
            else:
                values[binding["name"]] = _from_body(binding["value"], body)
        template = self.templates[trigger["template"]["ref"]]["spec"]
        for param in template.get("params") or []:
            if param["name"] not in values:
                if "default" not in param:
                    return Delivery(name, False, f"template param {param['name']} has no value")
                values[param["name"]] = param["default"]
        resources = [_substitute(copy.deepcopy(r), values) for r in template["resourcetemplates"]]
        return Delivery(name, True, resources=resources)

    def _github(self, params: dict[str, Any], headers: dict[str, str], raw: bytes) -> str:
        event = headers.get("x-github-event", "")
        if params.get("eventTypes") and event not in params["eventTypes"]:
            return f"event type {event!r} is not allowed"
        ref = params.get("secretRef")
        if not ref:
            return ""
        signature = headers.get("x-hub-signature-256") or headers.get("x-hub-signature")
        if not signature:
            return "no X-Hub-Signature header set"
        token = self.secrets.get(ref["secretName"], {}).get(ref["secretKey"])
        if token is None:
            return f"secret {ref['secretName']} key {ref['secretKey']} not found"
        algorithm, _, given = signature.partition("=")
        digest = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}.get(algorithm)
        if digest is None:
            return f"unknown signature algorithm {algorithm!r}"
        expected = hmac.new(token.encode(), raw, digest).hexdigest()
        return "" if hmac.compare_digest(expected, given) else "payload signature check failed"

    def _cel(self, expression: str, headers: dict[str, str], body: Any) -> str:
        program = self.env.program(self.env.compile(expression))
        try:
            result = program.evaluate({"body": celpy.json_to_cel(body),
                                       "header": celpy.json_to_cel({k: [v] for k, v in headers.items()})})
        except celpy.CELEvalError as exc:
            return f"expression {expression!r} failed: {exc}"
        if isinstance(result, celpy.CELEvalError):
            return f"expression {expression!r} failed: {result}"
        return "" if bool(result) else f"expression {expression!r} did not return true"


def _from_body(value: str, body: Any) -> str:
    def lookup(match: re.Match[str]) -> str:
        node = body
        for part in match.group(1).split("."):
            node = node[part]
        return node if isinstance(node, str) else json.dumps(node)

    return _BODY_REF.sub(lookup, value)


def _substitute(node: Any, values: dict[str, str]) -> Any:
    if isinstance(node, str):
        return _TT_REF.sub(lambda m: values[m.group(1)], node)
    if isinstance(node, list):
        return [_substitute(v, values) for v in node]
    if isinstance(node, dict):
        return {k: _substitute(v, values) for k, v in node.items()}
    return node


def sign(token: str, raw: bytes) -> dict[str, str]:
    """The headers GitHub sends with a push delivery signed with ``token``."""
    return {"X-GitHub-Event": "push", "Content-Type": "application/json",
            "X-Hub-Signature-256": "sha256=" + hmac.new(token.encode(), raw, hashlib.sha256).hexdigest()}


def push_payload(clone_url: str, ref: str, *, after: str = "9" * 40, deleted: bool = False) -> bytes:
    """A push event as GitHub sends it (the fields Triggers read, and the usual neighbours)."""
    full_name = clone_url.removeprefix("https://github.com/").removesuffix(".git")
    html = f"https://github.com/{full_name}"
    return json.dumps({
        "ref": ref, "before": "0" * 40 if not deleted else after, "after": "0" * 40 if deleted else after,
        "created": False, "deleted": deleted, "forced": False, "base_ref": None,
        "compare": f"{html}/compare/{'0' * 12}...{after[:12]}",
        "commits": [] if deleted else [{"id": after, "message": "change", "distinct": True}],
        "head_commit": None if deleted else {"id": after, "message": "change"},
        "repository": {"id": 1, "name": full_name.rsplit("/", 1)[-1], "full_name": full_name, "private": False,
                       "html_url": html, "clone_url": f"{html}.git", "git_url": f"git://github.com/{full_name}.git",
                       "ssh_url": f"git@github.com:{full_name}.git", "default_branch": "main"},
        "pusher": {"name": "dev", "email": "dev@example.com"}, "sender": {"login": "dev"},
    }).encode()
