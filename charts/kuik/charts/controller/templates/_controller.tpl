{{/*
The kuik controller: every replica serves the admission webhook; one replica (Lease) runs the
reconcilers. TLS for the webhook comes from cert-manager, or from the controller itself (it keeps a
CA and serving certificate in a Secret and patches the caBundle below, rotating before expiry).
*/}}
{{- define "kuik.controller.manifests" -}}
{{- $c := .Values.controllers -}}
{{- $ctx := dict "root" . "component" "controller" -}}
{{- $name := include "kuik.componentName" $ctx -}}
{{- $fullname := include "kuik.fullname" . -}}
{{- $tlsSecret := printf "%s-webhook-tls" $name -}}
{{- $webhookName := printf "%s-webhook" $fullname -}}
{{- $ignoredNamespaces := concat (list "kube-system" .Release.Namespace) $c.webhook.ignoredNamespaces | uniq -}}
{{- $tls := dict "mode" "self-managed" "secretName" $tlsSecret "webhookConfigurationName" $webhookName "serviceName" $name -}}
{{- if $c.webhook.useCertManager -}}
{{- $tls = dict "mode" "files" "certFile" "/etc/kuik/webhook-tls/tls.crt" "keyFile" "/etc/kuik/webhook-tls/tls.key" -}}
{{- end -}}
{{- /* Keys as apps/controller/src/config.ts reads them; charts/kuik/test/app-config.test.ts runs the controller's --check-config on this. */ -}}
{{- $config := dict
      "namespace" .Release.Namespace
      "log" (dict "level" $c.logLevel)
      "ops" (dict "listen" (printf ":%v" $c.metricsPort))
      "maxConcurrentCachedImageReconciles" $c.maxConcurrentCachedImageReconciles
      "cachedImagesExpiryDelay" (printf "%vh" (mul .Values.cachedImagesExpiryDelay 24))
      "webhook" (dict
        "listen" (printf ":%v" $c.webhook.port)
        "proxyAddress" (include "kuik.proxyAddress" .)
        "ignoredNamespaces" $ignoredNamespaces
        "ignoredImages" $c.webhook.ignoredImages
        "acceptedImages" $c.webhook.acceptedImages
        "ignorePullPolicyAlways" $c.webhook.ignorePullPolicyAlways
        "podPullSecrets" $c.webhook.podPullSecrets
        "tls" $tls)
      "registry" (dict "url" (include "kuik.registryURL" .) "insecureRegistries" .Values.insecureRegistries)
      "credentials" (dict "ecr" (include "kuik.ecrConfig" . | fromYaml) "google" (include "kuik.googleConfig" . | fromYaml) "azure" (include "kuik.azureConfig" . | fromYaml))
      "proxy" (dict "namespace" .Release.Namespace "podSelector" (printf "app.kubernetes.io/instance=%s,app.kubernetes.io/component=proxy" .Release.Name))
      "pullSecrets" (dict "mirrorSecretName" (printf "%s-pull-secrets" $fullname))
      "cacheFill" (dict "architectures" .Values.architectures)
      "leaderElection" (dict "leaseName" $name)
-}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
  {{- with include "kuik.serviceAccountAnnotations" (dict "root" . "values" $c) }}{{ . | nindent 2 }}{{ end }}
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
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ $name }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
rules:
  - apiGroups: [kuik.enix.io]
    resources: [cachedimages, repositories]
    verbs: [get, list, watch, create, update, patch, delete]
  - apiGroups: [kuik.enix.io]
    resources: [cachedimages/status, repositories/status, cachedimages/finalizers, repositories/finalizers]
    verbs: [get, update, patch]
  - apiGroups: [""]
    resources: [pods]
    verbs: [get, list, watch]
  # The leader mirrors each node's proxy readiness onto the label kuik.enix.io/proxy-ready.
  - apiGroups: [""]
    resources: [nodes]
    verbs: [get, list, watch, patch]
  - apiGroups: [apps]
    resources: [deployments, statefulsets, daemonsets, replicasets]
    verbs: [get, list, watch]
  - apiGroups: [batch]
    resources: [cronjobs, jobs]
    verbs: [get, list, watch]
  # Pull secrets named by Repository objects and by pods, read one by one (no list/watch of
  # Secrets); with webhook.podPullSecrets, the proxy-host copies of pods' pull secrets are
  # created and updated beside them.
  - apiGroups: [""]
    resources: [secrets]
    verbs: {{ if $c.webhook.podPullSecrets }}[get, create, update]{{ else }}[get]{{ end }}
  - apiGroups: ["", events.k8s.io]
    resources: [events]
    verbs: [create, patch]
  - apiGroups: [admissionregistration.k8s.io]
    resources: [mutatingwebhookconfigurations]
    resourceNames: [{{ $webhookName }}]
    verbs: [get, patch, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ $name }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ $name }}
    namespace: {{ .Release.Namespace }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
rules:
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    verbs: [get, list, watch, create, update, patch]
  # Its webhook TLS Secret and the pull-credentials Secret it publishes for the proxies.
  - apiGroups: [""]
    resources: [secrets]
    verbs: [get, list, watch, create, update, patch]
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
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
spec:
  selector: {{- include "kuik.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: webhook
      port: 443
      targetPort: webhook
    - name: metrics
      port: {{ $c.metricsPort }}
      targetPort: metrics
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
spec:
  replicas: {{ $c.replicas }}
  selector:
    matchLabels: {{- include "kuik.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "kuik.labels" $ctx | nindent 8 }}
        {{- with $c.podLabels }}{{ toYaml . | nindent 8 }}{{ end }}
      annotations:
        checksum/config: {{ toYaml $config | sha256sum }}
        {{- with $c.podAnnotations }}{{ toYaml . | nindent 8 }}{{ end }}
    spec:
      serviceAccountName: {{ $name }}
      securityContext: {{- mergeOverwrite (include "kuik.podSecurityContext" . | fromYaml) (deepCopy ($c.podSecurityContext | default dict)) | toYaml | nindent 8 }}
      {{- with $c.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- with $c.imagePullSecrets }}
      imagePullSecrets: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $c.nodeSelector }}
      nodeSelector: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $c.tolerations }}
      tolerations: {{- toYaml . | nindent 8 }}
      {{- end }}
      affinity:
        {{- if $c.affinity }}
        {{- toYaml $c.affinity | nindent 8 }}
        {{- else }}
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector:
                  matchLabels: {{- include "kuik.selectorLabels" $ctx | nindent 20 }}
        {{- end }}
      terminationGracePeriodSeconds: 30
      containers:
        - name: controller
          image: {{ include "kuik.image" (dict "image" $c.image "component" "controllers") }}
          imagePullPolicy: {{ $c.image.pullPolicy }}
          args: ["--config", "/etc/kuik/controller/config.yml"]
          env:
            - name: POD_NAME
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
          ports:
            - name: webhook
              containerPort: {{ $c.webhook.port }}
            - name: metrics
              containerPort: {{ $c.metricsPort }}
          readinessProbe:
            httpGet: {path: /readyz, port: metrics}
            periodSeconds: 5
          livenessProbe:
            httpGet: {path: /healthz, port: metrics}
            periodSeconds: 10
            failureThreshold: 6
          resources: {{- toYaml $c.resources | nindent 12 }}
          securityContext: {{- mergeOverwrite (include "kuik.containerSecurityContext" . | fromYaml) (deepCopy ($c.securityContext | default dict)) | toYaml | nindent 12 }}
          volumeMounts:
            - name: config
              mountPath: /etc/kuik/controller
              readOnly: true
            - name: tmp
              mountPath: /tmp
            {{- if $c.webhook.useCertManager }}
            - name: webhook-tls
              mountPath: /etc/kuik/webhook-tls
              readOnly: true
            {{- end }}
      volumes:
        - name: config
          configMap:
            name: {{ $name }}
        - name: tmp
          emptyDir: {}
        {{- if $c.webhook.useCertManager }}
        - name: webhook-tls
          secret:
            secretName: {{ $tlsSecret }}
        {{- end }}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: {{ $webhookName }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
  {{- if $c.webhook.useCertManager }}
  annotations:
    cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace $tlsSecret }}
  {{- end }}
