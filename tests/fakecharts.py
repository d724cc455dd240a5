"""Stand-ins for the upstream dependency charts of gitops-platform, built at test time.

Tests and CI have no internet, so the real argo-cd, ingress-nginx, cert-manager and tekton-operator charts cannot
be downloaded. :func:`dependency_archives` builds small charts named and versioned exactly as
``charts/gitops-platform/Chart.yaml`` pins them, holding what bootstrap depends on, with the
resource names and the values keys of the real charts (checked against their templates):

- ``argo-cd``: the Argo CD CRDs (read from the reference data, never stored in the repository),
  rendered when ``crds.install`` and kept on uninstall with ``crds.keep``; StatefulSet
  ``<fullname>-application-controller`` and Deployments ``-server``, ``-repo-server``,
  ``-applicationset-controller``, ``-notifications-controller`` (``notifications.enabled``),
  ``-dex-server`` (``dex.enabled``), ``-redis`` (``redis.enabled``) with their Services;
  ConfigMaps ``argocd-cm`` (``configs.cm``; ``url`` is ``https://<global.domain>`` unless ``configs.cm.url``
  is set, as upstream), ``argocd-cmd-params-cm`` (``configs.params``) and ``argocd-notifications-cm``
  (``context.argocdUrl``: ``notifications.argocdUrl``, default ``https://<global.domain>``),
  Secret ``argocd-secret``; the ``pre-install,pre-upgrade`` hook Job ``<fullname>-redis-secret-init``.
  ``fullnameOverride``, ``nameOverride`` and ``namespaceOverride`` work as upstream.
- ``ingress-nginx``: Deployment and ConfigMap ``<fullname>-controller``, Service
  ``<fullname>-controller`` (``controller.service.type``, LoadBalancer by default, with
  ``controller.service.annotations``), the admission webhook (Service
  ``<fullname>-controller-admission``, ValidatingWebhookConfiguration ``<fullname>-admission``
  carrying ``controller.admissionWebhooks.annotations``), IngressClass
  ``controller.ingressClassResource.name``, and the hook Jobs ``<fullname>-admission-create``
  (pre-install, pre-upgrade) and ``-admission-patch`` (post-install, post-upgrade), annotated with
  ``controller.admissionWebhooks.annotations`` as upstream (the only objects that value reaches: the two
  Jobs and the ValidatingWebhookConfiguration), run by the hook ServiceAccount ``<fullname>-admission``
  with its Role/ClusterRole and bindings (hooks too, without those annotations, as upstream);
  ``namespaceOverride`` honoured.
- ``cert-manager``: the cert-manager CRDs of the reference data (``crds.enabled``, kept on uninstall with
  ``crds.keep`` as upstream's ``helm.sh/resource-policy: keep``), Deployments ``<fullname>``,
  ``<fullname>-cainjector`` and ``<fullname>-webhook`` (upstream's names) with their ServiceAccounts,
  Service ``<fullname>`` (metrics) and ``<fullname>-webhook`` (443 -> ``https``), the webhook's
  ValidatingWebhookConfiguration and MutatingWebhookConfiguration ``<fullname>-webhook`` (cert-manager.io
  and acme.cert-manager.io, ``failurePolicy: Fail``, the CA injected by the cainjector from Secret
  ``<namespace>/<fullname>-webhook-ca``), all in ``namespace`` (default: the release namespace), and the
  post-install hook Job ``<fullname>-startupapicheck`` when ``startupapicheck.enabled``. Not here:
  RBAC, the ConfigMaps, network policies, monitoring.
- ``gateway-crds-helm``: the Gateway API standard-channel CRDs of the reference data
  (``crds.gatewayAPI.enabled``; the stand-in refuses ``channel: experimental``, which the reference data does
  not hold) and Envoy Gateway's EnvoyProxy and SecurityPolicy CRDs (``crds.envoyGateway.enabled``; ours: a
  preserve-unknown-fields schema with upstream's names and status subresource: the offline validation checks
  the fields against the schema generated from upstream's CRD), templated like upstream's.
- ``gateway-helm``: Deployment and Service ``envoy-gateway`` (upstream's fixed names) in ``namespaceOverride``
  (default: the release namespace) and the ``pre-install, pre-upgrade`` hook Job ``<fullname>-certgen``
  there, as upstream; no CRDs (``crds.enabled`` is a dependency of its own upstream, off here).
- ``tekton-operator``: Deployments ``<fullname>`` (containers ``tekton-operator-lifecycle`` and
  ``tekton-operator-cluster-operations``, env ``AUTOINSTALL_COMPONENTS``,
  ``DEFAULT_TARGET_NAMESPACE``, ``KUBERNETES_MIN_VERSION``) and ``<fullname>-webhook`` with their
  Services, in the release namespace like upstream; the TektonConfig CRD when ``installCRDs``
  (ours: a preserve-unknown-fields schema with the upstream names, scope and status subresource).

Pods, images and everything a controller would do are absent: :mod:`fakeplatform` plays the
controllers. :func:`chart_with_dependencies` returns a copy of the umbrella chart with these
archives in ``charts/`` (so ``prepare_chart`` needs no download).
"""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from functools import cache
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
CHART = REPO_ROOT / "charts" / "gitops-platform"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

ARGO_CD_CRDS = ("application-crd.yaml", "applicationset-crd.yaml", "appproject-crd.yaml")

# ---------------------------------------------------------------- argo-cd

