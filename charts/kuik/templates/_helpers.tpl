{{/* Names, labels and the storage-mode decision shared by every component. */}}

{{- define "kuik.fullname" -}}
{{- if contains "kuik" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-kuik" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kuik.componentName" -}}
{{- printf "%s-%s" (include "kuik.fullname" .root) .component -}}
{{- end -}}

{{- define "kuik.labels" -}}
app.kubernetes.io/name: kuik
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: kuik
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "kuik.selectorLabels" -}}
app.kubernetes.io/name: kuik
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
ServiceAccount annotations (IRSA's eks.amazonaws.com/role-arn, GKE's iam.gke.io/gcp-service-account,
Azure's azure.workload.identity/client-id): the global serviceAccount.annotations, then the
component's own, which win. Renders "annotations: …" or nothing.
*/}}
{{- define "kuik.serviceAccountAnnotations" -}}
{{- $global := (.root.Values.serviceAccount | default dict).annotations | default dict -}}
{{- $own := (.values.serviceAccount | default dict).annotations | default dict -}}
{{- with mergeOverwrite (deepCopy $global) (deepCopy $own) -}}
annotations: {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/* credentials.ecr of the controller's and the proxy's configuration, from the ecr values. */}}
{{- define "kuik.ecrConfig" -}}
{{- $e := .Values.ecr | default dict -}}
enabled: {{ ternary $e.enabled true (hasKey $e "enabled") }}
registries: {{ $e.registries | default list | toJson }}
region: {{ $e.region | default "" | quote }}
endpoint: {{ $e.endpoint | default "" | quote }}
{{- end -}}

{{/* credentials.google of the controller's and the proxy's configuration, from the google values. */}}
{{- define "kuik.googleConfig" -}}
{{- $g := .Values.google | default dict -}}
enabled: {{ $g.enabled | default false }}
registries: {{ $g.registries | default list | toJson }}
{{- end -}}

{{/* credentials.azure of the controller's and the proxy's configuration, from the azure values. */}}
{{- define "kuik.azureConfig" -}}
{{- $a := .Values.azure | default dict -}}
enabled: {{ $a.enabled | default false }}
registries: {{ $a.registries | default list | toJson }}
identity: {{ $a.identity | default "auto" | quote }}
{{- with $a.managedIdentityClientId }}
managedIdentityClientId: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* image: repository:tag, the tag defaulting to the component subchart's value (its app version). */}}
{{- define "kuik.image" -}}
{{- printf "%s:%s" .image.repository (required (printf "%s.image.tag is empty" .component) (toString .image.tag)) -}}
{{- end -}}

{{/* Hardened container security context used by every kuik container. */}}
{{- define "kuik.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "kuik.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* accessModes may be written as a string or a list. */}}
{{- define "kuik.registry.accessModes" -}}
{{- $m := .Values.registry.persistence.accessModes -}}
{{- if kindIs "string" $m -}}{{- list $m | toJson -}}{{- else -}}{{- $m | toJson -}}{{- end -}}
{{- end -}}

{{/*
The registry's storage mode, as the storage table of the design document says:
tmpfs (default) | pvc-rwo | pvc-rwx | minio | s3 | gcs | azure
*/}}
{{- define "kuik.registry.mode" -}}
{{- $p := .Values.registry.persistence -}}
{{- if .Values.minio.enabled -}}minio
{{- else if $p.s3 -}}s3
{{- else if $p.gcs -}}gcs
{{- else if $p.azure -}}azure
{{- else if $p.enabled -}}
{{- if has "ReadWriteMany" (include "kuik.registry.accessModes" . | fromJsonArray) -}}pvc-rwx{{- else -}}pvc-rwo{{- end -}}
{{- else -}}tmpfs
{{- end -}}
{{- end -}}

{{/* HA-compatible modes run as a Deployment, the others as a StatefulSet. */}}
{{- define "kuik.registry.ha" -}}
{{- has (include "kuik.registry.mode" .) (list "pvc-rwx" "minio" "s3" "gcs" "azure") -}}
{{- end -}}

