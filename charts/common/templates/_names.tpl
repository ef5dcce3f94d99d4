{{/*
Resource names. Kubernetes names are DNS labels, so every name is cut at 63 characters.
*/}}

{{/* The chart's short name. Usage: {{ include "common.names.name" . }} */}}
{{- define "common.names.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The release-qualified name of the chart's objects: <release>-<chart>, or the release name alone when
it already contains the chart name. It always contains the release name, so two releases never share
a cluster-scoped name (ClusterRole, ClusterRoleBinding).
Usage: {{ include "common.names.fullname" . }}
*/}}
{{- define "common.names.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The fullname a dependency gives its objects, seen from its parent chart (e.g. the umbrella's NOTES
naming the operator's Deployment).
Usage: {{ include "common.names.dependency.fullname" (dict "chartName" "tenant-operator" "chartValues" (index .Values "tenant-operator") "context" $) }}
*/}}
{{- define "common.names.dependency.fullname" -}}
{{- include "common.names.fullname" (dict "Chart" (dict "Name" .chartName) "Release" .context.Release "Values" .chartValues) -}}
{{- end -}}

{{/* The helm.sh/chart label value, <chart>-<version>. Usage: {{ include "common.names.chart" . }} */}}
{{- define "common.names.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The ServiceAccount the pods run as: serviceAccount.name, else the fullname when the chart creates it,
else the namespace's default.
Usage: {{ include "common.names.serviceAccount" . }}
*/}}
{{- define "common.names.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "common.names.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
The keys namespace: where the operator keeps the Secrets no service but auth may read (each tenant's
private signing key, tenant-<name>-signing-key, and database owner credentials, tenant-<name>-db-owner).
global.keysNamespace.name, else <release namespace>-keys. It must differ from the release namespace:
services are granted the Secrets there, and RBAC cannot narrow a list or watch to some of them.
Usage: {{ include "common.names.keysNamespace" . }}
*/}}
{{- define "common.names.keysNamespace" -}}
{{- $name := .Values.global.keysNamespace.name | default (printf "%s-keys" .Release.Namespace) -}}
{{- if eq $name .Release.Namespace }}{{ fail (printf "global.keysNamespace.name must differ from the release namespace %s: every service may read the Secrets there" .Release.Namespace) }}{{ end -}}
{{- if gt (len $name) 63 }}{{ fail (printf "the keys namespace %s is longer than 63 characters: set global.keysNamespace.name" $name) }}{{ end -}}
{{- $name -}}
{{- end -}}