ARGO_VALUES = """\
nameOverride: argocd
fullnameOverride: ""
namespaceOverride: ""
crds:
  install: true
  keep: true
global:
  domain: argocd.example.com
  image:
    repository: quay.io/argoproj/argocd
    tag: ""
configs:
  cm:
    create: true
    annotations: {}
  params:
    create: true
    annotations: {}
  rbac:
    create: true
  secret:
    createSecret: true
controller:
  name: application-controller
  replicas: 1
server:
  name: server
  replicas: 1
  service:
    type: ClusterIP
    servicePortHttp: 80
    servicePortHttps: 443
    servicePortHttpName: http
    servicePortHttpsName: https
repoServer:
  name: repo-server
  replicas: 1
applicationSet:
  name: applicationset-controller
  replicas: 1
notifications:
  enabled: true
  name: notifications-controller
  argocdUrl: ""
  cm:
    create: true
dex:
  enabled: true
  name: dex-server
redis:
  enabled: true
  name: redis
redisSecretInit:
  enabled: true
  name: redis-secret-init
"""


def _naming_helpers(chart: str) -> str:
    """The name, fullname and namespace helpers every chart of this kind defines, for ``chart``."""
    return """\
{{- define "CHART.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "CHART.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "CHART.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}
""".replace("CHART", chart)


ARGO_HELPERS = _naming_helpers("argo-cd") + """\

{{- define "argo-cd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "argo-cd.name" .context }}-{{ .name }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
{{- end -}}

{{- define "argo-cd.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .context.Chart.Name .context.Chart.Version }}
{{ include "argo-cd.selectorLabels" . }}
app.kubernetes.io/component: {{ .name }}
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
app.kubernetes.io/part-of: argocd
app.kubernetes.io/version: {{ .context.Chart.AppVersion | quote }}
{{- end -}}

{{- /* A workload, its ServiceAccount and its Service. Argument: dict "context" $ "kind" "name" "replicas"
"ports" (container port name -> number) and optional "servicePorts" (list of dict name port targetPort) */ -}}
{{- define "argo-cd.workload" -}}
{{- $fullname := printf "%s-%s" (include "argo-cd.fullname" .context) .name }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $fullname }}
  namespace: {{ include "argo-cd.namespace" .context }}
  labels:
    {{- include "argo-cd.labels" . | nindent 4 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}
  namespace: {{ include "argo-cd.namespace" .context }}
  labels:
    {{- include "argo-cd.labels" . | nindent 4 }}
spec:
  ports:
    {{- range .servicePorts }}
    - name: {{ .name }}
      protocol: TCP
      port: {{ .port }}
      targetPort: {{ .targetPort }}
    {{- else }}
    {{- range $name, $port := .ports }}
    - name: {{ $name }}
      port: {{ $port }}
      targetPort: {{ $name }}
    {{- end }}
    {{- end }}
  selector:
    {{- include "argo-cd.selectorLabels" . | nindent 4 }}
---
apiVersion: apps/v1
kind: {{ .kind }}
metadata:
  name: {{ $fullname }}
  namespace: {{ include "argo-cd.namespace" .context }}
  labels:
    {{- include "argo-cd.labels" . | nindent 4 }}
spec:
  replicas: {{ .replicas }}
  {{- if eq .kind "StatefulSet" }}
  serviceName: {{ $fullname }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "argo-cd.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "argo-cd.labels" . | nindent 8 }}
    spec:
      serviceAccountName: {{ $fullname }}
      containers:
        - name: {{ .name }}
          {{- $image := .context.Values.global.image }}
          image: {{ $image.repository }}:{{ $image.tag | default .context.Chart.AppVersion }}
          ports:
            {{- range $name, $port := .ports }}
            - name: {{ $name }}
              containerPort: {{ $port }}
            {{- end }}
{{- end -}}
"""

ARGO_WORKLOADS = """\
{{- $v := .Values }}
{{- $svc := $v.server.service }}
{{- $serverPorts := list
      (dict "name" $svc.servicePortHttpName "port" $svc.servicePortHttp "targetPort" "server")
      (dict "name" $svc.servicePortHttpsName "port" $svc.servicePortHttps "targetPort" "server") }}
{{- $workloads := list
      (dict "kind" "StatefulSet" "name" $v.controller.name "replicas" $v.controller.replicas
            "ports" (dict "metrics" 8082))
      (dict "kind" "Deployment" "name" $v.server.name "replicas" $v.server.replicas
            "ports" (dict "server" 8080) "servicePorts" $serverPorts)
      (dict "kind" "Deployment" "name" $v.repoServer.name "replicas" $v.repoServer.replicas
            "ports" (dict "repo-server" 8081))
      (dict "kind" "Deployment" "name" $v.applicationSet.name "replicas" $v.applicationSet.replicas
            "ports" (dict "webhook" 7000)) }}
{{- if $v.notifications.enabled }}
{{- $workloads = append $workloads (dict "kind" "Deployment" "name" $v.notifications.name "replicas" 1
                                         "ports" (dict "metrics" 9001)) }}
{{- end }}
{{- if $v.dex.enabled }}
{{- $workloads = append $workloads (dict "kind" "Deployment" "name" $v.dex.name "replicas" 1
                                         "ports" (dict "http" 5556 "grpc" 5557)) }}
{{- end }}
{{- if $v.redis.enabled }}
{{- $workloads = append $workloads (dict "kind" "Deployment" "name" $v.redis.name "replicas" 1
                                         "ports" (dict "redis" 6379)) }}
{{- end }}
{{- range $i, $workload := $workloads }}
{{- if $i }}
---
{{- end }}
{{ include "argo-cd.workload" (merge (dict "context" $) $workload) }}
{{- end }}
"""

