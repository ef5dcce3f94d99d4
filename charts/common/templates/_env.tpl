{{/*
Environment variables of the HTTP services' containers.
*/}}

{{/*
A container's env: `env` ({name, value} items, values rendered as strings; values.yaml numbers reach
templates as float64, so they are written as integers) then `secretEnv` ({name, secretName, key,
optional} items, each a secretKeyRef to an existing Secret). A name in both is refused.
Usage: env: {{- include "common.env" (dict "env" $env "secretEnv" .Values.secretEnv) | trim | nindent 12 }}
*/}}
{{- define "common.env" -}}
{{- $names := dict -}}
{{- range .env }}
{{- $_ := set $names .name true }}
{{- $value := .value }}
{{- if kindIs "float64" $value }}{{ $value = int64 $value }}{{ end }}
- name: {{ .name }}
  value: {{ toString $value | quote }}
{{- end }}
{{- range .secretEnv }}
{{- if hasKey $names .name }}{{ fail (printf "secretEnv: %s is already set from the chart's config values" .name) }}{{ end }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end }}
{{- end -}}

{{/*
The variables every tenant-facing service reads through @tenantry/service-runtime's tenantServiceEnv
(PORT, LOG_LEVEL, PLATFORM_NAMESPACE, KAFKA_BROKERS, DB_MAX_CONNECTIONS_PER_TENANT,
DB_MAX_TENANTS_OPEN, CORS_ORIGINS, TRUSTED_PROXIES, OTEL_EXPORTER_OTLP_ENDPOINT), as a YAML list of
{name, value} for common.env, from ports.http, config.{logLevel, corsOrigins, trustedProxies,
otlpEndpoint, database} and global.kafka. The platform namespace, where the operator writes the
tenant Secrets, is the release namespace.
Usage: {{- $env := concat (include "common.env.tenantService" . | fromYamlArray) (list (dict "name" "X" "value" "y")) }}
*/}}
{{- define "common.env.tenantService" -}}
{{- $config := .Values.config -}}
{{- toYaml (list
  (dict "name" "PORT" "value" .Values.ports.http)
  (dict "name" "LOG_LEVEL" "value" $config.logLevel)
  (dict "name" "PLATFORM_NAMESPACE" "value" .Release.Namespace)
  (dict "name" "KAFKA_BROKERS" "value" .Values.global.kafka.brokers)
  (dict "name" "DB_MAX_CONNECTIONS_PER_TENANT" "value" $config.database.maxConnectionsPerTenant)
  (dict "name" "DB_MAX_TENANTS_OPEN" "value" $config.database.maxTenantsOpen)
  (dict "name" "CORS_ORIGINS" "value" (join "," $config.corsOrigins))
  (dict "name" "TRUSTED_PROXIES" "value" (join "," $config.trustedProxies))
  (dict "name" "OTEL_EXPORTER_OTLP_ENDPOINT" "value" $config.otlpEndpoint)
) -}}
{{- end -}}
