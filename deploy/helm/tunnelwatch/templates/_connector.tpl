{{/*
One connector StatefulSet. Call with (dict "root" $ "role" "master"|"shadow" "name" <suffix> "configKey" <file>
"tlsSecret" <tunnel certificate Secret> "haTlsSecret" <HA certificate Secret> "serviceName" <headless Service>).
The role is also a selector label, so master and shadow are separate StatefulSets with separate volumes.
Both mount their own Secrets at the same paths, so their configs differ only in connector.id and ha.
*/}}
{{- define "tunnelwatch.connector" -}}
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ .root.Release.Name }}-{{ .name }}
  labels:
    {{- include "tunnelwatch.labels" .root | nindent 4 }}
    app.kubernetes.io/component: connector
    tunnelwatch.io/ha-role: {{ .role }}
spec:
  serviceName: {{ .serviceName }}
  replicas: 1                      # one process per connector role; HA is master + shadow, not replicas
  selector:
    matchLabels:
      {{- include "tunnelwatch.selectorLabels" .root | nindent 6 }}
      app.kubernetes.io/component: connector
      tunnelwatch.io/ha-role: {{ .role }}
  template:
    metadata:
      labels:
        {{- include "tunnelwatch.selectorLabels" .root | nindent 8 }}
        app.kubernetes.io/component: connector
        tunnelwatch.io/ha-role: {{ .role }}
      annotations:
        {{- if eq .role "shadow" }}
        # Not the rules: the shadow enforces the rules it pulls from its master (a rule change restarts
        # only the master, and the shadow serves meanwhile).
        checksum/config: {{ toYaml (dict "config" (omit .root.Values.connector.config "subaccounts") "ha" .root.Values.connector.ha) | sha256sum }}
        {{- else }}
        checksum/config: {{ toYaml .root.Values.connector | sha256sum }}
        {{- end }}
    spec:
      {{- include "tunnelwatch.podDefaults" .root | nindent 6 }}
      # SIGTERM on the active connector hands the routes to its shadow and drains the calls in flight
      # (ha.drain_timeout_ms, default 30 s) before it exits: leave it more than that.
      terminationGracePeriodSeconds: 60
      containers:
        - name: connector
          image: {{ include "tunnelwatch.image" .root }}
          imagePullPolicy: {{ .root.Values.image.pullPolicy }}
          args: [connector, --config, /etc/tunnelwatch/config/{{ .configKey }}]
          ports:
            - name: ops                # /healthz, /readyz, /metrics; no token
              containerPort: {{ .root.Values.connector.ports.ops }}
            {{- if .root.Values.connector.ha.enabled }}
            - name: ha                 # the HA listener, for the peer (mTLS, peer_id only)
              containerPort: {{ .root.Values.connector.ha.port }}
            {{- end }}
          # No exec probe of the spool folder any more: /readyz already fails when the audit trail cannot
          # keep events. No TCP probe of the relay's tunnel port either: the relay logs every connection
          # that ends before the mTLS handshake.
          livenessProbe:
            {{- toYaml .root.Values.connector.probes.liveness | nindent 12 }}
          readinessProbe:
            {{- toYaml .root.Values.connector.probes.readiness | nindent 12 }}
          resources:
            {{- toYaml .root.Values.connector.resources | nindent 12 }}
          securityContext:
            {{- toYaml .root.Values.containerSecurityContext | nindent 12 }}
          volumeMounts:
            - name: config
              mountPath: /etc/tunnelwatch/config
              readOnly: true
            - name: tls
              mountPath: /etc/tunnelwatch/tls
              readOnly: true
            {{- if .root.Values.connector.ha.enabled }}
            - name: ha-tls
              mountPath: /etc/tunnelwatch/ha-tls
              readOnly: true
            {{- end }}
            - name: ingest-token
              mountPath: /etc/tunnelwatch/ingest
              readOnly: true
            - name: data
              mountPath: /var/lib/tunnelwatch
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: config
          configMap:
            name: {{ .root.Release.Name }}-connector
        - name: tls
          secret:
            secretName: {{ .tlsSecret }}
            defaultMode: 288       # 0440
        {{- if .root.Values.connector.ha.enabled }}
        - name: ha-tls
          secret:
            secretName: {{ .haTlsSecret }}
            defaultMode: 288
        {{- end }}
        - name: ingest-token
          secret:
            secretName: {{ .root.Values.connector.ingestTokenSecret }}
            defaultMode: 288
        - name: tmp
          emptyDir:
            medium: Memory
            sizeLimit: 64Mi
  volumeClaimTemplates:
    {{- include "tunnelwatch.dataClaim" (dict "persistence" .root.Values.connector.persistence) | nindent 4 }}
{{- end }}

{{/*
The governing headless Service of one connector role. Its name is the peer address of the other role's
HA link. publishNotReadyAddresses: the HA link must work whatever /readyz says (a shadow waiting for its
master's rules is not registered with the relay, hence not ready, and must still be reachable).
Call with (dict "root" $ "role" "master"|"shadow" "name" <Service name>).
*/}}
{{- define "tunnelwatch.connectorService" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  labels:
    {{- include "tunnelwatch.labels" .root | nindent 4 }}
    app.kubernetes.io/component: connector
    tunnelwatch.io/ha-role: {{ .role }}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector:
    {{- include "tunnelwatch.selectorLabels" .root | nindent 4 }}
    app.kubernetes.io/component: connector
    tunnelwatch.io/ha-role: {{ .role }}
  ports:
    - name: ops
      port: {{ .root.Values.connector.ports.ops }}
      targetPort: ops
    {{- if .root.Values.connector.ha.enabled }}
    - name: ha
      port: {{ .root.Values.connector.ha.port }}
      targetPort: ha
    {{- end }}
{{- end }}

{{/*
The ha: section of one connector's config. Call with (dict "root" $ "role" "master"|"shadow"
"peer" <the other's headless Service> "peerId" <the other's connector.id>).
*/}}
{{- define "tunnelwatch.connectorHa" -}}
ha:
  role: {{ .role }}
  listen: {{ printf "0.0.0.0:%v" .root.Values.connector.ha.port | quote }}
  peer: {{ printf "%s:%v" .peer .root.Values.connector.ha.port | quote }}
  peer_id: {{ .peerId | quote }}
  tls:
    cert: /etc/tunnelwatch/ha-tls/tls.crt
    key: /etc/tunnelwatch/ha-tls/tls.key
    ca: /etc/tunnelwatch/ha-tls/ca.crt
  {{- toYaml .root.Values.connector.ha.timings | nindent 2 }}
  {{- if eq .role "shadow" }}
  # On the data volume: a shadow restarted while its master is down still enforces the master's rules.
  rules_cache: /var/lib/tunnelwatch/ha-rules.json
  {{- end }}
{{- end }}
