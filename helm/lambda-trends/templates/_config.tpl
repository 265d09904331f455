{{/*
The configuration file, lambda-trends.toml, rendered from the values (configmap.yaml puts it in
the ConfigMap; its checksum restarts the pods when it changes).
*/}}
{{- define "lambda-trends.configToml" -}}
{{- $v := .Values -}}
# lambda-trends configuration, rendered by the Helm chart from its values.
# Secrets are not here: pods receive them as environment variables from Secrets.
# Layering: defaults < this file < environment (LT__SECTION__KEY) < command-line flags.
data-dir = {{ include "lambda-trends.dataDir" . | toJson }}

[backends]
event-log = {{ $v.backends.eventLog | toJson }}
views = {{ $v.backends.views | toJson }}
coordinator = {{ $v.backends.coordinator | toJson }}
master = {{ include "lambda-trends.masterUrl" . | toJson }}
{{- if not (kindIs "invalid" $v.backends.confluentSchemaId) }}
confluent-schema-id = {{ int64 $v.backends.confluentSchemaId }}
{{- end }}

[kafka]
partitions = {{ int64 $v.kafka.partitions }}
replication-factor = {{ int64 $v.kafka.replicationFactor }}
client-id = {{ $v.kafka.clientId | toJson }}
operation-timeout-ms = {{ int64 $v.kafka.operationTimeoutMs }}
delivery-timeout-ms = {{ int64 $v.kafka.deliveryTimeoutMs }}
revoke-timeout-ms = {{ int64 $v.kafka.revokeTimeoutMs }}
{{- $props := dict }}
{{- if and $v.kafka.tls.enabled $v.kafka.sasl.enabled }}
{{- $_ := set $props "security.protocol" "SASL_SSL" }}
{{- else if $v.kafka.tls.enabled }}
{{- $_ := set $props "security.protocol" "SSL" }}
{{- else if $v.kafka.sasl.enabled }}
{{- $_ := set $props "security.protocol" "SASL_PLAINTEXT" }}
{{- end }}
{{- if $v.kafka.tls.enabled }}
{{- if $v.kafka.tls.caSecret }}
{{- $_ := set $props "ssl.ca.location" (printf "%s/ca.crt" (include "lambda-trends.kafkaTlsDir" .)) }}
{{- end }}
{{- if $v.kafka.tls.certSecret }}
{{- $_ := set $props "ssl.certificate.location" (printf "%s/client.crt" (include "lambda-trends.kafkaTlsDir" .)) }}
{{- $_ := set $props "ssl.key.location" (printf "%s/client.key" (include "lambda-trends.kafkaTlsDir" .)) }}
{{- end }}
{{- end }}
{{- if $v.kafka.sasl.enabled }}
{{- $_ := set $props "sasl.mechanism" $v.kafka.sasl.mechanism }}
{{- $_ := set $props "sasl.username" $v.kafka.sasl.username }}
{{- end }}
{{- $props = merge (deepCopy $v.kafka.properties) $props }}
{{- if $props }}

[kafka.properties]
{{- range $key, $value := $props }}
{{ $key | toJson }} = {{ toString $value | toJson }}
{{- end }}
{{- end }}

[cassandra]
replication-factor = {{ int64 $v.cassandra.replicationFactor }}
connect-timeout-ms = {{ int64 $v.cassandra.connectTimeoutMs }}
request-timeout-ms = {{ int64 $v.cassandra.requestTimeoutMs }}
schema-timeout-ms = {{ int64 $v.cassandra.schemaTimeoutMs }}
max-batch-statements = {{ int64 $v.cassandra.maxBatchStatements }}
concurrency = {{ int64 $v.cassandra.concurrency }}
page-size = {{ int64 $v.cassandra.pageSize }}

[collector]
batch-size = {{ int64 $v.collector.batchSize }}
rate = {{ include "lambda-trends.tomlFloat" $v.collector.rate }}

[collector.jetstream]
{{- with $v.collector.jetstream.instances }}
instances = {{ toJson . }}
{{- end }}
stall-timeout-ms = {{ int64 $v.collector.jetstream.stallTimeoutMs }}
rewind-us = {{ int64 $v.collector.jetstream.rewindUs }}

[collector.x]
base-url = {{ $v.collector.x.baseUrl | toJson }}
stall-timeout-ms = {{ int64 $v.collector.x.stallTimeoutMs }}
backfill-minutes = {{ int64 $v.collector.x.backfillMinutes }}

[speed]
group = {{ $v.speed.group | toJson }}
flush-interval-ms = {{ int64 $v.speed.flushIntervalMs }}
flush-max-records = {{ int64 $v.speed.flushMaxRecords }}
poll-max-records = {{ int64 $v.speed.pollMaxRecords }}
late-after-secs = {{ int64 $v.speed.lateAfterSecs }}

[ingest]
group = {{ $v.ingest.group | toJson }}
flush-interval-ms = {{ int64 $v.ingest.flushIntervalMs }}
flush-max-records = {{ int64 $v.ingest.flushMaxRecords }}

[compact]
min-files = {{ int64 $v.compact.minFiles }}
target-file-mb = {{ int64 $v.compact.targetFileMb }}
retire-after-secs = {{ int64 $v.compact.retireAfterSecs }}
every-minutes = {{ int64 $v.compact.everyMinutes }}

[recompute]
wait-timeout-secs = {{ int64 $v.recompute.waitTimeoutSecs }}
lease-timeout-secs = {{ int64 $v.recompute.leaseTimeoutSecs }}
poll-interval-ms = {{ int64 $v.recompute.pollIntervalMs }}
write-chunk-rows = {{ int64 $v.recompute.writeChunkRows }}
memory-limit-mb = {{ int64 $v.recompute.memoryLimitMb }}
{{- with $v.recompute.spillDir }}
spill-dir = {{ . | toJson }}
{{- end }}
{{- if include "lambda-trends.viewsEnabled" . }}
views-file = {{ include "lambda-trends.viewsFile" . | toJson }}
{{- end }}

[serving]
listen = {{ printf "0.0.0.0:%d" (int $v.serving.port) | toJson }}
push-interval-ms = {{ int64 $v.serving.pushIntervalMs }}
trending-minutes = {{ int64 $v.serving.trendingMinutes }}
trending-limit = {{ int64 $v.serving.trendingLimit }}
max-series-points = {{ int64 $v.serving.maxSeriesPoints }}
series-cache-points = {{ int64 $v.serving.seriesCachePoints }}
rate-limit-per-second = {{ int64 $v.serving.rateLimit.perSecond }}
rate-limit-burst = {{ int64 $v.serving.rateLimit.burst }}

[log]
filter = {{ $v.log.filter | toJson }}
format = {{ $v.log.format | toJson }}
{{- end }}
