{{/*
The kuik proxy: a DaemonSet serving only its own node, on hostPort/hostIP (default
127.0.0.1:7439) or in the node's network namespace (hostNetwork). It may read one Secret (the pull
credentials the controller publishes for it); nothing else. Its readiness reaches the webhook
through the node label the controller's leader maintains from the proxy pods' Ready condition.
*/}}
{{- define "kuik.proxy.manifests" -}}
{{- $p := .Values.proxy -}}
{{- $ctx := dict "root" . "component" "proxy" -}}
{{- $name := include "kuik.componentName" $ctx -}}
{{- $listenHost := ternary $p.hostIp "0.0.0.0" $p.hostNetwork -}}
{{- $port := ternary $p.hostPort $p.containerPort $p.hostNetwork -}}
{{- $config := dict
      "listen" (printf "%s:%v" $listenHost $port)
      "metricsListen" (printf "%s:%v" (ternary "127.0.0.1" "0.0.0.0" $p.hostNetwork) $p.metricsPort)
      "registry" (dict "url" (include "kuik.registryURL" .))
      "log" (dict "level" $p.logLevel)
      "insecureRegistries" .Values.insecureRegistries
      "credentials" (dict "ecr" (include "kuik.ecrConfig" . | fromYaml) "google" (include "kuik.googleConfig" . | fromYaml) "azure" (include "kuik.azureConfig" . | fromYaml))
      "kubernetes" (dict "pullSecret" (printf "%s-pull-secrets" (include "kuik.fullname" .)) "namespace" .Release.Namespace "qps" $p.kubeApiRateLimits.qps "burst" $p.kubeApiRateLimits.burst)
-}}
{{- with .Values.rootCertificateAuthorities }}{{ if .secret }}
{{- $files := list -}}
{{- range .keys }}{{ $files = append $files (printf "/etc/kuik/ca/%s" .) }}{{ end -}}
{{- $_ := set $config "rootCertificateAuthorities" $files -}}
{{- end }}{{ end -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
  {{- with include "kuik.serviceAccountAnnotations" (dict "root" . "values" $p) }}{{ . | nindent 2 }}{{ end }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
data:
  config.yml: |
    {{- toYaml $config | nindent 4 }}
---
# Only the pull-credentials Secret published by the controller, by name.
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
rules:
  - apiGroups: [""]
    resources: [secrets]
    resourceNames: [{{ printf "%s-pull-secrets" (include "kuik.fullname" .) }}]
    verbs: [get, watch, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ $name }}
    namespace: {{ .Release.Namespace }}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
spec:
  selector:
    matchLabels: {{- include "kuik.selectorLabels" $ctx | nindent 6 }}
  updateStrategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 10%
  template:
    metadata:
      labels:
        {{- include "kuik.labels" $ctx | nindent 8 }}
        {{- with $p.podLabels }}{{ toYaml . | nindent 8 }}{{ end }}
      annotations:
        checksum/config: {{ toYaml $config | sha256sum }}
        {{- with $p.podAnnotations }}{{ toYaml . | nindent 8 }}{{ end }}
    spec:
      serviceAccountName: {{ $name }}
      priorityClassName: {{ $p.priorityClassName }}
      hostNetwork: {{ $p.hostNetwork }}
      {{- if $p.hostNetwork }}
      dnsPolicy: ClusterFirstWithHostNet
      {{- end }}
      securityContext: {{- mergeOverwrite (include "kuik.podSecurityContext" . | fromYaml) (deepCopy ($p.podSecurityContext | default dict)) | toYaml | nindent 8 }}
      {{- with $p.imagePullSecrets }}
      imagePullSecrets: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $p.nodeSelector }}
      nodeSelector: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $p.tolerations }}
      tolerations: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $p.affinity }}
      affinity: {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: proxy
          image: {{ include "kuik.image" (dict "image" $p.image "component" "proxy") }}
          imagePullPolicy: {{ $p.image.pullPolicy }}
          args: ["--config", "/etc/kuik/proxy/config.yml"]
          env:
            - name: NODE_NAME
              valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
          ports:
            - name: http
              containerPort: {{ $port }}
              {{- if not $p.hostNetwork }}
              hostPort: {{ $p.hostPort }}
              hostIP: {{ $p.hostIp }}
              {{- end }}
            - name: metrics
              containerPort: {{ $p.metricsPort }}
          readinessProbe:
            httpGet: {path: /readyz, port: metrics}
            periodSeconds: 5
          livenessProbe:
            httpGet: {path: /healthz, port: metrics}
            periodSeconds: 10
            failureThreshold: 6
          resources: {{- toYaml $p.resources | nindent 12 }}
          securityContext: {{- mergeOverwrite (include "kuik.containerSecurityContext" . | fromYaml) (deepCopy ($p.securityContext | default dict)) | toYaml | nindent 12 }}
          volumeMounts:
            - name: config
              mountPath: /etc/kuik/proxy
              readOnly: true
            - name: tmp
              mountPath: /tmp
            {{- with .Values.rootCertificateAuthorities }}{{ if .secret }}
            - name: root-cas
              mountPath: /etc/kuik/ca
              readOnly: true
            {{- end }}{{ end }}
      volumes:
        - name: config
          configMap:
            name: {{ $name }}
        - name: tmp
          emptyDir: {}
        {{- with .Values.rootCertificateAuthorities }}{{ if .secret }}
        - name: root-cas
          secret:
            secretName: {{ .secret }}
        {{- end }}{{ end }}
{{- if $p.serviceMonitor.create }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}-metrics
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
spec:
  clusterIP: None
  selector: {{- include "kuik.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: metrics
      port: {{ $p.metricsPort }}
      targetPort: metrics
---
{{ include "kuik.serviceMonitor" (dict "root" . "component" "proxy" "monitor" $p.serviceMonitor) }}
{{- end }}
{{- end -}}
