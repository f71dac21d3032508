{{/*
The kuik registry, rendered by the umbrella chart with the whole values tree (.Values.registry,
.Values.minio, …). Storage mode → workload kind, volumes and driver configuration.
*/}}
{{- define "kuik.registry.manifests" -}}
{{- $root := . -}}
{{- $r := .Values.registry -}}
{{- $p := $r.persistence -}}
{{- $ctx := dict "root" . "component" "registry" -}}
{{- $name := include "kuik.componentName" $ctx -}}
{{- $mode := include "kuik.registry.mode" . -}}
{{- $ha := eq (include "kuik.registry.ha" .) "true" -}}
{{- $storage := dict -}}
{{- if eq $mode "minio" -}}
{{- $_ := set $storage "s3" (dict "region" "us-east-1" "regionendpoint" (printf "http://%s:9000" (include "kuik.componentName" (dict "root" . "component" "minio"))) "bucket" .Values.minio.bucket "forcepathstyle" true "secure" false "createbucket" true) -}}
{{- else if eq $mode "s3" -}}
{{- $_ := set $storage "s3" (omit $p.s3 "accesskey" "secretkey") -}}
{{- else if eq $mode "gcs" -}}
{{- $gcs := omit $p.gcs "credentials" -}}
{{- if $p.gcsExistingSecret }}{{ $_ := set $gcs "keyfile" "/etc/kuik/gcs/credentials.json" }}{{ end -}}
{{- $_ := set $storage "gcs" $gcs -}}
{{- else if eq $mode "azure" -}}
{{- $_ := set $storage "azure" (omit $p.azure "accountname" "accountkey") -}}
{{- else -}}
{{- $_ := set $storage "filesystem" (dict "rootdirectory" "/var/lib/registry") -}}
{{- end -}}
{{- $_ := set $storage "delete" (dict "enabled" true) -}}
{{- $_ := set $storage "redirect" (dict "disable" (or (not (has $mode (list "s3" "minio"))) $p.disableS3Redirections)) -}}
{{- /* Online garbage collection in every persistent mode; never in Tmpfs (the seed: nothing to keep). */ -}}
{{- $gc := dict "enabled" (ne $mode "tmpfs") "schedule" $r.garbageCollection.schedule "deleteuntagged" $r.garbageCollection.deleteUntagged "ratelimit" (int (ternary $r.garbageCollection.rateLimit 100 (hasKey $r.garbageCollection "rateLimit"))) -}}
{{- $config := dict "version" "0.1" "log" (dict "level" $r.logLevel) "http" (dict "addr" (printf ":%v" $r.port) "debug" (dict "addr" (printf ":%v" $r.metricsPort))) "storage" $storage "garbagecollection" $gc -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
  {{- with include "kuik.serviceAccountAnnotations" (dict "root" . "values" $r) }}{{ . | nindent 2 }}{{ end }}
automountServiceAccountToken: false
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
  annotations:
    kuik.enix.io/storage-mode: {{ $mode }}
data:
  config.yml: |
    {{- toYaml $config | nindent 4 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
spec:
  type: {{ $r.service.type }}
  selector: {{- include "kuik.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: http
      port: {{ $r.port }}
      targetPort: http
    - name: metrics
      port: {{ $r.metricsPort }}
      targetPort: metrics
{{- if eq $mode "pvc-rwx" }}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
  annotations:
    helm.sh/resource-policy: keep
spec:
  accessModes: {{ include "kuik.registry.accessModes" . }}
  {{- with $p.storageClass }}
  storageClassName: {{ . }}
  {{- end }}
  resources:
    requests:
      storage: {{ $p.size }}
{{- end }}
---
apiVersion: apps/v1
kind: {{ if $ha }}Deployment{{ else }}StatefulSet{{ end }}
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
spec:
  replicas: {{ $r.replicas }}
  {{- if not $ha }}
  serviceName: {{ $name }}
  {{- end }}
  selector:
    matchLabels: {{- include "kuik.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "kuik.labels" $ctx | nindent 8 }}
        {{- with $r.podLabels }}{{ toYaml . | nindent 8 }}{{ end }}
      annotations:
        checksum/config: {{ toYaml $config | sha256sum }}
        {{- with $r.podAnnotations }}{{ toYaml . | nindent 8 }}{{ end }}
    spec:
      serviceAccountName: {{ $name }}
      automountServiceAccountToken: false
      securityContext: {{- mergeOverwrite (include "kuik.podSecurityContext" . | fromYaml) (deepCopy ($r.podSecurityContext | default dict)) | toYaml | nindent 8 }}
      {{- with $r.imagePullSecrets }}
      imagePullSecrets: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $r.nodeSelector }}
      nodeSelector: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $r.tolerations }}
      tolerations: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $r.affinity }}
      affinity: {{- toYaml . | nindent 8 }}
      {{- end }}
      terminationGracePeriodSeconds: 30
      containers:
        - name: registry
          image: {{ include "kuik.image" (dict "image" $r.image "component" "registry") }}
          imagePullPolicy: {{ $r.image.pullPolicy }}
          args: ["--config", "/etc/kuik/registry/config.yml"]
          ports:
            - name: http
              containerPort: {{ $r.port }}
            - name: metrics
              containerPort: {{ $r.metricsPort }}
          env:
            {{- if eq $mode "minio" }}
            - name: REGISTRY_STORAGE_S3_ACCESSKEY
              valueFrom: {secretKeyRef: {name: {{ .Values.minio.auth.existingSecret }}, key: root-user}}
            - name: REGISTRY_STORAGE_S3_SECRETKEY
              valueFrom: {secretKeyRef: {name: {{ .Values.minio.auth.existingSecret }}, key: root-password}}
            {{- else if and (eq $mode "s3") $p.s3ExistingSecret }}
            - name: REGISTRY_STORAGE_S3_ACCESSKEY
              valueFrom: {secretKeyRef: {name: {{ $p.s3ExistingSecret }}, key: accessKey}}
            - name: REGISTRY_STORAGE_S3_SECRETKEY
              valueFrom: {secretKeyRef: {name: {{ $p.s3ExistingSecret }}, key: secretKey}}
            {{- else if eq $mode "azure" }}
            - name: REGISTRY_STORAGE_AZURE_ACCOUNTNAME
              valueFrom: {secretKeyRef: {name: {{ $p.azureExistingSecret }}, key: accountname}}
            - name: REGISTRY_STORAGE_AZURE_ACCOUNTKEY
              valueFrom: {secretKeyRef: {name: {{ $p.azureExistingSecret }}, key: accountkey}}
            {{- end }}
          readinessProbe:
            httpGet: {path: /readyz, port: metrics}
            periodSeconds: 5
            failureThreshold: 3
          livenessProbe:
            httpGet: {path: /healthz, port: metrics}
            periodSeconds: 10
            failureThreshold: 6
          resources: {{- toYaml $r.resources | nindent 12 }}
          securityContext: {{- mergeOverwrite (include "kuik.containerSecurityContext" . | fromYaml) (deepCopy ($r.securityContext | default dict)) | toYaml | nindent 12 }}
          volumeMounts:
            - name: config
              mountPath: /etc/kuik/registry
              readOnly: true
            - name: tmp
              mountPath: /tmp
            {{- if has $mode (list "tmpfs" "pvc-rwo" "pvc-rwx") }}
            - name: data
              mountPath: /var/lib/registry
            {{- end }}
            {{- if and (eq $mode "gcs") $p.gcsExistingSecret }}
            - name: gcs-credentials
              mountPath: /etc/kuik/gcs
              readOnly: true
            {{- end }}
      volumes:
        - name: config
          configMap:
            name: {{ $name }}
        - name: tmp
          emptyDir: {}
        {{- if eq $mode "tmpfs" }}
        - name: data
          emptyDir:
            medium: Memory
            sizeLimit: {{ $r.tmpfsSizeLimit }}
        {{- else if eq $mode "pvc-rwx" }}
        - name: data
          persistentVolumeClaim:
            claimName: {{ $name }}
        {{- end }}
        {{- if and (eq $mode "gcs") $p.gcsExistingSecret }}
        - name: gcs-credentials
          secret:
            secretName: {{ $p.gcsExistingSecret }}
            items: [{key: credentials.json, path: credentials.json}]
        {{- end }}
  {{- if eq $mode "pvc-rwo" }}
  volumeClaimTemplates:
    - metadata:
        name: data
        labels: {{- include "kuik.selectorLabels" $ctx | nindent 10 }}
      spec:
        accessModes: {{ include "kuik.registry.accessModes" . }}
        {{- with $p.storageClass }}
        storageClassName: {{ . }}
        {{- end }}
        resources:
          requests:
            storage: {{ $p.size }}
  {{- end }}
{{- if $r.pdb.create }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
spec:
  minAvailable: {{ $r.pdb.minAvailable }}
  selector:
    matchLabels: {{- include "kuik.selectorLabels" $ctx | nindent 6 }}
{{- end }}
{{- if $r.serviceMonitor.create }}
---
{{ include "kuik.serviceMonitor" (dict "root" . "component" "registry" "monitor" $r.serviceMonitor) }}
{{- end }}
{{- end -}}
