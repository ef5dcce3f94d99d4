{{/*
Scheduling of replicated workloads: spread across zones and, softly, across nodes, so one failure
does not take every replica. Both select the pods by the chart's selector labels.
*/}}

{{/*
topologySpreadConstraints from a {maxSkew, topologyKey, whenUnsatisfiable} value.
Usage: topologySpreadConstraints: {{- include "common.scheduling.topologySpread" (dict "spread" .Values.topologySpread "context" $) | nindent 8 }}
*/}}
{{- define "common.scheduling.topologySpread" -}}
- maxSkew: {{ .spread.maxSkew }}
  topologyKey: {{ .spread.topologyKey }}
  whenUnsatisfiable: {{ .spread.whenUnsatisfiable }}
  labelSelector:
    matchLabels:
      {{- include "common.labels.matchLabels" .context | nindent 6 }}
{{- end -}}

{{/*
A preferred (soft) pod anti-affinity from a {weight, topologyKey} value: replicas avoid sharing a
node when they can, and still schedule when they cannot.
Usage: affinity: {{- include "common.scheduling.softAntiAffinity" (dict "antiAffinity" .Values.podAntiAffinity "context" $) | nindent 8 }}
*/}}
{{- define "common.scheduling.softAntiAffinity" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: {{ .antiAffinity.weight }}
      podAffinityTerm:
        topologyKey: {{ .antiAffinity.topologyKey }}
        labelSelector:
          matchLabels:
            {{- include "common.labels.matchLabels" .context | nindent 12 }}
{{- end -}}
