{{/*
RBAC from a file of the chart. A component's permissions are kept in one YAML file (often a symlink
to the file its integration tests run with), so the chart grants exactly what is proven. The file
holds Role and/or ClusterRole documents; the chart names the objects after the release and takes
only their rules. Everything here is gated by .Values.rbac.create.
*/}}

{{/*
The document of one kind (Role, ClusterRole) in a multi-document YAML file of the chart, as YAML;
empty when the file has none. Fails when the file is missing or does not parse.
Usage: {{- $role := include "common.rbac.document" (dict "file" "files/rbac.yaml" "kind" "Role" "context" $) | fromYaml }}
*/}}
{{- define "common.rbac.document" -}}
{{- $source := .context.Files.Get .file | required (printf "%s is missing: it holds the chart's RBAC rules" .file) -}}
{{- $found := dict -}}
{{- range $document := regexSplit "(?m)^---[ \t]*$" $source -1 }}
{{- $object := fromYaml $document }}
{{- if hasKey $object "Error" }}{{ fail (printf "%s: %s" $.file $object.Error) }}{{ end }}
{{- if eq (get $object "kind") $.kind }}
{{- if $found }}{{ fail (printf "%s holds more than one %s" $.file $.kind) }}{{ end }}
{{- $found = $object }}
{{- end }}
{{- end }}
{{- with $found }}{{ toYaml . }}{{ end }}
{{- end -}}

{{/*
A Role (in the release namespace) or ClusterRole named after the release, with the rules of the
document of that kind in `file`; nothing when the file has no such document or rbac.create is off.
Usage: {{- include "common.rbac.role" (dict "kind" "Role" "file" "files/rbac.yaml" "context" $) }}
*/}}
{{- define "common.rbac.role" -}}
{{- if .context.Values.rbac.create -}}
{{- $source := include "common.rbac.document" (dict "file" .file "kind" .kind "context" .context) | fromYaml -}}
{{- if $source -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ .kind }}
metadata:
  name: {{ include "common.names.fullname" .context }}
  {{- if eq .kind "Role" }}
  namespace: {{ .context.Release.Namespace }}
  {{- end }}
  labels:
    {{- include "common.labels.standard" .context | nindent 4 }}
rules:
  {{- toYaml $source.rules | nindent 2 }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The RoleBinding or ClusterRoleBinding of the chart's ServiceAccount to the Role or ClusterRole that
common.rbac.role renders from the same file; nothing when that role is not rendered.
Usage: {{- include "common.rbac.binding" (dict "kind" "RoleBinding" "file" "files/rbac.yaml" "context" $) }}
*/}}
{{- define "common.rbac.binding" -}}
{{- $roleKind := ternary "Role" "ClusterRole" (eq .kind "RoleBinding") -}}
{{- if .context.Values.rbac.create -}}
{{- if include "common.rbac.document" (dict "file" .file "kind" $roleKind "context" .context) -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ .kind }}
metadata:
  name: {{ include "common.names.fullname" .context }}
  {{- if eq .kind "RoleBinding" }}
  namespace: {{ .context.Release.Namespace }}
  {{- end }}
  labels:
    {{- include "common.labels.standard" .context | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: {{ $roleKind }}
  name: {{ include "common.names.fullname" .context }}
subjects:
  - kind: ServiceAccount
    name: {{ include "common.names.serviceAccount" .context }}
    namespace: {{ .context.Release.Namespace }}
{{- end }}
{{- end }}
{{- end -}}
