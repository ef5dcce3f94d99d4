{{/*
NetworkPolicies of the HTTP services: ingress only, to the port named http, from the peers given.
Egress is left open: the services reach the Kubernetes API, PostgreSQL and Kafka, whose addresses a
chart cannot know portably.
*/}}

{{/*
The NetworkPolicy of the chart's pods, when .Values.networkPolicy.enabled: `from` (NetworkPolicyPeer
objects, e.g. the gateway's pods) may call the service, .Values.networkPolicy.metricsFrom may scrape
it. An empty list renders no rule, never `from: []` (which would admit every source). The kubelet's
probes are not subject to NetworkPolicies.
Usage: {{- include "common.networkPolicy.http" (dict "from" $peers "context" $) }}
*/}}
{{- define "common.networkPolicy.http" -}}
{{- $policy := .context.Values.networkPolicy -}}
{{- if $policy.enabled -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "common.names.fullname" .context }}
  namespace: {{ .context.Release.Namespace }}
  labels:
    {{- include "common.labels.standard" .context | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "common.labels.matchLabels" .context | nindent 6 }}
  policyTypes: [Ingress]
  {{- if or .from $policy.metricsFrom }}
  ingress:
    {{- with .from }}
    # Callers of the API.
    - from:
        {{- toYaml . | nindent 8 }}
      ports:
        - port: http
          protocol: TCP
    {{- end }}
    {{- with $policy.metricsFrom }}
    # Prometheus, for GET /metrics (the same port: NetworkPolicies cannot tell paths apart).
    - from:
        {{- toYaml . | nindent 8 }}
      ports:
        - port: http
          protocol: TCP
    {{- end }}
  {{- else }}
  ingress: []
  {{- end }}
{{- end }}
{{- end -}}

{{/*
A NetworkPolicyPeer selecting the pods of another chart of the same release by its selector labels,
as a one-item YAML list (so it can be concatenated with user-given peers after fromYamlArray).
Usage: {{- $gateway := include "common.networkPolicy.releasePeer" (dict "chartName" "gateway" "context" $) | fromYamlArray }}
*/}}
{{- define "common.networkPolicy.releasePeer" -}}
- podSelector:
    matchLabels:
      {{- include "common.labels.matchLabels" (dict "Chart" (dict "Name" .chartName) "Release" .context.Release "Values" (dict)) | nindent 6 }}
{{- end -}}
