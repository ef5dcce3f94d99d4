{{/*
A HorizontalPodAutoscaler (autoscaling/v2) of the chart's Deployment on CPU and, optionally, memory
utilization of the requests, from .Values.autoscaling {enabled, minReplicas, maxReplicas,
targetCPUUtilizationPercentage, targetMemoryUtilizationPercentage (null: CPU only)}.
Usage: {{- include "common.horizontalPodAutoscaler" . }}
*/}}
{{- define "common.horizontalPodAutoscaler" -}}
{{- with .Values.autoscaling -}}
{{- if .enabled -}}
{{- if gt (int .minReplicas) (int .maxReplicas) }}{{ fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}{{ end -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "common.names.fullname" $ }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "common.labels.standard" $ | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "common.names.fullname" $ }}
  minReplicas: {{ .minReplicas }}
  maxReplicas: {{ .maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .targetCPUUtilizationPercentage }}
    {{- with .targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ . }}
    {{- end }}
{{- end }}
{{- end }}
{{- end -}}
