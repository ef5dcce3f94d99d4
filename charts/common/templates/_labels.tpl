{{/*
Labels, following the app.kubernetes.io conventions.
*/}}

{{/*
Labels of every object: the selector labels plus chart, version and manager, which change on
upgrades and so must never reach a selector.
Usage: labels: {{- include "common.labels.standard" . | nindent 4 }}
*/}}
{{- define "common.labels.standard" -}}
{{ include "common.labels.matchLabels" . }}
helm.sh/chart: {{ include "common.names.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tenantry
{{- end -}}

{{/*
Selector labels: name and instance only, so a Deployment's selector (immutable) is the same for every
chart version and every values set of a release.
Usage: matchLabels: {{- include "common.labels.matchLabels" . | nindent 6 }}
*/}}
{{- define "common.labels.matchLabels" -}}
app.kubernetes.io/name: {{ include "common.names.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