ARGO_CONFIGS = """\
{{- if .Values.configs.cm.create }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: {{ include "argo-cd.namespace" . }}
  labels:
    {{- include "argo-cd.labels" (dict "context" . "name" "cm") | nindent 4 }}
data:
  {{- /* as upstream: `url` defaults to https://<global.domain>; a non-empty configs.cm.url replaces it */}}
  {{- $cm := merge (dict) (omit .Values.configs.cm "create" "annotations") }}
  {{- if eq (toString (get $cm "url")) "" }}
  {{- $_ := set $cm "url" (printf "https://%s" .Values.global.domain) }}
  {{- end }}
  {{- range $key, $value := $cm }}
  {{- if ne ($value | toString) "" }}
  {{ $key }}: {{ $value | toString | quote }}
  {{- end }}
  {{- end }}
{{- end }}
{{- if and .Values.notifications.enabled .Values.notifications.cm.create }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-notifications-cm
  namespace: {{ include "argo-cd.namespace" . }}
  labels:
    {{- include "argo-cd.labels" (dict "context" . "name" .Values.notifications.name) | nindent 4 }}
data:
  context: |
    argocdUrl: {{ .Values.notifications.argocdUrl | default (printf "https://%s" .Values.global.domain) }}
{{- end }}
{{- if .Values.configs.params.create }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cmd-params-cm
  namespace: {{ include "argo-cd.namespace" . }}
  labels:
    {{- include "argo-cd.labels" (dict "context" . "name" "cmd-params-cm") | nindent 4 }}
data:
  {{- range $key, $value := omit .Values.configs.params "create" "annotations" }}
  {{ $key }}: {{ $value | toString | quote }}
  {{- end }}
{{- end }}
{{- if .Values.configs.rbac.create }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-rbac-cm
  namespace: {{ include "argo-cd.namespace" . }}
  labels:
    {{- include "argo-cd.labels" (dict "context" . "name" "rbac-cm") | nindent 4 }}
{{- end }}
{{- if .Values.configs.secret.createSecret }}
---
apiVersion: v1
kind: Secret
metadata:
  name: argocd-secret
  namespace: {{ include "argo-cd.namespace" . }}
  labels:
    {{- include "argo-cd.labels" (dict "context" . "name" "secret") | nindent 4 }}
type: Opaque
{{- end }}
"""

ARGO_REDIS_JOB = """\
{{- if .Values.redisSecretInit.enabled }}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "argo-cd.fullname" . }}-{{ .Values.redisSecretInit.name }}
  namespace: {{ include "argo-cd.namespace" . }}
  annotations:
    "helm.sh/hook": pre-install,pre-upgrade
    "helm.sh/hook-delete-policy": before-hook-creation
  labels:
    {{- include "argo-cd.labels" (dict "context" . "name" .Values.redisSecretInit.name) | nindent 4 }}
spec:
  template:
    spec:
      restartPolicy: OnFailure
      containers:
        - name: secret-init
          image: {{ .Values.global.image.repository }}:{{ .Values.global.image.tag | default .Chart.AppVersion }}
          command: [argocd, admin, redis-initial-password]
{{- end }}
"""

# ---------------------------------------------------------------- ingress-nginx

NGINX_VALUES = """\
nameOverride: ""
fullnameOverride: ""
namespaceOverride: ""
controller:
  name: controller
  image:
    registry: registry.k8s.io
    image: ingress-nginx/controller
  replicaCount: 1
  containerPort:
    http: 80
    https: 443
  ingressClassResource:
    name: nginx
    enabled: true
    default: false
    controllerValue: k8s.io/ingress-nginx
  service:
    enabled: true
    type: LoadBalancer
    annotations: {}
    external:
      enabled: true
    ports:
      http: 80
      https: 443
  admissionWebhooks:
    name: admission
    annotations: {}
    enabled: true
    failurePolicy: Fail
    port: 8443
    service:
      servicePort: 443
      type: ClusterIP
    createSecretJob:
      name: create
    patchWebhookJob:
      name: patch
    patch:
      enabled: true
      serviceAccount:
        create: true
      rbac:
        create: true
"""

NGINX_HELPERS = _naming_helpers("ingress-nginx") + """\

{{- define "ingress-nginx.controller.fullname" -}}
{{- printf "%s-%s" (include "ingress-nginx.fullname" .) .Values.controller.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ingress-nginx.admissionWebhooks.fullname" -}}
{{- $name := .Values.controller.admissionWebhooks.name }}
{{- printf "%s-%s" (include "ingress-nginx.fullname" .) $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ingress-nginx.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ingress-nginx.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ingress-nginx.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "ingress-nginx.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: {{ include "ingress-nginx.name" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
"""

NGINX_CONTROLLER = """\
{{- $webhooks := .Values.controller.admissionWebhooks }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "ingress-nginx.fullname" . }}
  namespace: {{ include "ingress-nginx.namespace" . }}
  labels:
    {{- include "ingress-nginx.labels" . | nindent 4 }}
    app.kubernetes.io/component: controller
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "ingress-nginx.controller.fullname" . }}
  namespace: {{ include "ingress-nginx.namespace" . }}
  labels:
    {{- include "ingress-nginx.labels" . | nindent 4 }}
    app.kubernetes.io/component: controller
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "ingress-nginx.controller.fullname" . }}
  namespace: {{ include "ingress-nginx.namespace" . }}
  labels:
    {{- include "ingress-nginx.labels" . | nindent 4 }}
    app.kubernetes.io/component: controller
spec:
  replicas: {{ .Values.controller.replicaCount }}
  selector:
    matchLabels:
      {{- include "ingress-nginx.selectorLabels" . | nindent 6 }}
      app.kubernetes.io/component: controller
  template:
    metadata:
      labels:
        {{- include "ingress-nginx.labels" . | nindent 8 }}
        app.kubernetes.io/component: controller
    spec:
      serviceAccountName: {{ include "ingress-nginx.fullname" . }}
      containers:
        - name: controller
          image: {{ .Values.controller.image.registry }}/{{ .Values.controller.image.image }}:v{{ .Chart.AppVersion }}
          args:
            - /nginx-ingress-controller
            - --publish-service=$(POD_NAMESPACE)/{{ include "ingress-nginx.controller.fullname" . }}
            - --controller-class={{ .Values.controller.ingressClassResource.controllerValue }}
            - --ingress-class={{ .Values.controller.ingressClassResource.name }}
            {{- if $webhooks.enabled }}
            - --validating-webhook=:{{ $webhooks.port }}
            {{- end }}
          ports:
            - name: http
              containerPort: {{ .Values.controller.containerPort.http }}
            - name: https
              containerPort: {{ .Values.controller.containerPort.https }}
            {{- if $webhooks.enabled }}
            - name: webhook
              containerPort: {{ $webhooks.port }}
            {{- end }}
{{- if and .Values.controller.service.enabled .Values.controller.service.external.enabled }}
---
apiVersion: v1
kind: Service
metadata:
  annotations:
  {{- range $key, $value := .Values.controller.service.annotations }}
    {{ $key }}: {{ tpl ($value | toString) $ | quote }}
  {{- end }}
  labels:
    {{- include "ingress-nginx.labels" . | nindent 4 }}
    app.kubernetes.io/component: controller
  name: {{ include "ingress-nginx.controller.fullname" . }}
  namespace: {{ include "ingress-nginx.namespace" . }}
spec:
  type: {{ .Values.controller.service.type }}
  ports:
    - name: http
      port: {{ .Values.controller.service.ports.http }}
      targetPort: http
      protocol: TCP
    - name: https
      port: {{ .Values.controller.service.ports.https }}
      targetPort: https
      protocol: TCP
  selector:
    {{- include "ingress-nginx.selectorLabels" . | nindent 4 }}
    app.kubernetes.io/component: controller
{{- end }}
{{- if .Values.controller.ingressClassResource.enabled }}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: {{ .Values.controller.ingressClassResource.name }}
  labels:
    {{- include "ingress-nginx.labels" . | nindent 4 }}
    app.kubernetes.io/component: controller
  {{- if .Values.controller.ingressClassResource.default }}
  annotations:
    ingressclass.kubernetes.io/is-default-class: "true"
  {{- end }}
spec:
  controller: {{ .Values.controller.ingressClassResource.controllerValue }}
{{- end }}
"""

