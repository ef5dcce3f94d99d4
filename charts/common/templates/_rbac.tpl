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
The name of the objects common.rbac.role and common.rbac.binding render: the release fullname, plus
"-<suffix>" when given. RBAC names are path segments, not DNS labels, so the suffix is not cut.
Usage: name: {{ include "common.rbac.name" (dict "suffix" .suffix "context" .context) }}
*/}}
{{- define "common.rbac.name" -}}
{{- $name := include "common.names.fullname" .context -}}
{{- if .suffix }}{{ printf "%s-%s" $name .suffix }}{{ else }}{{ $name }}{{ end -}}
{{- end -}}

{{/*
A Role or ClusterRole named after the release, with the rules of the document of that kind in `file`;
nothing when the file has no such document or rbac.create is off. A Role goes in the release namespace
unless `namespace` names another one (e.g. the keys namespace); `suffix` is appended to its name, so a
chart's second Role never shares a name with its first.
Usage: {{- include "common.rbac.role" (dict "kind" "Role" "file" "files/rbac.yaml" "context" $) }}
   or: {{- include "common.rbac.role" (dict "kind" "Role" "file" "files/keys-rbac.yaml" "namespace" $keys "suffix" "keys" "context" $) }}
*/}}
{{- define "common.rbac.role" -}}
{{- if and .namespace (ne .kind "Role") }}{{ fail (printf "common.rbac.role: a %s has no namespace" .kind) }}{{ end -}}
{{- if .context.Values.rbac.create -}}
{{- $source := include "common.rbac.document" (dict "file" .file "kind" .kind "context" .context) | fromYaml -}}
{{- if $source -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ .kind }}
metadata:
  name: {{ include "common.rbac.name" (dict "suffix" .suffix "context" .context) }}
  {{- if eq .kind "Role" }}
  namespace: {{ .namespace | default .context.Release.Namespace }}
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
common.rbac.role renders from the same file, with the same `namespace` and `suffix`; nothing when that
role is not rendered. The subject is always the ServiceAccount in the release namespace, wherever the
RoleBinding is.
Usage: {{- include "common.rbac.binding" (dict "kind" "RoleBinding" "file" "files/rbac.yaml" "context" $) }}
   or: {{- include "common.rbac.binding" (dict "kind" "RoleBinding" "file" "files/keys-rbac.yaml" "namespace" $keys "suffix" "keys" "context" $) }}
*/}}
{{- define "common.rbac.binding" -}}
{{- $roleKind := ternary "Role" "ClusterRole" (eq .kind "RoleBinding") -}}
{{- if and .namespace (ne .kind "RoleBinding") }}{{ fail (printf "common.rbac.binding: a %s has no namespace" .kind) }}{{ end -}}
{{- if .context.Values.rbac.create -}}
{{- if include "common.rbac.document" (dict "file" .file "kind" $roleKind "context" .context) -}}
{{- $name := include "common.rbac.name" (dict "suffix" .suffix "context" .context) -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ .kind }}
metadata:
  name: {{ $name }}
  {{- if eq .kind "RoleBinding" }}
  namespace: {{ .namespace | default .context.Release.Namespace }}
  {{- end }}
  labels:
    {{- include "common.labels.standard" .context | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: {{ $roleKind }}
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ include "common.names.serviceAccount" .context }}
    namespace: {{ .context.Release.Namespace }}
{{- end }}
{{- end }}
{{- end -}}
