{{/*
Security contexts. The hardening is fixed, not a value: the restricted Pod Security Standard, a
read-only root filesystem and no capabilities. Only the uid is a parameter, because it depends on the
image.
*/}}

{{/* Pod-level security context. Usage: securityContext: {{- include "common.securityContext.pod" (dict "runAsUser" 65532) | nindent 8 }} */}}
{{- define "common.securityContext.pod" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsUser }}
fsGroup: {{ .runAsUser }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container-level security context. Usage: securityContext: {{- include "common.securityContext.container" (dict "runAsUser" 65532) | nindent 12 }} */}}
{{- define "common.securityContext.container" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsUser }}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