NGINX_WEBHOOK = """\
{{- $webhooks := .Values.controller.admissionWebhooks }}
{{- if $webhooks.enabled }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "ingress-nginx.controller.fullname" . }}-admission
  namespace: {{ include "ingress-nginx.namespace" . }}
  labels:
    {{- include "ingress-nginx.labels" . | nindent 4 }}
    app.kubernetes.io/component: controller
spec:
  type: {{ $webhooks.service.type }}
  ports:
    - name: https-webhook
      port: {{ $webhooks.service.servicePort }}
      targetPort: webhook
      appProtocol: https
  selector:
    {{- include "ingress-nginx.selectorLabels" . | nindent 4 }}
    app.kubernetes.io/component: controller
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  {{- with $webhooks.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  labels:
    {{- include "ingress-nginx.labels" . | nindent 4 }}
    app.kubernetes.io/component: admission-webhook
  name: {{ include "ingress-nginx.admissionWebhooks.fullname" . }}
webhooks:
  - name: validate.nginx.ingress.kubernetes.io
    matchPolicy: Equivalent
    rules:
      - apiGroups: [networking.k8s.io]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [ingresses]
    failurePolicy: {{ $webhooks.failurePolicy | default "Fail" }}
    sideEffects: None
    admissionReviewVersions: [v1]
    clientConfig:
      service:
        name: {{ include "ingress-nginx.controller.fullname" . }}-admission
        namespace: {{ include "ingress-nginx.namespace" . }}
        port: {{ $webhooks.service.servicePort }}
        path: /networking/v1/ingresses
{{- end }}
"""

NGINX_JOBS = """\
{{- $webhooks := .Values.controller.admissionWebhooks }}
{{- if and $webhooks.enabled $webhooks.patch.enabled }}
{{- $fullname := include "ingress-nginx.admissionWebhooks.fullname" . }}
{{- $namespace := include "ingress-nginx.namespace" . }}
{{- /* the hooks' identity: hooks themselves, but without admissionWebhooks.annotations, as upstream */}}
{{- $rbac := list }}
{{- if $webhooks.patch.serviceAccount.create }}
{{- $rbac = append $rbac (dict "apiVersion" "v1" "kind" "ServiceAccount" "namespaced" true) }}
{{- end }}
{{- if $webhooks.patch.rbac.create }}
{{- $rbac = concat $rbac (list
      (dict "apiVersion" "rbac.authorization.k8s.io/v1" "kind" "ClusterRole" "namespaced" false
            "rules" (list (dict "apiGroups" (list "admissionregistration.k8s.io")
                                "resources" (list "validatingwebhookconfigurations") "verbs" (list "get" "update"))))
      (dict "apiVersion" "rbac.authorization.k8s.io/v1" "kind" "ClusterRoleBinding" "namespaced" false)
      (dict "apiVersion" "rbac.authorization.k8s.io/v1" "kind" "Role" "namespaced" true
            "rules" (list (dict "apiGroups" (list "") "resources" (list "secrets") "verbs" (list "get" "create"))))
      (dict "apiVersion" "rbac.authorization.k8s.io/v1" "kind" "RoleBinding" "namespaced" true)) }}
{{- end }}
{{- range $obj := $rbac }}
---
apiVersion: {{ $obj.apiVersion }}
kind: {{ $obj.kind }}
metadata:
  name: {{ $fullname }}
  {{- if $obj.namespaced }}
  namespace: {{ $namespace }}
  {{- end }}
  annotations:
    "helm.sh/hook": pre-install,pre-upgrade,post-install,post-upgrade
    "helm.sh/hook-delete-policy": before-hook-creation,hook-succeeded
  labels:
    {{- include "ingress-nginx.labels" $ | nindent 4 }}
    app.kubernetes.io/component: admission-webhook
{{- with $obj.rules }}
rules:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if hasSuffix "Binding" $obj.kind }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: {{ trimSuffix "Binding" $obj.kind }}
  name: {{ $fullname }}
subjects:
  - kind: ServiceAccount
    name: {{ $fullname }}
    namespace: {{ $namespace }}
{{- end }}
{{- end }}
{{- range $job := list (dict "name" $webhooks.createSecretJob.name "hook" "pre-install,pre-upgrade" "args" "create")
                      (dict "name" $webhooks.patchWebhookJob.name "hook" "post-install,post-upgrade" "args" "patch") }}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "ingress-nginx.admissionWebhooks.fullname" $ }}-{{ $job.name }}
  namespace: {{ include "ingress-nginx.namespace" $ }}
  annotations:
    "helm.sh/hook": {{ $job.hook }}
    "helm.sh/hook-delete-policy": before-hook-creation,hook-succeeded
    {{- with $webhooks.annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  labels:
    {{- include "ingress-nginx.labels" $ | nindent 4 }}
    app.kubernetes.io/component: admission-webhook
spec:
  ttlSecondsAfterFinished: 0
  template:
    spec:
      restartPolicy: OnFailure
      serviceAccountName: {{ $webhooks.patch.serviceAccount.create | ternary $fullname "default" }}
      containers:
        - name: {{ $job.args }}
          image: registry.k8s.io/ingress-nginx/kube-webhook-certgen:v{{ $.Chart.AppVersion }}
          args:
            - {{ $job.args }}
            - --namespace=$(POD_NAMESPACE)
            - --secret-name={{ include "ingress-nginx.admissionWebhooks.fullname" $ }}
            {{- if eq $job.args "patch" }}
            - --webhook-name={{ include "ingress-nginx.admissionWebhooks.fullname" $ }}
            {{- end }}
{{- end }}
{{- end }}
"""

