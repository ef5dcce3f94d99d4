{{/*
Image references. A chart's own image values win over global.image, which wins over the chart's
appVersion as tag.
*/}}

{{/*
<registry>/<repository>:<tag>, or @<digest> when a digest pins the image.
Usage: image: {{ include "common.images.image" (dict "image" .Values.image "global" .Values.global "chart" .Chart) }}
*/}}
{{- define "common.images.image" -}}
{{- $registry := default .global.image.registry .image.registry -}}
{{- $repository := ternary .image.repository (printf "%s/%s" $registry .image.repository) (empty $registry) -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (default .global.image.tag .image.tag | default .chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* The pull policy: the chart's, else the global one. Usage: imagePullPolicy: {{ include "common.images.pullPolicy" (dict "image" .Values.image "global" .Values.global) }} */}}
{{- define "common.images.pullPolicy" -}}
{{- default .global.image.pullPolicy .image.pullPolicy -}}
{{- end -}}

{{/*
imagePullSecrets from global.image.pullSecrets; empty when there are none.
Usage: {{- with include "common.images.pullSecrets" .Values.global }}{{ . | nindent 6 }}{{ end }}
*/}}
{{- define "common.images.pullSecrets" -}}
{{- with .image.pullSecrets -}}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end -}}
{{- end -}}
