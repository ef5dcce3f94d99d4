{{/*
The Deployment of a Tenantry HTTP service (gateway, auth, users, ...): one container named after the
chart that serves its API, GET /health and GET /metrics on the port named http. Every service chart
renders it from the same values keys (replicaCount, image, ports.http, secretEnv, resources,
securityContext, scheduling, autoscaling), so they all have the same shape.
*/}}

{{/*
The Deployment. `env` is the service's configuration as a list of {name, value} (every variable its
config.ts reads); .Values.secretEnv adds variables from existing Secrets. Probes: readiness is
GET /health, which answers 503 while a dependency is down, so the pod leaves the Service without being
restarted; startup and liveness use `livenessPath`, which must answer whenever the process does
(/health only where it checks no dependency). The container drains on SIGTERM (service-kit gives
in-flight requests 25 s); the preStop pause first lets endpoints and ingress controllers stop sending
new requests, and the grace period covers both.
Usage: {{- include "common.deployment.httpService" (dict "env" $env "livenessPath" "/health" "context" $) }}
*/}}
{{- define "common.deployment.httpService" -}}
{{- $values := .context.Values -}}
{{- $global := $values.global -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "common.names.fullname" .context }}
  namespace: {{ .context.Release.Namespace }}
  labels:
    {{- include "common.labels.standard" .context | nindent 4 }}
spec:
  {{- /* With autoscaling the HorizontalPodAutoscaler owns the replica count; an upgrade must not reset it. */}}
  {{- if not $values.autoscaling.enabled }}
  replicas: {{ $values.replicaCount }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "common.labels.matchLabels" .context | nindent 6 }}
  # Stateless: a new pod is ready before an old one goes, so a rollout never lowers capacity.
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        {{- include "common.labels.standard" .context | nindent 8 }}
      {{- with $values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "common.names.serviceAccount" .context }}
      # The service follows tenants (Secrets, Ingresses, Plans) through the Kubernetes API.
      automountServiceAccountToken: true
      {{- with include "common.images.pullSecrets" $global }}
      {{- . | nindent 6 }}
      {{- end }}
      securityContext:
        {{- include "common.securityContext.pod" $values.securityContext | nindent 8 }}
      {{- with $values.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      terminationGracePeriodSeconds: 40
      topologySpreadConstraints:
        {{- include "common.scheduling.topologySpread" (dict "spread" $values.topologySpread "context" .context) | nindent 8 }}
      affinity:
        {{- include "common.scheduling.softAntiAffinity" (dict "antiAffinity" $values.podAntiAffinity "context" .context) | nindent 8 }}
      {{- with $values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .context.Chart.Name }}
          image: {{ include "common.images.image" (dict "image" $values.image "global" $global "chart" .context.Chart) }}
          imagePullPolicy: {{ include "common.images.pullPolicy" (dict "image" $values.image "global" $global) }}
          env:
            {{- include "common.env" (dict "env" .env "secretEnv" $values.secretEnv) | trim | nindent 12 }}
          ports:
            - name: http
              containerPort: {{ $values.ports.http }}
              protocol: TCP
          {{- include "common.probes" (dict "port" "http" "path" .livenessPath "readinessPath" "/health") | nindent 10 }}
          lifecycle:
            preStop:
              exec:
                command: [sleep, "5"]
          resources:
            {{- toYaml $values.resources | nindent 12 }}
          securityContext:
            {{- include "common.securityContext.container" $values.securityContext | nindent 12 }}
          volumeMounts:
            # The root filesystem is read-only; tsx caches compiled sources and Node writes temp files.
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
{{- end -}}