# ---------------------------------------------------------------- tekton-operator

TEKTON_VALUES = """\
nameOverride: ""
kubernetesMinVersion: "v1.34.0"
installCRDs: false
controllers: "tektonconfig,tektonpipeline,tektontrigger,tektonchain,tektonresult,tektondashboard,tektonpruner"
operator:
  replicas: 1
  autoInstallComponents: true
  defaultTargetNamespace: ""
webhook:
  replicas: 1
  httpsWebhookPort: 8443
"""

TEKTON_HELPERS = _naming_helpers("tekton-operator") + """\

{{- define "tekton-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ include "tekton-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "tekton-operator.env" -}}
- name: SYSTEM_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: AUTOINSTALL_COMPONENTS
  value: {{ .Values.operator.autoInstallComponents | quote }}
- name: DEFAULT_TARGET_NAMESPACE
  value: {{ .Values.operator.defaultTargetNamespace | default "tekton-pipelines" | quote }}
{{- if .Values.kubernetesMinVersion }}
- name: KUBERNETES_MIN_VERSION
  value: {{ .Values.kubernetesMinVersion | quote }}
{{- end }}
{{- end }}
"""

TEKTON_OPERATOR = """\
{{- $fullname := include "tekton-operator.fullname" . }}
{{- $image := printf "ghcr.io/tektoncd/operator/operator:%s" .Chart.AppVersion }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "tekton-operator.labels" . | nindent 4 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "tekton-operator.labels" . | nindent 4 }}
spec:
  ports:
    - name: http-metrics
      port: 9090
      protocol: TCP
      targetPort: 9090
  selector:
    app.kubernetes.io/name: {{ include "tekton-operator.name" . }}
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/component: operator
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}-webhook
  labels:
    {{- include "tekton-operator.labels" . | nindent 4 }}
spec:
  ports:
    - name: https-webhook
      port: 443
      targetPort: {{ .Values.webhook.httpsWebhookPort }}
  selector:
    app.kubernetes.io/name: {{ include "tekton-operator.name" . }}
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/component: webhook
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "tekton-operator.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.operator.replicas }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ include "tekton-operator.name" . }}
      app.kubernetes.io/instance: {{ .Release.Name }}
      app.kubernetes.io/component: operator
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ include "tekton-operator.name" . }}
        app.kubernetes.io/instance: {{ .Release.Name }}
        app.kubernetes.io/component: operator
    spec:
      serviceAccountName: {{ $fullname }}
      containers:
        - name: tekton-operator-lifecycle
          image: {{ $image }}
          args: ["-controllers", {{ .Values.controllers | quote }}, "-unique-process-name", "tekton-operator-lifecycle"]
          env:
            {{- include "tekton-operator.env" . | nindent 12 }}
          ports:
            - name: http-metrics
              containerPort: 9090
        - name: tekton-operator-cluster-operations
          image: {{ $image }}
          args: ["-controllers", "tektoninstallerset", "-unique-process-name", "tekton-operator-cluster-operations"]
          env:
            {{- include "tekton-operator.env" . | nindent 12 }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $fullname }}-webhook
  labels:
    {{- include "tekton-operator.labels" . | nindent 4 }}
spec:
  replicas: {{ max 1 (.Values.webhook.replicas | int) }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ include "tekton-operator.name" . }}
      app.kubernetes.io/instance: {{ .Release.Name }}
      app.kubernetes.io/component: webhook
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ include "tekton-operator.name" . }}
        app.kubernetes.io/instance: {{ .Release.Name }}
        app.kubernetes.io/component: webhook
    spec:
      serviceAccountName: {{ $fullname }}
      containers:
        - name: tekton-operator-webhook
          image: ghcr.io/tektoncd/operator/webhook:{{ .Chart.AppVersion }}
          env:
            - name: WEBHOOK_SERVICE_NAME
              value: {{ $fullname }}-webhook
            - name: WEBHOOK_PORT
              value: {{ .Values.webhook.httpsWebhookPort | quote }}
          ports:
            - name: https-webhook
              containerPort: {{ .Values.webhook.httpsWebhookPort }}
"""

TEKTON_CRD = """\
{{- if .Values.installCRDs }}
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: tektonconfigs.operator.tekton.dev
  labels:
    operator.tekton.dev/release: {{ .Chart.AppVersion | quote }}
spec:
  group: operator.tekton.dev
  names:
    kind: TektonConfig
    listKind: TektonConfigList
    plural: tektonconfigs
    singular: tektonconfig
  scope: Cluster
  versions:
    - name: v1alpha1
      served: true
      storage: true
      additionalPrinterColumns:
        - jsonPath: .status.version
          name: Version
          type: string
        - jsonPath: .status.conditions[?(@.type=="Ready")].status
          name: Ready
          type: string
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
      subresources:
        status: {}
{{- end }}
"""


