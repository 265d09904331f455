{{/*
Render-time checks: values that would deploy something broken fail `helm install` with a
message that says what to change. Included once, from configmap.yaml.
*/}}
{{- define "lambda-trends.validate" -}}
{{- $v := .Values -}}

{{- /* Real backends only: the embedded ones are for a laptop. */ -}}
{{- $embeddedHelp := "the embedded backends are for a laptop (lambda-trends up), not for Kubernetes" -}}
{{- if not $v.backends.eventLog -}}
{{- fail "backends.eventLog is required: the Kafka event log, e.g. kafka://my-kafka-bootstrap:9092 (see examples/)" -}}
{{- end -}}
{{- if not (hasPrefix "kafka://" $v.backends.eventLog) -}}
{{- fail (printf "backends.eventLog must be a kafka:// URL, not %q: %s" $v.backends.eventLog $embeddedHelp) -}}
{{- end -}}
{{- if not (regexMatch "^kafka://[^/,]+:[0-9]+(,[^/,]+:[0-9]+)*(/[A-Za-z0-9._-]*)?$" $v.backends.eventLog) -}}
{{- fail (printf "backends.eventLog %q is not kafka://host:port[,host:port...][/namespace]" $v.backends.eventLog) -}}
{{- end -}}
{{- if not $v.backends.views -}}
{{- fail "backends.views is required: the Cassandra/ScyllaDB view store, e.g. cassandra://my-cluster-dc1-service:9042/lambda_trends (see examples/)" -}}
{{- end -}}
{{- if not (or (hasPrefix "cassandra://" $v.backends.views) (hasPrefix "scylla://" $v.backends.views)) -}}
{{- fail (printf "backends.views must be a cassandra:// or scylla:// URL, not %q: %s" $v.backends.views $embeddedHelp) -}}
{{- end -}}
{{- if not (regexMatch "^(cassandra|scylla)://[^/]+/[A-Za-z][A-Za-z0-9_]*$" $v.backends.views) -}}
{{- fail (printf "backends.views %q must end with the keyspace: cassandra://host:9042[,host:9042]/keyspace" $v.backends.views) -}}
{{- end -}}
{{- if not $v.backends.coordinator -}}
{{- fail "backends.coordinator is required: the ZooKeeper ensemble, e.g. zk://zookeeper-0.zookeeper-headless:2181,zookeeper-1.zookeeper-headless:2181/lambda-trends (see k8s/examples/zookeeper-statefulset.yaml)" -}}
{{- end -}}
{{- if not (hasPrefix "zk://" $v.backends.coordinator) -}}
{{- fail (printf "backends.coordinator must be a zk:// URL, not %q: %s" $v.backends.coordinator $embeddedHelp) -}}
{{- end -}}

{{- /* The master dataset. */ -}}
{{- if not (has $v.master.type (list "s3" "pvc")) -}}
{{- fail "master.type is required: \"s3\" (S3-compatible storage, master.s3.bucket) or \"pvc\" (a ReadWriteMany volume)" -}}
{{- end -}}
{{- if and (eq $v.master.type "s3") (not $v.master.s3.bucket) -}}
{{- fail "master.s3.bucket is required with master.type s3" -}}
{{- end -}}
{{- if and (eq $v.master.type "pvc") (not $v.master.pvc.existingClaim) (not (has "ReadWriteMany" $v.master.pvc.accessModes)) -}}
{{- fail "master.pvc.accessModes must include ReadWriteMany: ingest, recompute and serving pods on different nodes mount the master dataset at the same time" -}}
{{- end -}}

{{- /* The speed layer cannot use more members than partitions. */ -}}
{{- $partitions := int $v.kafka.partitions -}}
{{- if gt (int $v.speed.replicas) $partitions -}}
{{- fail (printf "speed.replicas (%d) is more than kafka.partitions (%d): Kafka gives each partition to one member of the consumer group, so the extra speed workers would sit idle. Lower speed.replicas or raise kafka.partitions (for new topics; an existing topic keeps its partitions)" (int $v.speed.replicas) $partitions) -}}
{{- end -}}
{{- if and $v.speed.keda.enabled (gt (int $v.speed.keda.maxReplicas) $partitions) -}}
{{- fail (printf "speed.keda.maxReplicas (%d) is more than kafka.partitions (%d): extra speed workers would sit idle" (int $v.speed.keda.maxReplicas) $partitions) -}}
{{- end -}}
{{- if and $v.speed.keda.enabled (gt (int $v.speed.keda.minReplicas) (int $v.speed.keda.maxReplicas)) -}}
{{- fail "speed.keda.minReplicas is more than speed.keda.maxReplicas" -}}
{{- end -}}
{{- if and $v.serving.autoscaling.enabled (gt (int $v.serving.autoscaling.minReplicas) (int $v.serving.autoscaling.maxReplicas)) -}}
{{- fail "serving.autoscaling.minReplicas is more than serving.autoscaling.maxReplicas" -}}
{{- end -}}