webhooks:
  - name: pods.kuik.enix.io
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Ignore
    timeoutSeconds: 5
    reinvocationPolicy: IfNeeded
    clientConfig:
      service:
        name: {{ $name }}
        namespace: {{ .Release.Namespace }}
        path: /mutate
        port: 443
    rules:
      - apiGroups: [""]
        apiVersions: [v1]
        operations: [CREATE]
        resources: [pods]
        scope: Namespaced
      - apiGroups: [""]
        apiVersions: [v1]
        operations: [UPDATE]
        resources: [pods/ephemeralcontainers]
        scope: Namespaced
    namespaceSelector:
      matchExpressions:
        - key: kubernetes.io/metadata.name
          operator: NotIn
          values: {{ toJson $ignoredNamespaces }}
    {{- with $c.webhook.objectSelector }}
    objectSelector: {{- toYaml . | nindent 6 }}
    {{- end }}
{{- if $c.webhook.useCertManager }}
{{- if $c.webhook.createCertificateIssuer }}
---
apiVersion: cert-manager.io/v1
kind: Issuer
metadata:
  name: {{ $c.webhook.certificateIssuerRef.name }}
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
spec:
  selfSigned: {}
{{- end }}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: {{ $tlsSecret }}
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
spec:
  secretName: {{ $tlsSecret }}
  dnsNames:
    - {{ $name }}.{{ .Release.Namespace }}.svc
    - {{ $name }}.{{ .Release.Namespace }}.svc.cluster.local
  issuerRef:
    kind: {{ $c.webhook.certificateIssuerRef.kind }}
    name: {{ $c.webhook.certificateIssuerRef.name }}
{{- end }}
{{- if $c.pdb.create }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels: {{- include "kuik.labels" $ctx | nindent 4 }}
spec:
  minAvailable: {{ $c.pdb.minAvailable }}
  selector:
    matchLabels: {{- include "kuik.selectorLabels" $ctx | nindent 6 }}
{{- end }}
{{- if $c.serviceMonitor.create }}
---
{{ include "kuik.serviceMonitor" (dict "root" . "component" "controller" "monitor" $c.serviceMonitor) }}
{{- end }}
{{- end -}}