# ---------------------------------------------------------------- cert-manager

CERT_MANAGER_CRD_DIR = "cert-manager-v1.21.1"
CERT_MANAGER_VALUES = """\
nameOverride: ""
fullnameOverride: ""
namespace: ""
crds:
  enabled: false
  keep: true
replicaCount: 1
webhook:
  replicaCount: 1
  securePort: 10250
cainjector:
  enabled: true
  replicaCount: 1
startupapicheck:
  enabled: true
"""

CERT_MANAGER_HELPERS = _naming_helpers("cert-manager").replace(
    '{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" -}}',
    "{{- .Values.namespace | default .Release.Namespace -}}") + """\

{{- define "cert-manager.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/version: {{ .context.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .context.Chart.Name .context.Chart.Version }}
{{- end -}}

{{- /* A Deployment with its ServiceAccount. Argument: dict "context" $ "fullname" "name" "component"
"replicas" "image" "ports" (name -> number) */ -}}
{{- define "cert-manager.workload" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .fullname }}
  namespace: {{ include "cert-manager.namespace" .context }}
  labels:
    {{- include "cert-manager.labels" . | nindent 4 }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .fullname }}
  namespace: {{ include "cert-manager.namespace" .context }}
  labels:
    {{- include "cert-manager.labels" . | nindent 4 }}
spec:
  replicas: {{ .replicas }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .name }}
      app.kubernetes.io/instance: {{ .context.Release.Name }}
      app.kubernetes.io/component: {{ .component }}
  template:
    metadata:
      labels:
        {{- include "cert-manager.labels" . | nindent 8 }}
    spec:
      serviceAccountName: {{ .fullname }}
      containers:
        - name: {{ .component }}
          image: quay.io/jetstack/{{ .image }}:{{ .context.Chart.AppVersion }}
          args:
            - --v=2
          {{- with .ports }}
          ports:
            {{- range $name, $port := . }}
            - name: {{ $name }}
              containerPort: {{ $port }}
              protocol: TCP
            {{- end }}
          {{- end }}
{{- end -}}
"""

CERT_MANAGER_WORKLOADS = """\
{{- $fullname := include "cert-manager.fullname" . }}
{{- $namespace := include "cert-manager.namespace" . }}
{{- include "cert-manager.workload" (dict "context" . "fullname" $fullname "name" "cert-manager"
    "component" "controller" "replicas" .Values.replicaCount "image" "cert-manager-controller"
    "ports" (dict "http-metrics" 9402 "http-healthz" 9403)) }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}
  namespace: {{ $namespace }}
spec:
  type: ClusterIP
  ports:
    - name: tcp-prometheus-servicemonitor
      port: 9402
      protocol: TCP
      targetPort: http-metrics
  selector:
    app.kubernetes.io/name: cert-manager
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/component: controller
{{- if .Values.cainjector.enabled }}
---
{{ include "cert-manager.workload" (dict "context" . "fullname" (printf "%s-cainjector" $fullname)
    "name" "cainjector" "component" "cainjector" "replicas" .Values.cainjector.replicaCount
    "image" "cert-manager-cainjector" "ports" (dict)) }}
{{- end }}
---
{{ include "cert-manager.workload" (dict "context" . "fullname" (printf "%s-webhook" $fullname) "name" "webhook"
    "component" "webhook" "replicas" .Values.webhook.replicaCount "image" "cert-manager-webhook"
    "ports" (dict "https" .Values.webhook.securePort "healthcheck" 6080)) }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}-webhook
  namespace: {{ $namespace }}
spec:
  type: ClusterIP
  ports:
    - name: https
      port: 443
      protocol: TCP
      targetPort: https
  selector:
    app.kubernetes.io/name: webhook
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/component: webhook
{{- range $kind := list "ValidatingWebhookConfiguration" "MutatingWebhookConfiguration" }}
---
apiVersion: admissionregistration.k8s.io/v1
kind: {{ $kind }}
metadata:
  name: {{ $fullname }}-webhook
  annotations:
    cert-manager.io/inject-ca-from-secret: {{ printf "%s/%s-webhook-ca" $namespace $fullname | quote }}
webhooks:
  - name: webhook.cert-manager.io
    {{- if eq $kind "ValidatingWebhookConfiguration" }}
    namespaceSelector:
      matchExpressions:
        - key: cert-manager.io/disable-validation
          operator: NotIn
          values:
            - "true"
    {{- end }}
    rules:
      - apiGroups:
          - cert-manager.io
          {{- if eq $kind "ValidatingWebhookConfiguration" }}
          - acme.cert-manager.io
          {{- end }}
        apiVersions:
          - v1
        operations:
          - CREATE
          {{- if eq $kind "ValidatingWebhookConfiguration" }}
          - UPDATE
          {{- end }}
        resources:
          - {{ ternary "*/*" "certificaterequests" (eq $kind "ValidatingWebhookConfiguration") | quote }}
    admissionReviewVersions: ["v1"]
    matchPolicy: Equivalent
    timeoutSeconds: 30
    failurePolicy: Fail
    sideEffects: None
    clientConfig:
      service:
        name: {{ $fullname }}-webhook
        namespace: {{ $namespace }}
        path: {{ ternary "/validate" "/mutate" (eq $kind "ValidatingWebhookConfiguration") }}
{{- end }}
{{- if .Values.startupapicheck.enabled }}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ $fullname }}-startupapicheck
  namespace: {{ $namespace }}
  annotations:
    helm.sh/hook: post-install
    helm.sh/hook-weight: "1"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: 4
  template:
    spec:
      restartPolicy: OnFailure
      containers:
        - name: cert-manager-startupapicheck
          image: quay.io/jetstack/cert-manager-startupapicheck:{{ .Chart.AppVersion }}
          args: ["check", "api", "--wait=1m"]
{{- end }}
"""


