{{/*
A prometheus-operator ServiceMonitor (monitoring.coreos.com/v1) scraping GET /metrics on the named
port of the chart's Service(s), from .Values.metrics.serviceMonitor {enabled, interval,
scrapeTimeout, labels}. Prometheus names the job after the Service, which the umbrella chart's
PrometheusRule relies on.
Usage: {{- include "common.serviceMonitor" (dict "port" "http" "context" $) }}
*/}}
{{- define "common.serviceMonitor" -}}
{{- with .context.Values.metrics.serviceMonitor -}}
{{- if .enabled -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "common.names.fullname" $.context }}
  namespace: {{ $.context.Release.Namespace }}
  labels:
    {{- include "common.labels.standard" $.context | nindent 4 }}
    {{- with .labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  namespaceSelector:
    matchNames:
      - {{ $.context.Release.Namespace }}
  selector:
    matchLabels:
      {{- include "common.labels.matchLabels" $.context | nindent 6 }}
  endpoints:
    - port: {{ $.port }}
      path: /metrics
      interval: {{ .interval }}
      scrapeTimeout: {{ .scrapeTimeout }}
{{- end }}
{{- end }}
{{- end -}}
