"""cert-manager's controller, played on the Kubernetes API stand-in (:class:`fakekube.FakeKube`).

Started by :class:`fakeplatform.FakePlatform` once the Deployment ``cert-manager`` (component
``controller``) has rolled out; its namespace is the cluster resource namespace, as upstream's
default. Checked against cert-manager v1.21 (pkg/controller/certificate-shim, certificaterequests,
issuers/acme):

- ACME Issuers and ClusterIssuers: condition ``Ready`` True (reason ``ACMEAccountRegistered``,
  "The ACME account was registered with the ACME server"), ``status.acme.uri``, and the account key
  Secret ``privateKeySecretRef.name`` (in the Issuer's namespace, for a ClusterIssuer in the cluster
  resource namespace). Other issuer types (ca, selfSigned, vault, venafi) are left alone.
- ingress-shim: an Ingress annotated ``cert-manager.io/cluster-issuer`` or ``cert-manager.io/issuer``
  gets one Certificate per ``spec.tls`` entry, named after its ``secretName``, in the Ingress's
  namespace, with ``dnsNames`` = the entry's hosts, the issuer referenced and the Ingress as controlling
  owner; a Certificate it owns whose entry is gone is deleted.
- gateway-shim: a Gateway (gateway.networking.k8s.io) annotated the same way gets one Certificate per Secret its
  HTTPS listeners name in ``tls.certificateRefs`` (in the Gateway's namespace), ``dnsNames`` the hostnames of
  those listeners, the Gateway as controlling owner. (Upstream runs it only with ``config.enableGatewayAPI``;
  the stand-in does not read the controller's configuration, the chart's own check requires it.)
- Certificates: issued when the referenced issuer exists and is Ready: Secret ``spec.secretName`` of type
  ``kubernetes.io/tls`` (``tls.crt``, ``tls.key``, ``ca.crt``; annotations ``cert-manager.io/*`` naming
  the certificate, issuer and alt names), condition ``Ready`` True ("Certificate is up to date and has
  not expired"), ``notBefore``, ``notAfter`` (90 days, Let's Encrypt's lifetime), ``renewalTime`` (two
  thirds in) and ``revision``. Otherwise ``Ready`` False ("Issuing certificate as Secret does not
  exist") with a CertificateRequest ``<name>-1`` that is Pending with cert-manager's message: issuer
  missing (``Referenced "ClusterIssuer" not found: clusterissuer.cert-manager.io "x" not found``),
  issuer not Ready (``Referenced issuer does not have a Ready status condition``), or, for a DNS-01
  DigitalOcean solver, its token Secret or key missing (the message of the Challenge's presenter).

Differs from cert-manager: no Orders or Challenges (their outcome is folded into the CertificateRequest),
no ACME server, no renewal, no private keys or certificates (the Secret holds stand-in PEM text), no
webhook calls (the API stand-in only checks that the webhook's Service has ready endpoints).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

CM = "cert-manager.io"
ISSUER_ANNOTATIONS = {f"{CM}/cluster-issuer": "ClusterIssuer", f"{CM}/issuer": "Issuer"}
TLS_TYPE = "kubernetes.io/tls"
LIFETIME = timedelta(days=90)


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _pem(what: str, seed: str) -> str:
    body = base64.b64encode(hashlib.sha256(f"{what}:{seed}".encode()).digest() * 3).decode()
    return f"-----BEGIN {what}-----\n{body}\n-----END {what}-----\n"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _condition(obj: dict, type_: str) -> dict:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == type_), {})


class FakeCertManager:
    """cert-manager's controller for one :class:`fakekube.FakeKube`; see the module docstring.

    ``handle(event, api_version, kind, namespace, name)`` is called by :class:`fakeplatform.FakePlatform`
    for every change (under the stand-in's lock, its writes queued like the other small controllers').
    """

    def __init__(self, kube) -> None:
        self.kube = kube
        self.namespace: str | None = None  # the cluster resource namespace, once the controller runs
        self.now = lambda: datetime.now(UTC).replace(microsecond=0)
        self._queue: list[tuple[str, str, str, str | None, str]] = []
        self._busy = False

    def install(self, namespace: str = "cert-manager") -> FakeCertManager:
        """Run on its own (without :class:`fakeplatform.FakePlatform`), as if its controller ran in ``namespace``."""
        self.kube.add_reactor(self._react)
        self.started(namespace)
        return self

    def _react(self, event: str, obj: dict) -> None:
        meta = _meta(obj)
        self._queue.append((event, obj.get("apiVersion", ""), obj.get("kind", ""), meta.get("namespace"),
                            meta.get("name", "")))
        if self._busy:
            return  # a write of ours: handled once the current event is done
        self._busy = True
        try:
            while self._queue:
                self.handle(*self._queue.pop(0))
        finally:
            self._busy = False

    @property
    def running(self) -> bool:
        return self.namespace is not None

    def started(self, namespace: str) -> None:
        """The controller Deployment rolled out in ``namespace``: reconcile everything there is."""
        if self.running:
            return
        self.namespace = namespace
        for resource in ("clusterissuers.cert-manager.io", "issuers.cert-manager.io"):
            for obj in self.kube.find_all(resource):
                self._issuer(obj["kind"], _meta(obj).get("namespace"), _meta(obj)["name"])
        for ingress in self.kube.find_all("ingresses.networking.k8s.io"):
            self._ingress(_meta(ingress)["namespace"], _meta(ingress)["name"])
        self._all_certificates()

    def handle(self, event: str, api_version: str, kind: str, namespace: str | None, name: str) -> None:
        if not self.running:
            return
        issuer = kind in ("ClusterIssuer", "Issuer") and api_version.startswith(CM + "/")
        if event == "DELETED":
            if issuer:
                self._all_certificates()
            return
        if issuer:
            self._issuer(kind, namespace, name)
            self._all_certificates()
        elif kind == "Ingress" and api_version.startswith("networking.k8s.io/"):
            self._ingress(namespace or "", name)
        elif kind == "Gateway" and api_version.startswith("gateway.networking.k8s.io/"):
            self._ingress(namespace or "", name, resource="gateways.gateway.networking.k8s.io")
        elif kind == "Certificate" and api_version.startswith(CM + "/"):
            self._certificate(namespace or "", name)
        elif kind == "Secret" and api_version == "v1" and namespace == self.namespace:
            self._all_certificates()  # a DNS-01 token may have arrived

    # ------------------------------------------------------------ helpers
    def _issuer_of(self, ref: dict, namespace: str) -> tuple[str, dict | None]:
        kind = ref.get("kind") or "Issuer"
        if kind == "ClusterIssuer":
            return kind, self.kube.find("clusterissuers.cert-manager.io", ref.get("name", ""))
        return kind, self.kube.find("issuers.cert-manager.io", ref.get("name", ""), namespace)

    # ------------------------------------------------------------ issuers
    def _issuer(self, kind: str, namespace: str | None, name: str) -> None:
        resource = "clusterissuers.cert-manager.io" if kind == "ClusterIssuer" else "issuers.cert-manager.io"
        obj = self.kube.find(resource, name, namespace)
        acme = ((obj or {}).get("spec") or {}).get("acme")
        if obj is None or not acme:
            return
        secret_ns = self.namespace if kind == "ClusterIssuer" else namespace
        key_name = (acme.get("privateKeySecretRef") or {}).get("name", "")
        if key_name and self.kube.find("secrets", key_name, secret_ns) is None:
            self.kube.create({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                              "metadata": {"name": key_name, "namespace": secret_ns},
                              "data": {"tls.key": _b64(_pem("EC PRIVATE KEY", f"{secret_ns}/{key_name}"))}})
        ready = _condition(obj, "Ready")
        generation = _meta(obj).get("generation", 1)
        if ready.get("status") == "True" and ready.get("observedGeneration") == generation:
            return
        status = {"acme": {"uri": acme.get("server", "").rsplit("/", 1)[0] + "/acme/acct/1",
                           "lastRegisteredEmail": acme.get("email", "")},
                  "conditions": [{"type": "Ready", "status": "True", "reason": "ACMEAccountRegistered",
                                  "message": "The ACME account was registered with the ACME server",
                                  "lastTransitionTime": _time(self.now()), "observedGeneration": generation}]}
        self.kube.put_status(resource, name, status, namespace)

    # ------------------------------------------------------------ ingress-shim
    def _ingress(self, namespace: str, name: str, resource: str = "ingresses.networking.k8s.io") -> None:
        ingress = self.kube.find(resource, name, namespace)
        if ingress is None:
            return
        annotations = _meta(ingress).get("annotations") or {}
        issuer = next(((kind, annotations[key]) for key, kind in ISSUER_ANNOTATIONS.items() if annotations.get(key)),
                      None)
        wanted: dict[str, list[str]] = {}
        if issuer and ingress["kind"] == "Ingress":
            for entry in (ingress.get("spec") or {}).get("tls") or []:
                if entry.get("secretName"):
                    wanted.setdefault(entry["secretName"], []).extend(entry.get("hosts") or [])
        elif issuer:  # a Gateway: its HTTPS listeners
            for listener in (ingress.get("spec") or {}).get("listeners") or []:
                tls = listener.get("tls") or {}
                if listener.get("protocol") != "HTTPS" or tls.get("mode", "Terminate") != "Terminate":
                    continue
                for ref in tls.get("certificateRefs") or []:
                    if ref.get("kind", "Secret") == "Secret" and not ref.get("namespace") and listener.get("hostname"):
                        wanted.setdefault(ref["name"], []).append(listener["hostname"])
        owner = {"apiVersion": ingress["apiVersion"], "kind": ingress["kind"], "name": name,
                 "uid": _meta(ingress).get("uid", ""), "controller": True, "blockOwnerDeletion": True}
        for cert in self.kube.find_all("certificates.cert-manager.io", namespace):
            owners = _meta(cert).get("ownerReferences") or []
            if any(o.get("uid") == owner["uid"] for o in owners) and _meta(cert)["name"] not in wanted:
                self.kube.delete("certificates.cert-manager.io", _meta(cert)["name"], namespace)
        for secret_name, hosts in wanted.items():
            spec = {"dnsNames": hosts, "secretName": secret_name, "usages": ["digital signature", "key encipherment"],
                    "issuerRef": {"name": issuer[1], "kind": issuer[0], "group": CM}}
            existing = self.kube.find("certificates.cert-manager.io", secret_name, namespace)
            if existing is None:
                self.kube.create({"apiVersion": f"{CM}/v1", "kind": "Certificate",
                                  "metadata": {"name": secret_name, "namespace": namespace,
                                               "ownerReferences": [owner]}, "spec": spec})
            elif existing.get("spec") != spec:
                def mutate(obj: dict, spec: dict = spec) -> None:
                    obj["spec"] = spec
                self.kube.update("certificates.cert-manager.io", secret_name, mutate, namespace)

    # ------------------------------------------------------------ certificates
    def _all_certificates(self) -> None:
        for cert in self.kube.find_all("certificates.cert-manager.io"):
            self._certificate(_meta(cert)["namespace"], _meta(cert)["name"])

    def _pending_reason(self, cert: dict, namespace: str) -> str | None:
        """cert-manager's message for why ``cert`` cannot be issued now, or None."""
        ref = (cert.get("spec") or {}).get("issuerRef") or {}
        kind, issuer = self._issuer_of(ref, namespace)
        if issuer is None:
            resource = "clusterissuer" if kind == "ClusterIssuer" else "issuer"
            return f'Referenced "{kind}" not found: {resource}.{CM} "{ref.get("name", "")}" not found'
        if _condition(issuer, "Ready").get("status") != "True":
            return "Referenced issuer does not have a Ready status condition"
        for solver in ((issuer.get("spec") or {}).get("acme") or {}).get("solvers") or []:
            token = ((solver.get("dns01") or {}).get("digitalocean") or {}).get("tokenSecretRef")
            if token:
                secret_ns = self.namespace if kind == "ClusterIssuer" else namespace
                secret = self.kube.find("secrets", token.get("name", ""), secret_ns)
                if secret is None:
                    return f'error getting digitalocean token: secret "{token.get("name", "")}" not found'
                if token.get("key", "") not in (secret.get("data") or {}):
                    return f'error getting digitalocean token: no key "{token.get("key", "")}" in secret ' \
                           f'"{secret_ns}/{token.get("name", "")}"'
        return None

    def _certificate(self, namespace: str, name: str) -> None:
        cert = self.kube.find("certificates.cert-manager.io", name, namespace)
        if cert is None or _meta(cert).get("deletionTimestamp"):
            return
        spec = cert.get("spec") or {}
        generation = _meta(cert).get("generation", 1)
        reason = self._pending_reason(cert, namespace)
        if reason is not None:
            self._request(cert, namespace, reason)
            status = {**(cert.get("status") or {}),
                      "conditions": [{"type": "Ready", "status": "False", "reason": "DoesNotExist",
                                      "message": "Issuing certificate as Secret does not exist",
                                      "observedGeneration": generation},
                                     {"type": "Issuing", "status": "True", "reason": "DoesNotExist",
                                      "message": "Issuing certificate as Secret does not exist",
                                      "observedGeneration": generation}]}
            if _condition(cert, "Ready").get("status") == "True":
                return  # an issued certificate stays valid until it expires
            if [dict(c, lastTransitionTime=None) for c in (cert.get("status") or {}).get("conditions") or []] != [
                    dict(c, lastTransitionTime=None) for c in status["conditions"]]:
                now = _time(self.now())
                for condition in status["conditions"]:
                    condition["lastTransitionTime"] = now
                self.kube.put_status("certificates.cert-manager.io", name, status, namespace)
            return
        secret_name = spec.get("secretName", "")
        ref = spec.get("issuerRef") or {}
        alt_names = ",".join(spec.get("dnsNames") or [])
        annotations = {f"{CM}/certificate-name": name, f"{CM}/issuer-name": ref.get("name", ""),
                       f"{CM}/issuer-kind": ref.get("kind") or "Issuer", f"{CM}/issuer-group": ref.get("group") or CM,
                       f"{CM}/alt-names": alt_names, f"{CM}/common-name": ""}
        secret = self.kube.find("secrets", secret_name, namespace)
        ready = _condition(cert, "Ready")
        if (secret is not None and secret.get("type") == TLS_TYPE
                and all((_meta(secret).get("annotations") or {}).get(k) == v for k, v in annotations.items())
                and ready.get("status") == "True" and ready.get("observedGeneration") == generation):
            return  # up to date
        seed = f"{namespace}/{name}/{alt_names}/{(cert.get('status') or {}).get('revision', 0)}"
        data = {"tls.crt": _b64(_pem("CERTIFICATE", seed)), "tls.key": _b64(_pem("RSA PRIVATE KEY", seed)),
                "ca.crt": ""}
        if secret is None:
            self.kube.create({"apiVersion": "v1", "kind": "Secret", "type": TLS_TYPE,
                              "metadata": {"name": secret_name, "namespace": namespace, "annotations": annotations},
                              "data": data})
        else:
            def mutate(obj: dict) -> None:
                obj.setdefault("metadata", {})["annotations"] = {**(_meta(obj).get("annotations") or {}),
                                                                 **annotations}
                obj["data"] = data
            self.kube.update("secrets", secret_name, mutate, namespace)
        now = self.now()
        status = {"conditions": [{"type": "Ready", "status": "True", "reason": "Ready",
                                  "message": "Certificate is up to date and has not expired",
                                  "lastTransitionTime": _time(now), "observedGeneration": generation}],
                  "notBefore": _time(now), "notAfter": _time(now + LIFETIME),
                  "renewalTime": _time(now + LIFETIME * 2 / 3),
                  "revision": (cert.get("status") or {}).get("revision", 0) + 1}
        self.kube.put_status("certificates.cert-manager.io", name, status, namespace)
        request = self.kube.find("certificaterequests.cert-manager.io", f"{name}-1", namespace)
        if request is not None:
            self.kube.put_status("certificaterequests.cert-manager.io", f"{name}-1", {"conditions": [
                {"type": "Ready", "status": "True", "reason": "Issued", "message": "Certificate fetched from issuer "
                 "successfully", "lastTransitionTime": _time(now)}]}, namespace)

    def _request(self, cert: dict, namespace: str, message: str) -> None:
        """The CertificateRequest of the pending issuance, Pending with ``message``."""
        name = f"{_meta(cert)['name']}-1"
        request = self.kube.find("certificaterequests.cert-manager.io", name, namespace)
        if request is None:
            owner = {"apiVersion": f"{CM}/v1", "kind": "Certificate", "name": _meta(cert)["name"],
                     "uid": _meta(cert).get("uid", ""), "controller": True, "blockOwnerDeletion": True}
            request = self.kube.create({
                "apiVersion": f"{CM}/v1", "kind": "CertificateRequest",
                "metadata": {"name": name, "namespace": namespace, "ownerReferences": [owner],
                             "annotations": {f"{CM}/certificate-name": _meta(cert)["name"],
                                             f"{CM}/certificate-revision": "1"}},
                "spec": {"request": _b64(_pem("CERTIFICATE REQUEST", name)),
                         "issuerRef": (cert.get("spec") or {}).get("issuerRef") or {},
                         "usages": (cert.get("spec") or {}).get("usages") or []}})
        if _condition(request, "Ready").get("message") != message:
            self.kube.put_status("certificaterequests.cert-manager.io", name, {"conditions": [
                {"type": "Ready", "status": "False", "reason": "Pending", "message": message,
                 "lastTransitionTime": _time(self.now())}]}, namespace)
