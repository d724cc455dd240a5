{{/*
Common labels of every object this chart renders. One helper, so that selectors, `kubectl gitops
status` and teardown can find the platform's objects by `app.kubernetes.io/part-of`.
*/}}
{{- define "gitops-platform.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: {{ .Values.platform.name }}
{{- end }}

{{/*
Which release this is. Templates guard on these three helpers instead of comparing strings, so
that a typo in a template cannot silently render nothing.
*/}}
{{- define "gitops-platform.phase.platform" -}}
{{- if eq .Values.phase "platform" }}true{{ end -}}
{{- end }}

{{- define "gitops-platform.phase.tekton" -}}
{{- if eq .Values.phase "tekton" }}true{{ end -}}
{{- end }}

{{- define "gitops-platform.phase.edge" -}}
{{- if eq .Values.phase "edge" }}true{{ end -}}
{{- end }}

{{- define "gitops-platform.phase.gitops" -}}
{{- if eq .Values.phase "gitops" }}true{{ end -}}
{{- end }}

{{/*
Host of the Argo CD Ingress: the configured host or argo.<domain>. A helper because the
Ingress, its TLS block and the NOTES all need the same value.
*/}}
{{- define "gitops-platform.argocd.host" -}}
{{- .Values.ingress.argocd.host | default (printf "argo.%s" .Values.platform.domain) -}}
{{- end }}

{{/*
Host of the Tekton Dashboard Ingress: the configured host or tekton.<domain>.
*/}}
{{- define "gitops-platform.tektonDashboard.host" -}}
{{- .Values.ingress.tektonDashboard.host | default (printf "tekton.%s" .Values.platform.domain) -}}
{{- end }}

{{/*
Name of the Argo CD project of every Application: gitops.project or the platform name.
*/}}
{{- define "gitops-platform.argocd.project" -}}
{{- .Values.gitops.project | default .Values.platform.name -}}
{{- end }}

{{/*
Whether an environment's destination is the cluster Argo CD runs in. Only those namespaces can
be created by the platform release; other clusters get them through CreateNamespace.
Argument: an entry of .Values.environments.
*/}}
{{- define "gitops-platform.environment.inCluster" -}}
{{- if or (eq (.destination.server | default "") "https://kubernetes.default.svc") (eq (.destination.name | default "") "in-cluster") }}true{{ end -}}
{{- end }}

{{/*
Sync wave of every app, computed from `dependsOn` so that dependencies sync (and, with the
Application health check in argocd-cm, become healthy) before their dependents. Depth of an
app = 0 without dependencies, else 1 + the deepest dependency; computed by relaxing the graph
once per app, which converges for any acyclic graph. Fails on unknown names and on cycles.
Returns a JSON object app name -> wave.
*/}}
{{- define "gitops-platform.apps.syncWaves" -}}
{{- $depth := dict -}}
{{- range .Values.apps }}{{ $_ := set $depth .name 0 }}{{ end -}}
{{- range $app := .Values.apps }}
  {{- range $dep := ($app.dependsOn | default list) }}
    {{- if not (hasKey $depth $dep) }}
      {{- fail (printf "apps: %q dependsOn %q, which is not an app in apps[]" $app.name $dep) }}
    {{- end }}
  {{- end }}
{{- end -}}
{{- $n := len .Values.apps -}}
{{- range $i, $_ := .Values.apps }}
  {{- range $app := $.Values.apps }}
    {{- $d := 0 }}
    {{- range $dep := ($app.dependsOn | default list) }}
      {{- $d = max $d (add1 (get $depth $dep)) }}
    {{- end }}
    {{- $_ := set $depth $app.name $d }}
  {{- end }}
{{- end -}}
{{- range $name, $d := $depth }}
  {{- if ge (int $d) $n }}
    {{- fail (printf "apps: the dependsOn of %q form a cycle" $name) }}
  {{- end }}
{{- end -}}
{{- $waves := dict -}}
{{- range .Values.apps }}
  {{- $_ := set $waves .name (hasKey . "syncWave" | ternary .syncWave (get $depth .name)) }}
{{- end -}}
{{- toJson $waves -}}
{{- end }}

{{/*
Golang image of an app: versions.golangImage, with the tag replaced by goBuild.version when set.
Argument: dict "app" <app entry> "root" $.
*/}}
{{- define "gitops-platform.apps.golangImage" -}}
{{- $image := .root.Values.versions.golangImage -}}
{{- if and .app.goBuild .app.goBuild.version -}}
{{- printf "%s:%s" (regexReplaceAll ":[^:/]+$" $image "") .app.goBuild.version -}}
{{- else -}}
{{- $image -}}
{{- end -}}
{{- end }}

{{/*
Host of the webhook Ingress in front of the Tekton Triggers EventListener: the configured host
or hooks.<domain>.
*/}}
{{- define "gitops-platform.webhooks.host" -}}
{{- .Values.ingress.webhooks.host | default (printf "hooks.%s" .Values.platform.domain) -}}
{{- end }}

{{/*
Replica count of an app in an environment: `replicasByEnvironment.<env>`, else `replicas` (default 1).
Argument: dict "app" <app entry> "environment" <name>.
*/}}
{{- define "gitops-platform.apps.replicas" -}}
{{- $by := .app.replicasByEnvironment | default dict -}}
{{- if hasKey $by .environment -}}{{ get $by .environment | int }}{{- else if hasKey .app "replicas" -}}{{ .app.replicas | int }}{{- else -}}1{{- end -}}
{{- end }}

{{/*
The PipelineRun parameters of one app as a dict (pipeline param name -> value). Shared by the
build-params ConfigMap (for `kubectl gitops build`) and the per-app Triggers, so both start
identical builds. Argument: dict "app" <app entry> "root" $.
*/}}
{{- define "gitops-platform.apps.buildParams" -}}
{{- $app := .app }}
{{- $go := $app.goBuild | default dict }}
{{- $context := $app.context | default "." }}
{{- $env := .root.Values.tekton.pipeline.deployEnvironment }}
{{- toJson (dict
    "app-name" $app.name
    "git-url" $app.repoURL
    "git-revision" ($app.targetRevision | default .root.Values.tekton.pipeline.defaultRevision)
    "context" $context
    "dockerfile" ($app.dockerfile | default (printf "%s/Dockerfile" (trimSuffix "/" $context)))
    "go-build" ($go.enabled | default false | toString)
    "go-package" ($go.package | default "./...")
    "go-image" (include "gitops-platform.apps.golangImage" .)
    "gitops-url" .root.Values.gitops.repoURL
    "gitops-branch" .root.Values.gitops.targetRevision
    "gitops-path" .root.Values.gitops.path
    "environment" $env
    "replicas" (toString (include "gitops-platform.apps.replicas" (dict "app" $app "environment" $env)))) -}}
{{- end }}

{{/*
CEL filter of an app's push Trigger, or "" when no push builds it (a commit revision, `buildOn.branch`
false and no `buildOn.tags`). GitHub's `clone_url` always ends in `.git` (its `ssh_url` too), so the app's
URL matches with or without it; the ref is the app's branch or a tag matching the `buildOn.tags` glob
(`*` any characters, `?` one; the glob's characters are limited so the regex needs no escapes); pushes that
delete a branch or tag build nothing. Argument: dict "app" <app entry> "root" $.
*/}}
{{- define "gitops-platform.apps.triggerFilter" -}}
{{- $app := .app -}}
{{- $on := $app.buildOn | default dict -}}
{{- $url := $app.repoURL | trimSuffix "/" | trimSuffix ".git" -}}
{{- $field := (or (hasPrefix "git@" $url) (hasPrefix "ssh://" $url)) | ternary "ssh_url" "clone_url" -}}
{{- $refs := list -}}
{{- if or (not (hasKey $on "branch")) $on.branch -}}
{{- $branch := $app.targetRevision | default .root.Values.tekton.pipeline.defaultRevision -}}
{{- $refs = append $refs (printf "body.ref == 'refs/heads/%s'" $branch) -}}
{{- end -}}
{{- with $on.tags -}}
{{- $glob := . | replace "." "[.]" | replace "+" "[+]" | replace "*" ".*" | replace "?" "." -}}
{{- $refs = append $refs (printf "body.ref.matches('^refs/tags/%s$')" $glob) -}}
{{- end -}}
{{- if $refs -}}
{{- printf "body.repository.%s in ['%s', '%s.git'] && !body.deleted && (%s)" $field $url $url (join " || " $refs) -}}
{{- end -}}
{{- end }}

{{- /*
TLS of one Ingress: the annotations and the `tls` block. Argument: dict "context" $ "name" (the
Ingress's name) "host". A certificate per host from cert-manager (Secret `<name>-tls`, annotation
`cert-manager.io/cluster-issuer`) unless ingress.tls.secretName brings one for every host.
*/ -}}
{{- define "gitops-platform.tls.annotations" -}}
{{- $tls := .context.Values.ingress.tls }}
{{- if $tls.enabled }}
nginx.ingress.kubernetes.io/ssl-redirect: "true"
nginx.ingress.kubernetes.io/force-ssl-redirect: "true"
{{- if not $tls.secretName }}
cert-manager.io/cluster-issuer: {{ required "ingress.tls.clusterIssuer or ingress.tls.secretName is required when ingress.tls.enabled" $tls.clusterIssuer }}
{{- end }}
{{- with $tls.annotations }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "gitops-platform.tls.block" -}}
{{- $tls := .context.Values.ingress.tls }}
{{- if $tls.enabled }}
tls:
  - hosts:
      - {{ .host }}
    secretName: {{ $tls.secretName | default (printf "%s-tls" .name) }}
{{- end }}
{{- end -}}