{{/* Guards: refuse combinations that would silently lose or corrupt the cache. */}}
{{- define "kuik.validate" -}}
{{- $p := .Values.registry.persistence -}}
{{- $backends := list -}}
{{- if .Values.minio.enabled }}{{ $backends = append $backends "minio.enabled" }}{{ end -}}
{{- if $p.s3 }}{{ $backends = append $backends "registry.persistence.s3" }}{{ end -}}
{{- if $p.gcs }}{{ $backends = append $backends "registry.persistence.gcs" }}{{ end -}}
{{- if $p.azure }}{{ $backends = append $backends "registry.persistence.azure" }}{{ end -}}
{{- if gt (len $backends) 1 -}}
{{- fail (printf "kuik: more than one registry storage backend is configured (%s): choose one" (join ", " $backends)) -}}
{{- end -}}
{{- $mode := include "kuik.registry.mode" . -}}
{{- if and (gt (int .Values.registry.replicas) 1) (ne (include "kuik.registry.ha" .) "true") -}}
{{- fail (printf "kuik: registry.replicas=%v needs an HA-compatible storage mode, but the mode is %s; use registry.persistence.accessModes=ReadWriteMany, minio.enabled, or registry.persistence.s3/gcs/azure — or set registry.replicas=1" .Values.registry.replicas $mode) -}}
{{- end -}}
{{- if and $p.s3 (hasPrefix "s3://" (toString (default "" $p.s3.bucket))) -}}
{{- fail (printf "kuik: registry.persistence.s3.bucket must be the bucket name without the s3:// prefix (got %q; write %q)" $p.s3.bucket (trimPrefix "s3://" $p.s3.bucket)) -}}
{{- end -}}
{{- if and $p.s3 (not $p.s3.bucket) -}}
{{- fail "kuik: registry.persistence.s3.bucket is required in the S3 mode" -}}
{{- end -}}
{{- if and $p.gcs (not $p.gcs.bucket) -}}
{{- fail "kuik: registry.persistence.gcs.bucket is required in the GCS mode" -}}
{{- end -}}
{{- if and $p.azure (not $p.azure.container) -}}
{{- fail "kuik: registry.persistence.azure.container is required in the Azure mode" -}}
{{- end -}}
{{- if and $p.azure (not $p.azureExistingSecret) -}}
{{- fail "kuik: registry.persistence.azureExistingSecret is required in the Azure mode (a Secret with keys accountname and accountkey)" -}}
{{- end -}}
{{- $az := .Values.azure | default dict -}}
{{- if and $az.managedIdentityClientId (eq (toString $az.identity) "workload") -}}
{{- fail (printf "kuik: azure.managedIdentityClientId (%s) names a managed identity, which azure.identity=workload never uses: set azure.identity=managed or auto, or leave azure.managedIdentityClientId empty" $az.managedIdentityClientId) -}}
{{- end -}}
{{- if and .Values.minio.enabled (not .Values.minio.auth.existingSecret) -}}
{{- fail "kuik: minio.auth.existingSecret is required when minio.enabled=true (a Secret with keys root-user and root-password, e.g. kubectl create secret generic minio-root-auth --from-literal=root-user=root --from-literal=root-password=…)" -}}
{{- end -}}
{{- end -}}

{{/* Address pods are rewritten to: the proxy on the pod's own node. */}}
{{- define "kuik.proxyAddress" -}}
{{- printf "localhost:%v" .Values.proxy.hostPort -}}
{{- end -}}

{{- define "kuik.registryURL" -}}
{{- printf "http://%s.%s.svc:%v" (include "kuik.componentName" (dict "root" . "component" "registry")) .Release.Namespace .Values.registry.port -}}
{{- end -}}

{{- define "kuik.serviceMonitor" -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "kuik.componentName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "kuik.labels" . | nindent 4 }}
    {{- with .monitor.extraLabels }}{{ toYaml . | nindent 4 }}{{ end }}
spec:
  selector:
    matchLabels: {{- include "kuik.selectorLabels" . | nindent 6 }}
  endpoints:
    - port: metrics
      interval: {{ .monitor.scrapeInterval }}
{{- end -}}