def _cert_manager_crd_templates(reference: Path) -> dict[str, str]:
    templates = {}
    for path in sorted((reference / "crds" / CERT_MANAGER_CRD_DIR).glob("*.yaml")):
        crd = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        body = yaml.dump({"spec": crd["spec"]}, Dumper=_Dumper, sort_keys=False, width=10_000)
        if "{{" in body or "}}" in body:
            raise ValueError(f"{path} contains template delimiters; it cannot be embedded in a template as is")
        templates[f"templates/crd-{path.name}"] = (
            "{{- if .Values.crds.enabled }}\n"
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
            f"  name: {crd['metadata']['name']}\n"
            "  labels:\n    app.kubernetes.io/name: cert-manager\n    app.kubernetes.io/instance: {{ .Release.Name }}\n"
            "  {{- if .Values.crds.keep }}\n  annotations:\n    helm.sh/resource-policy: keep\n  {{- end }}\n"
            + body + "{{- end }}\n"
        )
    return templates


# ---------------------------------------------------------------- Envoy Gateway

GATEWAY_API_CRD_DIR = "gateway-api-v1.6.1"
GATEWAY_CRDS_VALUES = """\
crds:
  gatewayAPI:
    enabled: false
    channel: experimental
  envoyGateway:
    enabled: false
"""


def _envoy_gateway_crd(kind: str, plural: str, short: str) -> str:
    """One of Envoy Gateway's own CRDs, templated like upstream's (``crds.envoyGateway.enabled``): upstream's
    names and status subresource, a preserve-unknown-fields schema (ours; the offline validation checks the
    fields against the schema generated from upstream's CRD)."""
    return f"""\
{{{{- if .Values.crds.envoyGateway.enabled }}}}
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.gateway.envoyproxy.io
spec:
  group: gateway.envoyproxy.io
  names:
    categories: [envoy-gateway]
    kind: {kind}
    listKind: {kind}List
    plural: {plural}
    shortNames: [{short}]
    singular: {kind.lower()}
  scope: Namespaced
  versions:
    - name: v1alpha1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
      subresources:
        status: {{}}
{{{{- end }}}}
"""


ENVOY_PROXY_CRD = _envoy_gateway_crd("EnvoyProxy", "envoyproxies", "eproxy")
SECURITY_POLICY_CRD = _envoy_gateway_crd("SecurityPolicy", "securitypolicies", "sp")
GATEWAY_HELM_VALUES = """\
nameOverride: ""
fullnameOverride: ""
namespaceOverride: ""
crds:
  enabled: true
deployment:
  replicas: 1
"""
GATEWAY_HELM_TEMPLATES = """\
{{- $ns := default .Release.Namespace .Values.namespaceOverride }}
{{- $fullname := .Values.fullnameOverride | default (printf "%s-%s" .Release.Name .Chart.Name) }}
{{- $fullname = $fullname | trunc 63 | trimSuffix "-" }}
{{- $labels := dict "app.kubernetes.io/name" "gateway-helm" "app.kubernetes.io/instance" .Release.Name }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: envoy-gateway
  namespace: {{ $ns }}
---
apiVersion: v1
kind: Service
metadata:
  name: envoy-gateway
  namespace: {{ $ns }}
  labels:
    control-plane: envoy-gateway
spec:
  type: ClusterIP
  selector:
    control-plane: envoy-gateway
    {{- toYaml $labels | nindent 4 }}
  ports:
    - name: grpc
      port: 18000
      targetPort: 18000
    - name: wasm
      port: 18002
      targetPort: 18002
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: envoy-gateway
  namespace: {{ $ns }}
  labels:
    control-plane: envoy-gateway
    {{- toYaml $labels | nindent 4 }}
spec:
  replicas: {{ .Values.deployment.replicas }}
  selector:
    matchLabels:
      control-plane: envoy-gateway
      {{- toYaml $labels | nindent 6 }}
  template:
    metadata:
      labels:
        control-plane: envoy-gateway
        {{- toYaml $labels | nindent 8 }}
    spec:
      serviceAccountName: envoy-gateway
      containers:
        - name: envoy-gateway
          image: docker.io/envoyproxy/gateway:{{ .Chart.AppVersion }}
          args: ["server", "--config-path=/config/envoy-gateway.yaml"]
          ports:
            - name: grpc
              containerPort: 18000
            - name: wasm
              containerPort: 18002
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ $fullname }}-certgen
  namespace: {{ $ns }}
  annotations:
    helm.sh/hook: pre-install, pre-upgrade
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: envoy-gateway-certgen
          image: docker.io/envoyproxy/gateway:{{ .Chart.AppVersion }}
          command: ["envoy-gateway", "certgen"]
"""


def _gateway_api_crd_templates(reference: Path) -> dict[str, str]:
    templates = {"templates/channel.yaml": (
        '{{- if and .Values.crds.gatewayAPI.enabled (ne .Values.crds.gatewayAPI.channel "standard") }}\n'
        '{{- fail "stand-in: only the standard channel of the Gateway API CRDs is in the reference data" }}\n'
        "{{- end }}\n")}
    for path in sorted((reference / "crds" / GATEWAY_API_CRD_DIR).glob("*.yaml")):
        crd = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        body = yaml.dump({"spec": crd["spec"]}, Dumper=_Dumper, sort_keys=False, width=10_000)
        if "{{" in body or "}}" in body:
            raise ValueError(f"{path} contains template delimiters; it cannot be embedded in a template as is")
        annotations = yaml.dump({"annotations": crd["metadata"].get("annotations") or {}}, Dumper=_Dumper,
                                sort_keys=False, width=10_000)
        templates[f"templates/{path.name}"] = (
            "{{- if .Values.crds.gatewayAPI.enabled }}\n"
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
            f"  name: {crd['metadata']['name']}\n"
            + "".join(f"  {line}\n" for line in annotations.splitlines())
            + body + "{{- end }}\n")
    return templates


