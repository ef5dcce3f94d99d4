{{/*
The PodDisruptionBudget of a chart's pods, from .Values.podDisruptionBudget {enabled, maxUnavailable}.
maxUnavailable, not minAvailable: a single replica can still be drained.
Usage: {{- include "common.podDisruptionBudget" . }}
*/}}
{{- define "common.podDisruptionBudget" -}}
{{- if .Values.podDisruptionBudget.enabled -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "common.names.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "common.labels.standard" . | nindent 4 }}
spec:
  maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "common.labels.matchLabels" . | nindent 6 }}
{{- end }}
{{- end -}}
