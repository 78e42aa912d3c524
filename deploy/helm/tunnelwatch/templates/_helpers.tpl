{{/* Labels on every object. */}}
{{- define "tunnelwatch.labels" -}}
app.kubernetes.io/name: tunnelwatch
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* The labels a selector matches (without the component, which each template adds). */}}
{{- define "tunnelwatch.selectorLabels" -}}
app.kubernetes.io/name: tunnelwatch
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tunnelwatch.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* Pod-level settings shared by every component. */}}
{{- define "tunnelwatch.podDefaults" -}}
automountServiceAccountToken: false
{{- /* TUNNELWATCH_* variables override config keys: service links (TUNNELWATCH_RELAY_PORT, ...) would make the config invalid. */}}
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The data volume of a StatefulSet; call with (dict "persistence" .Values.x.persistence). */}}
{{- define "tunnelwatch.dataClaim" -}}
- metadata:
    name: data
  spec:
    accessModes: [ReadWriteOnce]
    {{- with .persistence.storageClassName }}
    storageClassName: {{ . }}
    {{- end }}
    resources:
      requests:
        storage: {{ .persistence.size }}
{{- end }}