# ---------------------------------------------------------------- building

def pins(chart: Path = CHART) -> dict[str, str]:
    """Dependency name -> version, as the umbrella Chart.yaml pins them."""
    meta = yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8"))
    return {d["name"]: str(d["version"]) for d in meta["dependencies"]}


def _app_versions(chart: Path = CHART) -> dict[str, str]:
    versions = yaml.safe_load((chart / "values.yaml").read_text(encoding="utf-8"))["versions"]
    return {"argo-cd": versions["argocd"], "ingress-nginx": versions["ingressNginx"].removeprefix("v"),
            "cert-manager": versions["certManager"], "gateway-crds-helm": versions["envoyGateway"],
            "gateway-helm": versions["envoyGateway"],
            "tekton-operator": versions["tektonOperator"]}


def _argo_cd_crd_templates(reference: Path) -> dict[str, str]:
    templates = {}
    for filename in ARGO_CD_CRDS:
        path = reference / "crds" / "argo-cd-v3.5.1" / filename
        crd = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        body = yaml.dump({"spec": crd["spec"]}, Dumper=_Dumper, sort_keys=False, width=10_000)
        if "{{" in body or "}}" in body:
            raise ValueError(f"{path} contains template delimiters; it cannot be embedded in a template as is")
        labels = yaml.dump({"labels": crd["metadata"].get("labels") or {}}, Dumper=_Dumper, sort_keys=False)
        templates[f"templates/crds/{filename}"] = (
            "{{- if .Values.crds.install }}\n"
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
            f"  name: {crd['metadata']['name']}\n"
            + "".join(f"  {line}\n" for line in labels.splitlines())
            + "  {{- if .Values.crds.keep }}\n  annotations:\n    helm.sh/resource-policy: keep\n  {{- end }}\n"
            + body + "{{- end }}\n"
        )
    return templates


def _chart_files(name: str, version: str, app_version: str, reference: Path) -> dict[str, str]:
    chart_yaml = yaml.safe_dump({
        "apiVersion": "v2", "name": name, "version": version, "appVersion": app_version, "type": "application",
        "description": f"Test stand-in for the {name} chart {version}: the objects kubectl-gitops depends on.",
    }, sort_keys=False)
    if name == "argo-cd":
        files = {"values.yaml": ARGO_VALUES, "templates/_helpers.tpl": ARGO_HELPERS,
                 "templates/workloads.yaml": ARGO_WORKLOADS, "templates/configs.yaml": ARGO_CONFIGS,
                 "templates/redis-secret-init-job.yaml": ARGO_REDIS_JOB,
                 **_argo_cd_crd_templates(reference)}
    elif name == "ingress-nginx":
        files = {"values.yaml": NGINX_VALUES, "templates/_helpers.tpl": NGINX_HELPERS,
                 "templates/controller.yaml": NGINX_CONTROLLER, "templates/admission-webhook.yaml": NGINX_WEBHOOK,
                 "templates/admission-jobs.yaml": NGINX_JOBS}
    elif name == "cert-manager":
        files = {"values.yaml": CERT_MANAGER_VALUES, "templates/_helpers.tpl": CERT_MANAGER_HELPERS,
                 "templates/workloads.yaml": CERT_MANAGER_WORKLOADS, **_cert_manager_crd_templates(reference)}
    elif name == "gateway-crds-helm":
        files = {"values.yaml": GATEWAY_CRDS_VALUES, "templates/envoyproxy-crd.yaml": ENVOY_PROXY_CRD,
                 "templates/securitypolicy-crd.yaml": SECURITY_POLICY_CRD,
                 **_gateway_api_crd_templates(reference)}
    elif name == "gateway-helm":
        files = {"values.yaml": GATEWAY_HELM_VALUES, "templates/envoy-gateway.yaml": GATEWAY_HELM_TEMPLATES}
    elif name == "tekton-operator":
        files = {"values.yaml": TEKTON_VALUES, "templates/_helpers.tpl": TEKTON_HELPERS,
                 "templates/operator.yaml": TEKTON_OPERATOR, "templates/crds.yaml": TEKTON_CRD}
    else:
        raise ValueError(f"no stand-in for the {name} chart")
    return {"Chart.yaml": chart_yaml, **files}


def _archive(name: str, files: dict[str, str]) -> bytes:
    """A chart archive as `helm package` lays it out (``<name>/...``), byte-for-byte reproducible."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(files):
            data = files[path].encode("utf-8")
            info = tarfile.TarInfo(f"{name}/{path}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


@cache
def _archives(reference: str, chart: str) -> dict[str, tuple[str, bytes]]:
    app_versions = _app_versions(Path(chart))
    archives = {}
    for name, version in pins(Path(chart)).items():
        files = _chart_files(name, version, app_versions[name], Path(reference))
        archives[name] = (f"{name}-{version}.tgz", _archive(name, files))
    return archives


def dependency_archives(dest: Path, reference: Path, *, chart: Path = CHART) -> dict[str, Path]:
    """Write the stand-in archives (``<name>-<pinned version>.tgz``) into ``dest``; return them by name."""
    dest.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, (filename, data) in _archives(str(reference), str(chart)).items():
        path = dest / filename
        path.write_bytes(data)
        written[name] = path
    return written


def chart_with_dependencies(dest: Path, reference: Path, *, chart: Path = CHART) -> Path:
    """A copy of the umbrella chart at ``dest / <chart name>`` with the stand-in archives in ``charts/``."""
    copy = dest / chart.name
    shutil.copytree(chart, copy, ignore=shutil.ignore_patterns("charts"))
    dependency_archives(copy / "charts", reference, chart=chart)
    return copy
