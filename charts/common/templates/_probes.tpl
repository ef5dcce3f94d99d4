{{/*
Probes of an HTTP server. The startup probe gives a slow start a minute before liveness counts;
liveness only restarts a process that stopped answering; readiness takes the pod out of Services
while it is not ready (a failing dependency belongs there, not in liveness). readinessPath defaults to
path.
Usage: {{- include "common.probes" (dict "port" "probes" "path" "/healthz" "readinessPath" "/readyz") | nindent 10 }}
*/}}
{{- define "common.probes" -}}
startupProbe:
  httpGet:
    path: {{ .path }}
    port: {{ .port }}
  periodSeconds: 2
  failureThreshold: 30
  timeoutSeconds: 2
livenessProbe:
  httpGet:
    path: {{ .path }}
    port: {{ .port }}
  periodSeconds: 10
  failureThreshold: 3
  timeoutSeconds: 2
readinessProbe:
  httpGet:
    path: {{ default .path .readinessPath }}
    port: {{ .port }}
  periodSeconds: 5
  failureThreshold: 3
  timeoutSeconds: 2
{{- end -}}
