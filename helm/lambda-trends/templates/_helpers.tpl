{{/*
Names, labels and the pieces every workload shares.
*/}}

{{- define "lambda-trends.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name: <release>-<chart>, or the release name when it contains the chart name.
Truncated to 40 characters so that "<fullname>-collector-<source>" and generated pod names stay
within Kubernetes' limits.
*/}}
{{- define "lambda-trends.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "lambda-trends.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "lambda-trends.labels" -}}
helm.sh/chart: {{ include "lambda-trends.chart" . }}
{{ include "lambda-trends.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lambda-trends
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "lambda-trends.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lambda-trends.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels of one component's resources. Call with (dict "root" $ "component" "speed") and
optionally "source" for a collector.
*/}}
{{- define "lambda-trends.componentLabels" -}}
{{ include "lambda-trends.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- with .source }}
lambda-trends/source: {{ . }}
{{- end }}
{{- end }}

{{- define "lambda-trends.componentSelectorLabels" -}}
{{ include "lambda-trends.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- with .source }}
lambda-trends/source: {{ . }}
{{- end }}
{{- end }}

{{- define "lambda-trends.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "lambda-trends.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "lambda-trends.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
{{- end }}

{{/* Paths inside the pods. */}}
{{- define "lambda-trends.configPath" -}}/etc/lambda-trends/lambda-trends.toml{{- end }}
{{- define "lambda-trends.dataDir" -}}/var/lib/lambda-trends{{- end }}
{{- define "lambda-trends.kafkaTlsDir" -}}/etc/lambda-trends/tls/kafka{{- end }}
{{- define "lambda-trends.cassandraTlsDir" -}}/etc/lambda-trends/tls/cassandra{{- end }}
{{- define "lambda-trends.cursorDir" -}}/var/lib/lambda-trends-cursor{{- end }}
{{- /* The views file: a directory mount (not subPath), so that it follows its ConfigMap. */ -}}
{{- define "lambda-trends.viewsDir" -}}/etc/lambda-trends/views{{- end }}
{{- define "lambda-trends.viewsFile" -}}/etc/lambda-trends/views/views.toml{{- end }}

{{/* "true" when views are defined (views.definitions or views.existingConfigMap), else "". */}}
{{- define "lambda-trends.viewsEnabled" -}}
{{- if or .Values.views.definitions .Values.views.existingConfigMap }}true{{ end -}}
{{- end }}

{{/*
A Kubernetes memory quantity (4Gi, 4096Mi, 4G, 4294967296, 1.5Gi) in whole MiB, rounded down.
Fails on anything else, naming the value: call with (dict "q" $quantity "what" "recompute.resources.limits.memory").
*/}}
{{- define "lambda-trends.memoryMiB" -}}
{{- $q := .q -}}
{{- $bytes := 0.0 -}}
{{- if or (kindIs "float64" $q) (kindIs "int" $q) (kindIs "int64" $q) -}}
{{- $bytes = float64 $q -}}
{{- else -}}
{{- $s := toString $q -}}
{{- $num := regexFind "^[0-9]+(\\.[0-9]+)?" $s -}}
{{- $suffix := trimPrefix $num $s -}}
{{- $units := dict "" 1.0 "k" 1000.0 "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 -}}
{{- if or (not $num) (not (hasKey $units $suffix)) -}}
{{- fail (printf "%s: %q is not a memory quantity this chart understands (e.g. 4Gi, 4096Mi, 4G)" .what $s) -}}
{{- end -}}
{{- $bytes = mulf (float64 $num) (index $units $suffix) -}}
{{- end -}}
{{- floor (divf $bytes 1048576.0) | int64 -}}
{{- end }}

{{/*
Fails when a DataFusion memory pool does not fit its container: 0 (unbounded) while the container
has a memory limit, or more than 3/4 of that limit. The pool covers DataFusion's aggregations and
sorts only; Parquet reads, batches in flight and the view writes need room besides it, and a
container past its limit is OOM-killed instead of spilling. Call with
(dict "pool" 1024 "poolKey" "recompute.memoryLimitMb" "resources" $res "resourcesKey" "recompute.resources").
*/}}
{{- define "lambda-trends.checkMemoryPool" -}}
{{- $limits := default dict .resources.limits -}}
{{- if hasKey $limits "memory" -}}
{{- $what := printf "%s.limits.memory" .resourcesKey -}}
{{- $limit := include "lambda-trends.memoryMiB" (dict "q" $limits.memory "what" $what) | int64 -}}
{{- $pool := int64 .pool -}}
{{- if eq $pool 0 -}}
{{- fail (printf "%s is 0 (an unbounded DataFusion pool) but %s is %v: the pod would be OOM-killed instead of spilling. Set %s to about half the limit (%d)" .poolKey $what $limits.memory .poolKey (div $limit 2)) -}}
{{- end -}}
{{- if gt (mul $pool 4) (mul $limit 3) -}}
{{- fail (printf "%s (%d MiB) is more than 3/4 of %s (%v = %d MiB): the pool covers DataFusion's aggregations only, and the rest of the process needs room too; past the container limit the pod is OOM-killed instead of spilling. Lower %s (about half the limit: %d) or raise the limit" .poolKey $pool $what $limits.memory $limit .poolKey (div $limit 2)) -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* The name of the Secret the chart creates from inline values. */}}
{{- define "lambda-trends.secretName" -}}
{{- include "lambda-trends.fullname" . }}
{{- end }}

{{/*
The master dataset's URL: s3://bucket/prefix or file://<mountPath>.
*/}}
{{- define "lambda-trends.masterUrl" -}}
{{- if eq .Values.master.type "s3" -}}
{{- $prefix := trimAll "/" .Values.master.s3.prefix -}}
s3://{{ .Values.master.s3.bucket }}{{ if $prefix }}/{{ $prefix }}{{ end }}
{{- else -}}
file://{{ .Values.master.pvc.mountPath }}
{{- end }}
{{- end }}

{{- define "lambda-trends.masterClaimName" -}}
{{- default (printf "%s-master" (include "lambda-trends.fullname" .)) .Values.master.pvc.existingClaim }}
{{- end }}

{{/*
The Kafka URL split into brokers and namespace: kafka://b1:9092,b2:9092/ns.
*/}}
{{- define "lambda-trends.kafkaBrokers" -}}
{{- $rest := trimPrefix "kafka://" .Values.backends.eventLog -}}
{{- index (splitList "/" $rest) 0 -}}
{{- end }}

{{- define "lambda-trends.kafkaNamespace" -}}
{{- $rest := trimPrefix "kafka://" .Values.backends.eventLog -}}
{{- $parts := splitList "/" $rest -}}
{{- if gt (len $parts) 1 }}{{ index $parts 1 }}{{ end -}}
{{- end }}

{{/* A Kafka name (topic or group) as the binary sees it, with the URL's namespace prefix. */}}
{{- define "lambda-trends.kafkaName" -}}
{{- $ns := include "lambda-trends.kafkaNamespace" .root -}}
{{- if $ns }}{{ $ns }}.{{ end }}{{ .name }}
{{- end }}

{{/*
Whether a secret entry is configured: an inline value or an existing Secret.
Call with (dict "entry" .Values.secrets.x "values" (list "value")).
*/}}
{{- define "lambda-trends.secretConfigured" -}}
{{- $entry := .entry -}}
{{- $set := false -}}
{{- if $entry.existingSecret }}{{ $set = true }}{{ end -}}
{{- range .values }}{{ if index $entry . }}{{ $set = true }}{{ end }}{{ end -}}
{{- if $set }}true{{ end -}}
{{- end }}

{{/*
An env var from a secret entry: from its existingSecret, or from the chart's Secret (or the one
named chartSecret). Call with
(dict "root" $ "env" "X_BEARER_TOKEN" "entry" $entry "key" "key" "chartKey" "x-bearer-token").
*/}}
{{- define "lambda-trends.secretEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      {{- if .entry.existingSecret }}
      name: {{ .entry.existingSecret }}
      key: {{ index .entry .key }}
      {{- else }}
      name: {{ default (include "lambda-trends.secretName" .root) .chartSecret }}
      key: {{ .chartKey }}
      {{- end }}
{{- end }}

{{/* Pick a component's scheduling setting, else the global one. */}}
{{- define "lambda-trends.scheduling" -}}
{{- $c := .component -}}
{{- $g := .root.Values -}}
{{- with (default $g.nodeSelector $c.nodeSelector) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default $g.tolerations $c.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default $g.affinity $c.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $g.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $g.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end }}

{{/*
Environment variables every lambda-trends container gets: the config file, the S3 settings and
credentials, the Kafka SASL password, the Cassandra credentials and CA file. Secret values only
ever come from secretKeyRef. Call with (dict "root" $) and optionally "chartSecret" (the name of
the chart-created Secret to read instead of the default).
*/}}
{{- define "lambda-trends.commonEnv" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
- name: LT_CONFIG
  value: {{ include "lambda-trends.configPath" $root }}
{{- if eq $v.master.type "s3" }}
{{- with $v.master.s3.endpoint }}
- name: AWS_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
{{- with $v.master.s3.region }}
- name: AWS_REGION
  value: {{ . | quote }}
{{- end }}
{{- if $v.master.s3.allowHttp }}
- name: AWS_ALLOW_HTTP
  value: "true"
{{- end }}
{{- if include "lambda-trends.secretConfigured" (dict "entry" $v.secrets.s3 "values" (list "accessKeyId" "secretAccessKey")) }}
{{ include "lambda-trends.secretEnv" (dict "root" $root "chartSecret" .chartSecret "env" "AWS_ACCESS_KEY_ID" "entry" $v.secrets.s3 "key" "accessKeyIdKey" "chartKey" "s3-access-key-id") }}
{{ include "lambda-trends.secretEnv" (dict "root" $root "chartSecret" .chartSecret "env" "AWS_SECRET_ACCESS_KEY" "entry" $v.secrets.s3 "key" "secretAccessKeyKey" "chartKey" "s3-secret-access-key") }}
{{- end }}
{{- end }}
{{- if $v.kafka.sasl.enabled }}
{{ include "lambda-trends.secretEnv" (dict "root" $root "chartSecret" .chartSecret "env" "LT__KAFKA__SASL_PASSWORD" "entry" $v.secrets.kafkaSasl "key" "key" "chartKey" "kafka-sasl-password") }}
{{- end }}
{{- if $v.cassandra.auth.enabled }}
{{ include "lambda-trends.secretEnv" (dict "root" $root "chartSecret" .chartSecret "env" "LT__CASSANDRA__USERNAME" "entry" $v.secrets.cassandra "key" "usernameKey" "chartKey" "cassandra-username") }}
{{ include "lambda-trends.secretEnv" (dict "root" $root "chartSecret" .chartSecret "env" "LT__CASSANDRA__PASSWORD" "entry" $v.secrets.cassandra "key" "passwordKey" "chartKey" "cassandra-password") }}
{{- end }}
{{- if and $v.cassandra.tls.enabled $v.cassandra.tls.caSecret }}
- name: LT__CASSANDRA__TLS_CA_FILE
  value: {{ printf "%s/ca.crt" (include "lambda-trends.cassandraTlsDir" $root) }}
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The telemetry listener of collector, speed and ingest containers. */}}
{{- define "lambda-trends.telemetryEnv" -}}
- name: LT__TELEMETRY__LISTEN
  value: {{ printf "0.0.0.0:%d" (int .Values.telemetry.port) | quote }}
{{- end }}

{{/*
Volume mounts of every lambda-trends container. Call with (dict "root" $ "masterReadOnly" bool
"masterScratch" bool "views" bool "spill" bool); masterScratch mounts an emptyDir where the
master PVC would be (the migration hook runs before the chart's own claim exists and never
touches the dataset); views mounts the views file (when views are defined) and spill the
DataFusion spill directory (when recompute.spillDir is set), for the pods that recompute or
compact.
*/}}
{{- define "lambda-trends.volumeMounts" -}}
{{- $v := .root.Values -}}
- name: config
  mountPath: /etc/lambda-trends/lambda-trends.toml
  subPath: lambda-trends.toml
  readOnly: true
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: {{ include "lambda-trends.dataDir" .root }}
{{- if and .views (include "lambda-trends.viewsEnabled" .root) }}
- name: views
  mountPath: {{ include "lambda-trends.viewsDir" .root }}
  readOnly: true
{{- end }}
{{- if and .spill $v.recompute.spillDir }}
- name: spill
  mountPath: {{ $v.recompute.spillDir }}
{{- end }}
{{- if eq $v.master.type "pvc" }}
- name: master
  mountPath: {{ $v.master.pvc.mountPath }}
  {{- if and .masterReadOnly (not .masterScratch) }}
  readOnly: true
  {{- end }}
{{- end }}
{{- if and $v.kafka.tls.enabled (or $v.kafka.tls.caSecret $v.kafka.tls.certSecret) }}
- name: kafka-tls
  mountPath: {{ include "lambda-trends.kafkaTlsDir" .root }}
  readOnly: true
{{- end }}
{{- if and $v.cassandra.tls.enabled $v.cassandra.tls.caSecret }}
- name: cassandra-tls
  mountPath: {{ include "lambda-trends.cassandraTlsDir" .root }}
  readOnly: true
{{- end }}
{{- with $v.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volumes of every lambda-trends pod; same arguments as volumeMounts, and optionally
"configMap" (the name of the ConfigMap holding lambda-trends.toml). */}}
{{- define "lambda-trends.volumes" -}}
{{- $v := .root.Values -}}
- name: config
  configMap:
    name: {{ default (printf "%s-config" (include "lambda-trends.fullname" .root)) .configMap }}
- name: tmp
  emptyDir:
    sizeLimit: {{ $v.scratch.tmpSizeLimit }}
- name: data
  emptyDir:
    sizeLimit: {{ $v.scratch.dataSizeLimit }}
{{- if and .views (include "lambda-trends.viewsEnabled" .root) }}
- name: views
  configMap:
    {{- if $v.views.existingConfigMap }}
    name: {{ $v.views.existingConfigMap }}
    items:
      - key: {{ $v.views.existingConfigMapKey }}
        path: views.toml
    {{- else }}
    name: {{ printf "%s-config" (include "lambda-trends.fullname" .root) }}
    items:
      - key: views.toml
        path: views.toml
    {{- end }}
{{- end }}
{{- if and .spill $v.recompute.spillDir }}
- name: spill
  emptyDir:
    sizeLimit: {{ $v.recompute.spillSizeLimit }}
{{- end }}
{{- if eq $v.master.type "pvc" }}
- name: master
  {{- if .masterScratch }}
  emptyDir:
    sizeLimit: 16Mi
  {{- else }}
  persistentVolumeClaim:
    claimName: {{ include "lambda-trends.masterClaimName" .root }}
    {{- if .masterReadOnly }}
    readOnly: true
    {{- end }}
  {{- end }}
{{- end }}
{{- if and $v.kafka.tls.enabled (or $v.kafka.tls.caSecret $v.kafka.tls.certSecret) }}
- name: kafka-tls
  projected:
    sources:
      {{- with $v.kafka.tls.caSecret }}
      - secret:
          name: {{ . }}
          items:
            - key: {{ $v.kafka.tls.caKey }}
              path: ca.crt
      {{- end }}
      {{- with $v.kafka.tls.certSecret }}
      - secret:
          name: {{ . }}
          items:
            - key: {{ $v.kafka.tls.certKey }}
              path: client.crt
            - key: {{ $v.kafka.tls.keyKey }}
              path: client.key
      {{- end }}
{{- end }}
{{- if and $v.cassandra.tls.enabled $v.cassandra.tls.caSecret }}
- name: cassandra-tls
  secret:
    secretName: {{ $v.cassandra.tls.caSecret }}
    items:
      - key: {{ $v.cassandra.tls.caKey }}
        path: ca.crt
{{- end }}
{{- with $v.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Pod-level settings every lambda-trends pod shares. */}}
{{- define "lambda-trends.podCommon" -}}
serviceAccountName: {{ include "lambda-trends.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{/*
Pod annotations: restart pods when the configuration file or the chart's Secret changes. The
views file is left out on purpose: it is mounted as a directory, follows its ConfigMap without a
restart, and is read by each recompute when it starts (turning views on or off changes
views-file in the configuration file, and so restarts the pods).
*/}}
{{- define "lambda-trends.podAnnotations" -}}
checksum/config: {{ include "lambda-trends.configToml" . | sha256sum }}
checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The three probes on an HTTP port (by name). Call with (dict "root" $ "port" "http").
*/}}
{{- define "lambda-trends.probes" -}}
{{- $p := .root.Values.probes -}}
startupProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
  periodSeconds: {{ $p.startup.periodSeconds }}
  timeoutSeconds: {{ $p.startup.timeoutSeconds }}
  failureThreshold: {{ $p.startup.failureThreshold }}
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
  periodSeconds: {{ $p.liveness.periodSeconds }}
  timeoutSeconds: {{ $p.liveness.timeoutSeconds }}
  failureThreshold: {{ $p.liveness.failureThreshold }}
readinessProbe:
  httpGet:
    path: /readyz
    port: {{ .port }}
  periodSeconds: {{ $p.readiness.periodSeconds }}
  timeoutSeconds: {{ $p.readiness.timeoutSeconds }}
  failureThreshold: {{ $p.readiness.failureThreshold }}
{{- end }}

{{/* The container args: --config <file> <subcommand...>. */}}
{{- define "lambda-trends.args" -}}
- "--config"
- {{ include "lambda-trends.configPath" .root | quote }}
{{- range .args }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/* A TOML float (2000 -> 2000.0). */}}
{{- define "lambda-trends.tomlFloat" -}}
{{- $f := float64 . -}}
{{- if eq $f (floor $f) }}{{ printf "%.1f" $f }}{{ else }}{{ $f }}{{ end -}}
{{- end }}

{{/*
A long-running component's Deployment. Call with a dict:
  root            the chart context
  component       collector | speed | ingest | serving
  name            the Deployment's name
  source          (collectors) the source entry's name, added to the labels
  replicas        a number, or nil to leave replicas to an autoscaler
  args            the subcommand and its arguments
  portName        http | metrics
  port            the container port of /healthz, /readyz and /metrics
  telemetry       true: set LT__TELEMETRY__LISTEN (collector, speed, ingest)
  env             extra env (YAML list text)
  resources       the container resources
  scheduling      the component's values (nodeSelector, tolerations, affinity)
  masterReadOnly  mount the master PVC read-only
  views           mount the views file (serving: the admin API recomputes)
  spill           mount the DataFusion spill directory (serving, ingest)
  volumes         extra volumes (YAML list text)
  volumeMounts    extra volume mounts (YAML list text)
  strategy        the Deployment strategy (a dict), optional
*/}}
{{- define "lambda-trends.deployment" -}}
{{- $root := .root -}}
{{- $labelArgs := dict "root" $root "component" .component "source" .source -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  labels:
    {{- include "lambda-trends.componentLabels" $labelArgs | nindent 4 }}
spec:
  {{- if not (kindIs "invalid" .replicas) }}
  replicas: {{ .replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  {{- with .strategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "lambda-trends.componentSelectorLabels" $labelArgs | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "lambda-trends.componentSelectorLabels" $labelArgs | nindent 8 }}
        {{- with $root.Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        {{- include "lambda-trends.podAnnotations" $root | nindent 8 }}
    spec:
      {{- include "lambda-trends.podCommon" $root | nindent 6 }}
      {{- with (include "lambda-trends.scheduling" (dict "root" $root "component" .scheduling) | trim) }}
      {{- . | nindent 6 }}
      {{- end }}
      terminationGracePeriodSeconds: 60
      containers:
        - name: {{ .component }}
          image: {{ include "lambda-trends.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args:
            {{- include "lambda-trends.args" (dict "root" $root "args" .args) | nindent 12 }}
          env:
            {{- include "lambda-trends.commonEnv" (dict "root" $root) | nindent 12 }}
            {{- if .telemetry }}
            {{- include "lambda-trends.telemetryEnv" $root | nindent 12 }}
            {{- end }}
            {{- with .env }}
            {{- . | nindent 12 }}
            {{- end }}
          ports:
            - name: {{ .portName }}
              containerPort: {{ .port }}
              protocol: TCP
          {{- include "lambda-trends.probes" (dict "root" $root "port" .portName) | nindent 10 }}
          resources:
            {{- toYaml .resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          volumeMounts:
            {{- include "lambda-trends.volumeMounts" (dict "root" $root "masterReadOnly" .masterReadOnly "views" .views "spill" .spill) | nindent 12 }}
            {{- with .volumeMounts }}
            {{- . | nindent 12 }}
            {{- end }}
      volumes:
        {{- include "lambda-trends.volumes" (dict "root" $root "masterReadOnly" .masterReadOnly "views" .views "spill" .spill) | nindent 8 }}
        {{- with .volumes }}
        {{- . | nindent 8 }}
        {{- end }}
{{- end }}

{{/*
A headless Service in front of a component's /metrics, for the ServiceMonitor. It lists pods
that are not ready too (publishNotReadyAddresses): a pod is unready during a backend outage,
which is when its metrics matter most. Call with
(dict "root" $ "component" "speed" "name" "...-speed-metrics" "source" "" "port" 9464 "targetPort" "metrics").
*/}}
{{- define "lambda-trends.metricsService" -}}
{{- $labelArgs := dict "root" .root "component" .component "source" .source -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  labels:
    {{- include "lambda-trends.componentLabels" $labelArgs | nindent 4 }}
    lambda-trends/metrics: "true"
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector:
    {{- include "lambda-trends.componentSelectorLabels" $labelArgs | nindent 4 }}
  ports:
    - name: metrics
      port: {{ .port }}
      targetPort: {{ .targetPort }}
      protocol: TCP
{{- end }}

{{/*
The data of the chart's own Secret (base64, as YAML), holding only the secret values given
inline in values.yaml; entries with an existingSecret are read from that Secret instead. Empty
when there are none (then no Secret is rendered).
*/}}
{{- define "lambda-trends.chartSecretData" -}}
{{- $v := .Values -}}
{{- $s := $v.secrets -}}
{{- $data := dict -}}
{{- if and (not $s.xBearerToken.existingSecret) $s.xBearerToken.value -}}
{{- $_ := set $data "x-bearer-token" $s.xBearerToken.value -}}
{{- end -}}
{{- if and (not $s.adminToken.existingSecret) $s.adminToken.value -}}
{{- $_ := set $data "admin-token" $s.adminToken.value -}}
{{- end -}}
{{- if and (not $s.readToken.existingSecret) $s.readToken.value -}}
{{- $_ := set $data "read-token" $s.readToken.value -}}
{{- end -}}
{{- if and $v.cassandra.auth.enabled (not $s.cassandra.existingSecret) -}}
{{- $_ := set $data "cassandra-username" $s.cassandra.username -}}
{{- $_ := set $data "cassandra-password" $s.cassandra.password -}}
{{- end -}}
{{- if and (eq $v.master.type "s3") (not $s.s3.existingSecret) $s.s3.accessKeyId -}}
{{- $_ := set $data "s3-access-key-id" $s.s3.accessKeyId -}}
{{- $_ := set $data "s3-secret-access-key" $s.s3.secretAccessKey -}}
{{- end -}}
{{- if and $v.kafka.sasl.enabled (not $s.kafkaSasl.existingSecret) -}}
{{- $_ := set $data "kafka-sasl-password" $s.kafkaSasl.password -}}
{{- end -}}
{{- range $key, $value := $data }}
{{ $key }}: {{ $value | b64enc | quote }}
{{- end }}
{{- end }}

{{/*
A resource name that fits Kubernetes' 63-character limit: the name itself when short enough,
else its first 54 characters and a hash of the whole name (so that two long names stay distinct).
*/}}
{{- define "lambda-trends.shortName" -}}
{{- if le (len .) 63 -}}
{{ . }}
{{- else -}}
{{ trunc 54 . | trimSuffix "-" }}-{{ sha256sum . | trunc 8 }}
{{- end -}}
{{- end }}
