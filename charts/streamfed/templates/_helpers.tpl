{{- define "streamfed.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "streamfed.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "streamfed.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "streamfed.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "streamfed.securityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The API server at apiServer.host/port instead of the `kubernetes` Service (when apiServer.host is set). */}}
{{- define "streamfed.apiServerEnv" -}}
- { name: KUBERNETES_SERVICE_HOST, value: {{ .Values.apiServer.host | quote }} }
- { name: KUBERNETES_SERVICE_PORT, value: {{ .Values.apiServer.port | default 443 | quote }} }
{{- end -}}

{{/* How the media pods' WebRTC ports are exposed: media.exposure, or hostNetwork/podNetwork from media.hostNetwork. */}}
{{- define "streamfed.mediaExposure" -}}
{{- if .Values.media.exposure }}{{ .Values.media.exposure }}{{- else if .Values.media.hostNetwork }}hostNetwork{{- else }}podNetwork{{- end -}}
{{- end -}}

{{/* Whether the media server reads its Node (announcedAddress from a node* source): then it gets RBAC for it. */}}
{{- define "streamfed.mediaReadsNode" -}}
{{- if hasPrefix "node" .Values.media.announcedAddress.from }}true{{- end -}}
{{- end -}}

{{/* The media pods' service account exists when they use the API: fleet discovery or reading their Node. */}}
{{- define "streamfed.mediaUsesApi" -}}
{{- if or .Values.media.fleet.enabled (include "streamfed.mediaReadsNode" .) }}true{{- end -}}
{{- end -}}
