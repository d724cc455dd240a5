"""A Kubernetes API stand-in for the test suite: an in-memory API server on 127.0.0.1.

Real kubectl (1.35), helm 4 and helm 3.19 and the ``kubernetes`` Python client work against it.
It reports Kubernetes v1.35.0 at ``/version`` unless started with ``FakeKube(version="v1.31.4")``.
Start one with the ``fake_kube`` fixture (``fakekube.fixtures``) or by hand::

    kube = FakeKube().start(); kube.write_kubeconfig(tmp_path / "kubeconfig"); ...; kube.stop()

What it serves:
- discovery (``/version``, ``/api``, ``/api/v1``, ``/apis``, ``/apis/<g>``, ``/apis/<g>/<v>``) for the builtin
  kinds in :data:`fakekube.resources.BUILTIN` and for every served version of a CRD as soon as it is created
  (status/scale subresources when the CRD declares them). Aggregated discovery (apidiscovery.k8s.io/v2) is
  not implemented: clients asking for it get the legacy documents with ``Content-Type: application/json``
  and fall back, which kubectl, helm and client-go do.
- ``/openapi/v3`` (root + one document per group-version) holding only PATCH operations with their
  ``x-kubernetes-group-version-kind`` and the ``fieldValidation``/``fieldManager``/``dryRun``/``force`` query
  parameters, so kubectl/helm use server-side field validation; there are no schemas (kubectl computes
  client-side strategic merge patches from its compiled-in types). ``/openapi/v2`` is an empty document
  (empty protobuf message when protobuf is asked for).
- request bodies in JSON, YAML, and protobuf for Secret, ConfigMap, Namespace and DeleteOptions only (see
  :mod:`fakekube.protobuf`); responses are always JSON. Other kinds sent as protobuf get 415, and
  client-go does not fall back: imperative ``kubectl create deployment|service|job|...`` therefore
  fails here, use ``kubectl apply``/``create -f`` (JSON) instead.
- GET/LIST/POST/PUT/PATCH/DELETE/deletecollection, ``status`` and ``scale`` subresources, ``dryRun=All``;
  uid, a global resourceVersion counter, generation (bumped when anything but metadata/status changes,
  for every kind), creationTimestamp, generateName; 201/404/409 (AlreadyExists, Conflict on a stale
  resourceVersion)/422 with a ``Status`` body. Lists (Accept ``as=Table`` gives a Name/Age table).
- PATCH: JSON merge, JSON patch, strategic merge (see :mod:`fakekube.patching` for the list keys) and
  server-side apply with ``managedFields`` per manager, conflicts (409) unless ``force=true``, and removal
  of fields a manager stops applying. Non-apply writes record ``Update`` managers.
- label selectors (=, ==, !=, in, notin, exists, !exists) and field selectors on any dotted path;
  ``limit``/``continue`` are ignored (everything comes in one page).
- watch with resourceVersion, ``timeoutSeconds``, ``sendInitialEvents=true`` followed by the bookmark
  annotated ``k8s.io/initial-events-end: "true"`` (needs ``allowWatchBookmarks=true``, as client-go sends);
  objects leaving a watch's selector are sent as DELETED. No periodic bookmarks; no 410 Gone (the event
  history is never compacted).
- deleting a Namespace marks it Terminating, deletes its namespaced objects and removes it once empty;
  deleting a CRD deletes its objects and its discovery entries; finalizers hold an object (with
  deletionTimestamp) until an update empties them.

- authentication and authorization, as far as tests ask for them: ``tokens`` (bearer token -> user;
  None, the default, accepts every request as ``kubernetes-admin``; other requests get 401), ``deny(verb,
  resource, group, namespace)`` (matching requests get 403 with the API server's wording) and
  SelfSubjectAccessReviews (``authorization.k8s.io/v1``, answered from the same rules, never stored).
  ``RequestRecord.user`` says who sent each request.
- HTTPS with ``FakeKube(tls=True)`` (:mod:`fakekube.tls`): a fresh CA and a certificate for 127.0.0.1;
  ``write_kubeconfig`` puts the CA in ``certificate-authority-data`` and, with ``client_certificate="name"``,
  a client certificate for that user (verified client certificates authenticate as their common name).
- two controllers of kube-controller-manager: the token controller (``token_controller=True``, the
  default) fills Secrets of type ``kubernetes.io/service-account-token`` (``token``, ``ca.crt``,
  ``namespace``) once their ServiceAccount exists, and deletes them when it does not, as the real one
  does; the token is accepted as that ServiceAccount when ``tokens`` is in use. The EndpointSlice
  controller (``auto_endpoints=True``; off by default) keeps one ``discovery.k8s.io/v1`` EndpointSlice
  per Service with a selector, with as many ready endpoints as the selected workloads have ready replicas.

Where it differs from a real API server (keep this list honest):
- authorization is the deny list above (no RBAC objects are evaluated); no admission (except:
  namespaced creates need an existing, non-terminating namespace, and admission webhooks as far as
  reachability goes: a create, update or patch that a registered Validating/MutatingWebhookConfiguration's
  rules match (failurePolicy Fail) fails with the API server's 500 "failed calling webhook" while the
  webhook's Service is missing or has no ready endpoint; namespaceSelector, objectSelector, matchConditions
  and subresource rules are not evaluated, and a reachable webhook is not called: it admits everything),
  no defaulting except:
  Namespace (finalizer, phase, name label),
  Secret (stringData folded into data, type Opaque), Service (type, clusterIP/clusterIPs, port protocol,
  targetPort), Deployment/StatefulSet/ReplicaSet ``spec.replicas: 1`` and the
  default RollingUpdate strategy of Deployment/StatefulSet/DaemonSet (defaults are applied on create only);
- no validation beyond names (lowercase RFC 1123 subdomain), CRD name/group/names/versions, and
  namespace/name consistency; CRD schemas are not used (no pruning, no validation, no defaults);
- no version conversion: an object is stored once and served at any version of its resource by
  rewriting ``apiVersion`` only; no field-selector restrictions per kind;
- the controllers run synchronously inside the write that triggers them (a real one lags a little);
  over plain HTTP the token controller's ``ca.crt`` is a placeholder (with ``tls=True`` it is the CA);
- no other controllers: nothing happens to workloads, Jobs, Services etc. unless a test calls a hook
  (or ``auto_available=True`` for workloads); no garbage collection by ownerReferences (propagationPolicy
  is ignored); no pods are created; no events are recorded;
- server-side apply treats only lists keyed in ``patching.MERGE_KEYS`` as associative (scalar "set"
  lists such as finalizers are atomic) and keys lists by one field (ports by containerPort/port only);
- strategic merge patch ignores ``$setElementOrder``; merged lists keep live order then append;
- watches on a Table (``kubectl get -w``) get plain objects, not Table rows;
- ``limit``/``continue`` ignored; every list is one page.

Hooks (thread-safe Python methods that bump resourceVersion and notify watches) are on
:class:`FakeKube`: ``get``, ``list``, ``create``, ``update``, ``delete``, ``put_status``, ``patch_status``,
``mark_available``/``mark_deployment_available``/``mark_statefulset_ready``, ``mark_crd_established``,
``set_pipelinerun_status``/``set_taskrun_status``, ``set_application_status``, ``set_load_balancer_ip``,
``set_service_endpoints``, ``deny``/``allow_all``/``allowed``, ``wait_for``, ``add_reactor``; counters
``requests`` (list of :class:`RequestRecord`), ``writes``, ``count(verb=..., method=...)``, ``reset_counters()``.

:mod:`fakekube.platform` fills a stand-in with a running gitops-platform (what its charts and
operators leave in a cluster) for the tests of ``status`` and ``password``.
"""

from .patching import PatchError
from .server import ApiError, FakeKube, RequestRecord

__all__ = ["ApiError", "FakeKube", "PatchError", "RequestRecord"]
