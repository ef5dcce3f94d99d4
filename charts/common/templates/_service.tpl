{{/*
The ClusterIP Service of an HTTP service chart: port `http` (.Values.ports.http) to the container
port of the same name. The API, GET /health and GET /metrics are all served on it.
Usage: {{- include "common.service.http" . }}
*/}}
{{- define "common.service.http" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "common.names.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "common.labels.standard" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "common.labels.matchLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.ports.http }}
      targetPort: http
      protocol: TCP
{{- end -}}