{{- /* Collectors: unique names, and credentials for the sources that need them. */ -}}
{{- $names := list -}}
{{- range $v.collector.sources -}}
{{- if has .name $names -}}
{{- fail (printf "collector.sources: the name %q is used twice (each source is one Deployment named after it)" .name) -}}
{{- end -}}
{{- $names = append $names .name -}}
{{- if and (ne (toString .enabled) "false") (eq .source "x-sample") -}}
{{- if not (include "lambda-trends.secretConfigured" (dict "entry" $v.secrets.xBearerToken "values" (list "value"))) -}}
{{- fail (printf "collector source %q (x-sample) needs the X bearer token: set secrets.xBearerToken.existingSecret (or .value)" .name) -}}
{{- end -}}
{{- end -}}
{{- if and .cursorPersistence .cursorPersistence.enabled (ne .source "jetstream") -}}
{{- fail (printf "collector source %q: cursorPersistence is for jetstream sources only" .name) -}}
{{- end -}}
{{- end -}}

{{- /* Credentials for the features that need them. */ -}}
{{- if and $v.kafka.sasl.enabled (not (include "lambda-trends.secretConfigured" (dict "entry" $v.secrets.kafkaSasl "values" (list "password")))) -}}
{{- fail "kafka.sasl.enabled needs the password: set secrets.kafkaSasl.existingSecret (or .password)" -}}
{{- end -}}
{{- if and $v.kafka.sasl.enabled (not $v.kafka.sasl.username) -}}
{{- fail "kafka.sasl.enabled needs kafka.sasl.username" -}}
{{- end -}}
{{- if and $v.cassandra.auth.enabled (not $v.secrets.cassandra.existingSecret) (not (and $v.secrets.cassandra.username $v.secrets.cassandra.password)) -}}
{{- fail "cassandra.auth.enabled needs credentials: set secrets.cassandra.existingSecret (or .username and .password)" -}}
{{- end -}}
{{- if and (eq $v.master.type "s3") (not $v.secrets.s3.existingSecret) (ne (empty $v.secrets.s3.accessKeyId) (empty $v.secrets.s3.secretAccessKey)) -}}
{{- fail "secrets.s3: set both accessKeyId and secretAccessKey, or neither (to use the pod's identity)" -}}
{{- end -}}

{{- /* Views: one source, and TOML the binary can at least parse (it checks the views themselves). */ -}}
{{- if and $v.views.definitions $v.views.existingConfigMap -}}
{{- fail "views.definitions and views.existingConfigMap are both set: give the views file one way only" -}}
{{- end -}}
{{- if $v.views.definitions -}}
{{- $parsed := fromToml $v.views.definitions -}}
{{- if hasKey $parsed "Error" -}}
{{- fail (printf "views.definitions is not valid TOML (the views file format is in docs/VIEWS.md): %v" (index $parsed "Error")) -}}
{{- end -}}
{{- end -}}

{{- /* DataFusion: a spill directory of its own, and memory pools that fit their containers. */ -}}
{{- with $v.recompute.spillDir -}}
{{- $taken := list "/tmp" (include "lambda-trends.dataDir" $) (include "lambda-trends.cursorDir" $) -}}
{{- if eq $v.master.type "pvc" }}{{ $taken = append $taken $v.master.pvc.mountPath }}{{ end -}}
{{- if or (has . $taken) (hasPrefix "/etc/lambda-trends" .) (eq . "/") -}}
{{- fail (printf "recompute.spillDir %q is a path the pods already use: choose a directory of its own, e.g. /var/lib/lambda-trends-spill" .) -}}
{{- end -}}
{{- end -}}
{{- if $v.recompute.enabled -}}
{{- include "lambda-trends.checkMemoryPool" (dict "pool" $v.recompute.memoryLimitMb "poolKey" "recompute.memoryLimitMb" "resources" $v.recompute.resources "resourcesKey" "recompute.resources") -}}
{{- end -}}
{{- include "lambda-trends.checkMemoryPool" (dict "pool" $v.serving.recomputeMemoryLimitMb "poolKey" "serving.recomputeMemoryLimitMb" "resources" $v.serving.resources "resourcesKey" "serving.resources") -}}
{{- include "lambda-trends.checkMemoryPool" (dict "pool" $v.ingest.compactMemoryLimitMb "poolKey" "ingest.compactMemoryLimitMb" "resources" $v.ingest.resources "resourcesKey" "ingest.resources") -}}

{{- /* Compaction must not delete the files a running recompute reads. */ -}}
{{- if and $v.recompute.enabled (gt (int64 $v.compact.everyMinutes) 0) (lt (int64 $v.compact.retireAfterSecs) (int64 $v.recompute.activeDeadlineSeconds)) -}}
{{- fail (printf "compact.retireAfterSecs (%d) is less than recompute.activeDeadlineSeconds (%d): compaction could delete files a recompute is still reading. Raise compact.retireAfterSecs to at least %d (or lower recompute.activeDeadlineSeconds)" (int64 $v.compact.retireAfterSecs) (int64 $v.recompute.activeDeadlineSeconds) (int64 $v.recompute.activeDeadlineSeconds)) -}}
{{- end -}}

{{- /* No secret in the ConfigMap: librdkafka secrets belong in secrets.*. */ -}}
{{- range $key, $_ := $v.kafka.properties -}}
{{- if regexMatch "(?i)(password|secret|sasl\\.jaas|sasl\\.oauthbearer\\.config)" $key -}}
{{- fail (printf "kafka.properties.%s looks like a secret, and kafka.properties is rendered into a ConfigMap: use kafka.sasl with secrets.kafkaSasl instead" $key) -}}
{{- end -}}
{{- end -}}
{{- end }}
