"""Render tests of the lambda-trends Helm chart: each test renders the chart with `helm template`
and asserts one behaviour an operator relies on. Run by scripts/test-helm.sh:

    render_tests.py <helm> <repo-root> [<lambda-trends binary>]

With the binary, the configuration file rendered into the ConfigMap is also checked by the real
parser (`lambda-trends --config <file> config show`, which rejects unknown keys), and so is every
rendered views file (`lambda-trends views list --views <file>`, on throwaway embedded backends).
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import tomllib
import traceback
from typing import Callable

import yaml

HELM = sys.argv[1]
ROOT = pathlib.Path(sys.argv[2])
BINARY = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
CHART = ROOT / "helm" / "lambda-trends"
EXAMPLES = sorted((CHART / "examples").glob("*.yaml"))
KUBE_VERSION = os.environ.get("LT_RENDER_KUBE_VERSION", "1.31.0")
CONFIG_PATH = "/etc/lambda-trends/lambda-trends.toml"

MINIMAL = CHART / "examples" / "minimal.yaml"
FULL = CHART / "examples" / "full.yaml"

class RenderError(Exception):
    pass


def render(*value_files: pathlib.Path, sets: dict | None = None, release: str = "t") -> list[dict]:
    """`helm template` with these values; the documents, or RenderError with helm's stderr."""
    cmd = [HELM, "template", release, str(CHART), "--namespace", "ns", "--kube-version", KUBE_VERSION]
    for f in value_files:
        cmd += ["--values", str(f)]
    if sets:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as tmp:
            yaml.safe_dump(sets, tmp)
        cmd += ["--values", tmp.name]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        if sets:
            os.unlink(tmp.name)
    if out.returncode != 0:
        raise RenderError(out.stderr.strip())
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def render_fails(*value_files: pathlib.Path, sets: dict | None = None) -> str:
    try:
        render(*value_files, sets=sets)
    except RenderError as e:
        return str(e)
    raise AssertionError(f"rendering succeeded, expected a failure (values {sets})")


def kinds(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d.get("kind") == kind]


def named(docs: list[dict], kind: str, name: str) -> dict:
    for d in kinds(docs, kind):
        if d["metadata"]["name"] == name:
            return d
    raise AssertionError(f"no {kind} {name}; have {[d['metadata']['name'] for d in kinds(docs, kind)]}")


def pod_spec(workload: dict) -> dict:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: dict) -> dict:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    return workload["spec"]["template"]["metadata"]["labels"]


def workloads(docs: list[dict]) -> list[dict]:
    return [d for d in docs if d.get("kind") in ("Deployment", "CronJob", "Job")]


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def toml_of(docs: list[dict], name: str = "t-lambda-trends-config") -> str:
    return named(docs, "ConfigMap", name)["data"]["lambda-trends.toml"]


def matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def with_sets(base: dict, **overrides) -> dict:
    out = json.loads(json.dumps(base))
    for path, value in overrides.items():
        node = out
        keys = path.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return out


# --------------------------------------------------------------------------------------------
# The tests

TESTS: list[tuple[str, Callable[[], None]]] = []


def test(fn: Callable[[], None]) -> Callable[[], None]:
    TESTS.append((fn.__name__, fn))
    return fn


@test
def defaults_alone_fail_naming_the_missing_backend():
    err = render_fails()
    assert "backends.eventLog is required" in err, err


@test
def embedded_backends_are_refused():
    err = render_fails(MINIMAL, sets={"backends": {"views": "embedded"}})
    assert "embedded backends are for a laptop" in err, err
    err = render_fails(MINIMAL, sets={"backends": {"eventLog": "kafka://"}})
    assert "is not kafka://host:port" in err, err
    err = render_fails(MINIMAL, sets={"backends": {"views": "cassandra://c:9042"}})
    assert "must end with the keyspace" in err, err


@test
def master_type_is_required():
    err = render_fails(MINIMAL, sets={"master": {"type": ""}})
    assert "master.type is required" in err, err
    err = render_fails(MINIMAL, sets={"master": {"type": "s3"}})
    assert "master.s3.bucket is required" in err, err


@test
def schema_rejects_misspelt_keys():
    err = render_fails(MINIMAL, sets={"speed": {"replica": 3}})
    assert "replica" in err and "not allowed" in err, err
    err = render_fails(MINIMAL, sets={"serving": {"ingress": {"enable": True}}})
    assert "enable" in err, err


@test
def speed_replicas_above_partitions_fail_rendering():
    err = render_fails(MINIMAL, sets={"kafka": {"partitions": 6}, "speed": {"replicas": 7}})
    assert "speed.replicas (7) is more than kafka.partitions (6)" in err, err
    docs = render(MINIMAL, sets={"kafka": {"partitions": 6}, "speed": {"replicas": 6}})
    assert named(docs, "Deployment", "t-lambda-trends-speed")["spec"]["replicas"] == 6
    err = render_fails(MINIMAL, sets={"kafka": {"partitions": 6},
                                      "speed": {"keda": {"enabled": True, "maxReplicas": 8}}})
    assert "speed.keda.maxReplicas (8) is more than kafka.partitions (6)" in err, err


@test
def replicas_from_values_land_in_the_deployments():
    docs = render(MINIMAL, sets={"speed": {"replicas": 5}, "ingest": {"replicas": 2},
                                 "serving": {"replicas": 3}})
    got = {d["metadata"]["name"]: d["spec"].get("replicas") for d in kinds(docs, "Deployment")}
    assert got["t-lambda-trends-speed"] == 5, got
    assert got["t-lambda-trends-ingest"] == 2, got
    assert got["t-lambda-trends-serving"] == 3, got
    assert got["t-lambda-trends-collector-jetstream"] == 1, got


@test
def autoscalers_own_the_replica_counts():
    docs = render(FULL)
    serving = named(docs, "Deployment", "t-trends-serving")
    speed = named(docs, "Deployment", "t-trends-speed")
    assert "replicas" not in serving["spec"], "an HPA-managed Deployment must not set replicas"
    assert "replicas" not in speed["spec"], "a KEDA-managed Deployment must not set replicas"
    hpa = named(docs, "HorizontalPodAutoscaler", "t-trends-serving")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "t-trends-serving"
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60


@test
def keda_scales_on_the_namespaced_speed_group_lag():
    docs = render(FULL)
    so = named(docs, "ScaledObject", "t-trends-speed")
    assert so["spec"]["scaleTargetRef"]["name"] == "t-trends-speed"
    assert so["spec"]["maxReplicaCount"] == 12
    trig = so["spec"]["triggers"][0]
    assert trig["type"] == "kafka"
    md = trig["metadata"]
    assert md["consumerGroup"] == "trends.lambda-speed", md
    assert md["topic"] == "trends.posts", md
    assert md["bootstrapServers"] == "kafka-0.kafka-headless:9093,kafka-1.kafka-headless:9093,kafka-2.kafka-headless:9093", md
    assert all(isinstance(v, str) for v in md.values()), "KEDA trigger metadata values are strings"
    assert trig["authenticationRef"]["name"] == "lambda-trends-kafka"
    # Without a namespace in the URL the plain names are used.
    docs = render(MINIMAL, sets={"speed": {"keda": {"enabled": True}}})
    md = named(docs, "ScaledObject", "t-lambda-trends-speed")["spec"]["triggers"][0]["metadata"]
    assert (md["consumerGroup"], md["topic"]) == ("lambda-speed", "posts"), md
    # The group KEDA watches is the group the speed workers use.
    assert 'group = "lambda-speed"' in toml_of(docs)


@test
def recompute_cronjob_schedule_and_no_overlap():
    docs = render(MINIMAL, sets={"recompute": {"schedule": "7 */2 * * *", "timeZone": "Europe/Paris"}})
    cj = named(docs, "CronJob", "t-lambda-trends-recompute")
    assert cj["spec"]["schedule"] == "7 */2 * * *"
    assert cj["spec"]["timeZone"] == "Europe/Paris"
    assert cj["spec"]["concurrencyPolicy"] == "Forbid"
    c = pod_spec(cj)["containers"][0]
    assert c["args"] == ["--config", CONFIG_PATH, "recompute"], c["args"]
    assert pod_spec(cj)["restartPolicy"] == "Never"
    docs = render(MINIMAL, sets={"recompute": {"enabled": False}})
    assert not kinds(docs, "CronJob")


@test
def migration_is_a_pre_install_pre_upgrade_hook_with_its_own_config():
    docs = render(FULL)
    job = named(docs, "Job", "t-trends-migrate")
    ann = job["metadata"]["annotations"]
    assert ann["helm.sh/hook"] == "pre-install,pre-upgrade", ann
    assert ann["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded", ann
    assert pod_spec(job)["containers"][0]["args"] == ["--config", CONFIG_PATH, "migrate"]
    # The hook runs before the release's own ConfigMap/Secret/ServiceAccount exist: it brings
    # copies, created first (lower weight), with the same content.
    job_weight = int(ann["helm.sh/hook-weight"])
    for kind in ("ConfigMap", "Secret", "ServiceAccount"):
        copy = named(docs, kind, "t-trends-migrate")
        a = copy["metadata"]["annotations"]
        assert a["helm.sh/hook"] == "pre-install,pre-upgrade", (kind, a)
        assert int(a["helm.sh/hook-weight"]) < job_weight, (kind, a)
    assert named(docs, "ConfigMap", "t-trends-migrate")["data"] == named(docs, "ConfigMap", "t-trends-config")["data"]
    assert named(docs, "Secret", "t-trends-migrate")["data"] == named(docs, "Secret", "t-trends")["data"]
    spec = pod_spec(job)
    assert spec["serviceAccountName"] == "t-trends-migrate"
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in spec["containers"][0]["env"] if "valueFrom" in e}
    assert refs == {"t-trends-migrate"}, refs
    vols = {v["name"]: v for v in spec["volumes"]}
    assert vols["config"]["configMap"]["name"] == "t-trends-migrate"
    # With a PVC master, the hook must not wait for a claim the release has not created yet.
    docs = render(MINIMAL)
    vols = {v["name"]: v for v in pod_spec(named(docs, "Job", "t-lambda-trends-migrate"))["volumes"]}
    assert "emptyDir" in vols["master"], vols["master"]


DISTINCT = {
    "xBearerToken": {"value": "xtok-4b8e1d9f3a"},
    "adminToken": {"value": "admtok-7c2f9e0b51"},
    "readToken": {"value": "readtok-3e9a1c7f52"},
    "cassandra": {"username": "cassuser-e31d", "password": "casspw-9a0c6f2d88"},
    "s3": {"accessKeyId": "s3akid-5d7e2b", "secretAccessKey": "s3secret-0f4a9c3e71"},
    "kafkaSasl": {"password": "kafkapw-6e1b8d4c27"},
}
DISTINCT_VALUES = [v for entry in DISTINCT.values() for v in entry.values()]


@test
def no_secret_value_in_any_configmap_or_workload():
    docs = render(FULL, sets={"secrets": DISTINCT})
    secret = named(docs, "Secret", "t-trends")
    decoded = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert sorted(decoded.values()) == sorted(DISTINCT_VALUES), decoded
    for d in docs:
        if d["kind"] == "Secret":
            continue
        text = yaml.safe_dump(d)
        for value in DISTINCT_VALUES:
            assert value not in text, f"{value} appears in {d['kind']} {d['metadata']['name']}"
            b64 = base64.b64encode(value.encode()).decode()
            assert b64 not in text, f"{value} (base64) appears in {d['kind']} {d['metadata']['name']}"
    # and librdkafka secrets are refused in kafka.properties
    err = render_fails(MINIMAL, sets={"kafka": {"properties": {"sasl.password": "x"}}})
    assert "looks like a secret" in err, err
    err = render_fails(MINIMAL, sets={"kafka": {"properties": {"ssl.key.password": "x"}}})
    assert "looks like a secret" in err, err


@test
def secrets_reach_the_containers_that_need_them():
    docs = render(FULL)
    by_name = {d["metadata"]["name"]: d for d in workloads(docs)}
    every = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "LT__KAFKA__SASL_PASSWORD",
             "LT__CASSANDRA__USERNAME", "LT__CASSANDRA__PASSWORD"}
    for name, w in by_name.items():
        env = env_of(pod_spec(w)["containers"][0])
        missing = every - env.keys()
        assert not missing, f"{name} lacks {missing}"
        for key in every:
            assert "valueFrom" in env[key] and "value" not in env[key], (name, key)
        assert ("X_BEARER_TOKEN" in env) == name.endswith("-collector-x"), (name, "X_BEARER_TOKEN")
        assert ("LT__SERVING__ADMIN_TOKEN" in env) == name.endswith("-serving"), (name, "LT__SERVING__ADMIN_TOKEN")
        assert ("LT__SERVING__READ_TOKEN" in env) == name.endswith("-serving"), (name, "LT__SERVING__READ_TOKEN")
        assert env["AWS_ENDPOINT_URL"]["value"] == "http://minio.minio.svc:9000"
        assert env["LT__CASSANDRA__TLS_CA_FILE"]["value"] == "/etc/lambda-trends/tls/cassandra/ca.crt"


@test
def existing_secrets_are_used_when_set():
    sets = {
        "secrets": {
            "xBearerToken": {"existingSecret": "x-creds", "key": "token"},
            "adminToken": {"existingSecret": "admin-creds", "key": "tok"},
            "readToken": {"existingSecret": "read-creds", "key": "rt"},
            "cassandra": {"existingSecret": "demo-superuser", "usernameKey": "u", "passwordKey": "p"},
            "s3": {"existingSecret": "minio-creds", "accessKeyIdKey": "ak", "secretAccessKeyKey": "sk"},
            "kafkaSasl": {"existingSecret": "kafka-user", "key": "password"},
        }
    }
    docs = render(FULL, sets=sets)
    # Inline values in full.yaml are ignored for entries with an existingSecret: no chart Secret.
    assert not [s for s in kinds(docs, "Secret")], [s["metadata"]["name"] for s in kinds(docs, "Secret")]
    want = {
        "AWS_ACCESS_KEY_ID": ("minio-creds", "ak"),
        "AWS_SECRET_ACCESS_KEY": ("minio-creds", "sk"),
        "LT__KAFKA__SASL_PASSWORD": ("kafka-user", "password"),
        "LT__CASSANDRA__USERNAME": ("demo-superuser", "u"),
        "LT__CASSANDRA__PASSWORD": ("demo-superuser", "p"),
    }
    for w in workloads(docs):
        env = env_of(pod_spec(w)["containers"][0])
        for var, (secret, key) in want.items():
            ref = env[var]["valueFrom"]["secretKeyRef"]
            assert (ref["name"], ref["key"]) == (secret, key), (w["metadata"]["name"], var, ref)
    x = env_of(pod_spec(named(docs, "Deployment", "t-trends-collector-x"))["containers"][0])
    assert x["X_BEARER_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "x-creds", "key": "token"}
    s = env_of(pod_spec(named(docs, "Deployment", "t-trends-serving"))["containers"][0])
    assert s["LT__SERVING__ADMIN_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "admin-creds", "key": "tok"}
    assert s["LT__SERVING__READ_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "read-creds", "key": "rt"}


@test
def read_token_is_off_by_default_and_reaches_only_serving():
    # Off: no variable, so the API stays open.
    for w in workloads(render(MINIMAL)):
        assert "LT__SERVING__READ_TOKEN" not in env_of(pod_spec(w)["containers"][0]), w["metadata"]["name"]
    # Inline: the chart's Secret holds it under read-token, and only serving reads it.
    docs = render(MINIMAL, sets={"secrets": {"readToken": {"value": "readtok-51b0e7"}}})
    secret = named(docs, "Secret", "t-lambda-trends")
    assert base64.b64decode(secret["data"]["read-token"]).decode() == "readtok-51b0e7", secret["data"]
    for w in workloads(docs):
        env = env_of(pod_spec(w)["containers"][0])
        if w["metadata"]["name"] == "t-lambda-trends-serving":
            assert env["LT__SERVING__READ_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "t-lambda-trends", "key": "read-token"}
        else:
            assert "LT__SERVING__READ_TOKEN" not in env, w["metadata"]["name"]
    assert "readtok-51b0e7" not in toml_of(docs)
    # From an existing Secret alone (the default key): no chart Secret is needed for it.
    docs = render(MINIMAL, sets={"secrets": {"readToken": {"existingSecret": "trends-read"}}})
    assert not kinds(docs, "Secret")
    env = env_of(pod_spec(named(docs, "Deployment", "t-lambda-trends-serving"))["containers"][0])
    assert env["LT__SERVING__READ_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "trends-read", "key": "read-token"}


@test
def rate_limits_render_into_the_serving_section():
    serving = tomllib.loads(toml_of(render(MINIMAL)))["serving"]
    assert (serving["rate-limit-per-second"], serving["rate-limit-burst"]) == (0, 0), serving  # off
    docs = render(MINIMAL, sets={"serving": {"rateLimit": {"perSecond": 25, "burst": 60}}})
    serving = tomllib.loads(toml_of(docs))["serving"]
    assert (serving["rate-limit-per-second"], serving["rate-limit-burst"]) == (25, 60), serving
    serving = tomllib.loads(toml_of(render(FULL), "t-trends-config"))["serving"]
    assert (serving["rate-limit-per-second"], serving["rate-limit-burst"]) == (200, 400), serving
    err = render_fails(MINIMAL, sets={"serving": {"rateLimit": {"perSecond": -1}}})
    assert "perSecond" in err, err
    err = render_fails(MINIMAL, sets={"serving": {"rateLimit": {"perSec": 5}}})
    assert "perSec" in err and "not allowed" in err, err


@test
def no_chart_secret_without_inline_values():
    assert not kinds(render(MINIMAL), "Secret")


@test
def one_collector_deployment_per_enabled_source():
    docs = render(FULL)
    collectors = {d["metadata"]["name"]: d for d in kinds(docs, "Deployment")
                  if d["metadata"]["labels"]["app.kubernetes.io/component"] == "collector"}
    assert sorted(collectors) == ["t-trends-collector-jetstream", "t-trends-collector-replay",
                                  "t-trends-collector-synthetic", "t-trends-collector-x"], sorted(collectors)
    args = {n: pod_spec(d)["containers"][0]["args"] for n, d in collectors.items()}
    assert args["t-trends-collector-x"][2:] == ["collect", "--source", "x-sample"], args
    assert args["t-trends-collector-synthetic"][2:] == ["collect", "--source", "synthetic", "--rate", "250",
                                                       "--max-posts", "100000000"], args
    for d in collectors.values():
        assert d["spec"]["strategy"]["type"] == "Recreate", "two pods of one source must never overlap"
    # Each has its own selector, so Deployments never adopt each other's pods.
    selectors = [json.dumps(d["spec"]["selector"]["matchLabels"], sort_keys=True) for d in collectors.values()]
    assert len(set(selectors)) == len(selectors)
    # The jetstream cursor lives on its own claim.
    j = pod_spec(collectors["t-trends-collector-jetstream"])
    assert env_of(j["containers"][0])["LT__COLLECTOR__JETSTREAM__CURSOR_FILE"]["value"].startswith("/var/lib/lambda-trends-cursor/")
    claim = {v["name"]: v for v in j["volumes"]}["cursor"]["persistentVolumeClaim"]["claimName"]
    assert named(docs, "PersistentVolumeClaim", claim)["spec"]["accessModes"] == ["ReadWriteOnce"]
    # Defaults: jetstream only (x is disabled).
    docs = render(MINIMAL)
    names = [d["metadata"]["name"] for d in kinds(docs, "Deployment")
             if d["metadata"]["labels"]["app.kubernetes.io/component"] == "collector"]
    assert names == ["t-lambda-trends-collector-jetstream"], names
    err = render_fails(MINIMAL, sets={"collector": {"sources": [{"name": "x", "source": "x-sample"}]}})
    assert "needs the X bearer token" in err, err
    err = render_fails(MINIMAL, sets={"collector": {"sources": [{"name": "a", "source": "synthetic"},
                                                                {"name": "a", "source": "jetstream"}]}})
    assert "used twice" in err, err


@test
def every_pod_is_non_root_read_only_and_drops_all_capabilities():
    for values in [MINIMAL, FULL, *EXAMPLES]:
        for w in workloads(render(values)):
            spec = pod_spec(w)
            name = f"{values.name}: {w['kind']} {w['metadata']['name']}"
            psc = spec["securityContext"]
            assert psc["runAsNonRoot"] is True and psc["runAsUser"] != 0, name
            assert psc["seccompProfile"]["type"] == "RuntimeDefault", name
            assert spec["automountServiceAccountToken"] is False, name
            for c in spec["containers"]:
                sc = c["securityContext"]
                assert sc["readOnlyRootFilesystem"] is True, name
                assert sc["allowPrivilegeEscalation"] is False, name
                assert sc["capabilities"]["drop"] == ["ALL"], name
                mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
                vols = {v["name"]: v for v in spec["volumes"]}
                assert "emptyDir" in vols[mounts["/tmp"]], f"{name}: /tmp must be a writable emptyDir"
                assert "emptyDir" in vols[mounts["/var/lib/lambda-trends"]], name
                assert c["resources"].get("requests"), f"{name}: no resource requests"


@test
def every_long_running_container_has_health_probes_on_a_declared_port():
    for values in [MINIMAL, FULL]:
        for d in kinds(render(values), "Deployment"):
            for c in pod_spec(d)["containers"]:
                name = f"{values.name}: {d['metadata']['name']}"
                ports = {p["name"] for p in c["ports"]}
                for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"),
                                    ("startupProbe", "/healthz")):
                    assert probe in c, f"{name} has no {probe}"
                    assert c[probe]["httpGet"]["path"] == path, (name, probe)
                    assert c[probe]["httpGet"]["port"] in ports, (name, probe)
                env = env_of(c)
                if c["name"] in ("collector", "speed", "ingest"):
                    assert env["LT__TELEMETRY__LISTEN"]["value"] == "0.0.0.0:9464", name
                    assert [p["containerPort"] for p in c["ports"]] == [9464], name


@test
def every_container_reads_the_rendered_config_file():
    for values in [MINIMAL, FULL]:
        docs = render(values)
        for w in workloads(docs):
            spec = pod_spec(w)
            c = spec["containers"][0]
            assert c["args"][:2] == ["--config", CONFIG_PATH], c["args"]
            assert env_of(c)["LT_CONFIG"]["value"] == CONFIG_PATH
            mount = next(m for m in c["volumeMounts"] if m["mountPath"] == CONFIG_PATH)
            vol = next(v for v in spec["volumes"] if v["name"] == mount["name"])
            cm = named(docs, "ConfigMap", vol["configMap"]["name"])
            assert mount["subPath"] in cm["data"]
            tomllib.loads(cm["data"][mount["subPath"]])


@test
def rendered_toml_follows_the_values():
    docs = render(FULL)
    cfg = tomllib.loads(toml_of(docs, "t-trends-config"))
    assert cfg["backends"]["master"] == "s3://lambda-trends/master"
    assert cfg["backends"]["confluent-schema-id"] == 7
    assert cfg["serving"]["listen"] == "0.0.0.0:8080"
    assert cfg["speed"]["group"] == "lambda-speed"
    assert cfg["collector"]["rate"] == 1000.0 and isinstance(cfg["collector"]["rate"], float)
    props = cfg["kafka"]["properties"]
    assert props["security.protocol"] == "SASL_SSL"
    assert props["ssl.ca.location"] == "/etc/lambda-trends/tls/kafka/ca.crt"
    assert props["sasl.mechanism"] == "SCRAM-SHA-512" and props["sasl.username"] == "lambda-trends"
    assert props["linger.ms"] == "20"
    assert not any("password" in k for k in props)
    cfg = tomllib.loads(toml_of(render(MINIMAL)))
    assert cfg["backends"]["master"] == "file:///data/master"
    assert "properties" not in cfg["kafka"]


VIEWS_FILE = "/etc/lambda-trends/views/views.toml"
VIEWS_TOML = (ROOT / "docs" / "views.example.toml").read_text()
# The pods that recompute (the CronJob; serving, for the admin API) read the views file.
VIEW_READERS = {"t-lambda-trends-recompute", "t-lambda-trends-serving"}


def mounted_file(workload: dict, path: str) -> tuple[dict, str] | None:
    """The volume and the key a file of the first container comes from: (volume, key), or None."""
    spec = pod_spec(workload)
    vols = {v["name"]: v for v in spec["volumes"]}
    for m in spec["containers"][0]["volumeMounts"]:
        if m.get("subPath") and m["mountPath"] == path:
            return vols[m["name"]], m["subPath"]
        if not m.get("subPath") and path.startswith(m["mountPath"].rstrip("/") + "/"):
            vol = vols[m["name"]]
            rel = path[len(m["mountPath"].rstrip("/")) + 1:]
            items = (vol.get("configMap") or {}).get("items")
            if items is None:
                return vol, rel
            for item in items:
                if item["path"] == rel:
                    return vol, item["key"]
    return None


def checksum(docs: list[dict], name: str) -> str:
    w = next(d for d in workloads(docs) if d["metadata"]["name"] == name)
    meta = w["spec"]["jobTemplate"]["spec"]["template"]["metadata"] if w["kind"] == "CronJob" \
        else w["spec"]["template"]["metadata"]
    return meta["annotations"]["checksum/config"]


@test
def views_file_is_rendered_and_mounted_only_when_defined():
    # Without views: no views.toml, no views-file, no views volume anywhere.
    docs = render(MINIMAL)
    assert "views.toml" not in named(docs, "ConfigMap", "t-lambda-trends-config")["data"]
    assert "views-file" not in tomllib.loads(toml_of(docs))["recompute"]
    for w in workloads(docs):
        assert "views" not in {v["name"] for v in pod_spec(w)["volumes"]}, w["metadata"]["name"]
    # With views: the ConfigMap's second key holds the text as given, views-file points at it,
    # and the recompute and serving pods (only) mount it read-only there.
    docs = render(MINIMAL, sets={"views": {"definitions": VIEWS_TOML}})
    cm = named(docs, "ConfigMap", "t-lambda-trends-config")
    assert cm["data"]["views.toml"] == VIEWS_TOML
    assert tomllib.loads(cm["data"]["views.toml"])["view"][0]["name"] == "by_lang"
    assert tomllib.loads(toml_of(docs))["recompute"]["views-file"] == VIEWS_FILE
    readers = set()
    for w in workloads(docs):
        name = w["metadata"]["name"]
        found = mounted_file(w, VIEWS_FILE)
        if found is None:
            continue
        readers.add(name)
        vol, key = found
        assert vol["configMap"]["name"] == "t-lambda-trends-config" and key == "views.toml", (name, vol)
        mount = next(m for m in pod_spec(w)["containers"][0]["volumeMounts"] if m["name"] == "views")
        assert mount.get("readOnly") is True, (name, mount)
        # A directory mount, not subPath: the file follows the ConfigMap without a restart.
        assert "subPath" not in mount, (name, mount)
    assert readers == VIEW_READERS, readers
    # The migration hook's copy of the ConfigMap carries it too (same data).
    assert named(docs, "ConfigMap", "t-lambda-trends-migrate")["data"] == cm["data"]
    # Text that is not TOML fails rendering, as do two sources at once.
    err = render_fails(MINIMAL, sets={"views": {"definitions": "version = = 2\n"}})
    assert "views.definitions is not valid TOML" in err, err
    err = render_fails(MINIMAL, sets={"views": {"definitions": VIEWS_TOML, "existingConfigMap": "v"}})
    assert "both set" in err, err
    # Odd text (indented first line, trailing blanks, no final newline) reaches the file as is.
    odd = "  version = 1\n\n  [[view]]\n  name = \"a\"  \n\tbucket = \"1h\""
    docs = render(MINIMAL, sets={"views": {"definitions": odd}})
    assert named(docs, "ConfigMap", "t-lambda-trends-config")["data"]["views.toml"] == odd


@test
def views_from_an_existing_configmap():
    docs = render(MINIMAL, sets={"views": {"existingConfigMap": "team-views", "existingConfigMapKey": "prod.toml"}})
    assert "views.toml" not in named(docs, "ConfigMap", "t-lambda-trends-config")["data"]
    assert tomllib.loads(toml_of(docs))["recompute"]["views-file"] == VIEWS_FILE
    readers = set()
    for w in workloads(docs):
        found = mounted_file(w, VIEWS_FILE)
        if found:
            readers.add(w["metadata"]["name"])
            assert (found[0]["configMap"]["name"], found[1]) == ("team-views", "prod.toml"), found
    assert readers == VIEW_READERS, readers


@test
def changing_views_restarts_no_pod_but_turning_them_on_does():
    none = render(MINIMAL)
    v1 = render(MINIMAL, sets={"views": {"definitions": VIEWS_TOML}})
    v2 = render(MINIMAL, sets={"views": {"definitions": VIEWS_TOML.replace("version = 2", "version = 3")}})
    for name in VIEW_READERS | {"t-lambda-trends-speed", "t-lambda-trends-collector-jetstream"}:
        assert checksum(v1, name) == checksum(v2, name), name
        assert checksum(none, name) != checksum(v1, name), name


@test
def spill_dir_is_a_writable_emptydir_where_datafusion_runs():
    docs = render(MINIMAL, sets={"recompute": {"spillDir": "/var/spill", "spillSizeLimit": "20Gi"}})
    assert tomllib.loads(toml_of(docs))["recompute"]["spill-dir"] == "/var/spill"
    # The recompute CronJob, and serving (admin-API recomputes) and ingest (compaction).
    spilling = set()
    for w in workloads(docs):
        spec = pod_spec(w)
        c = spec["containers"][0]
        mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
        if "/var/spill" not in mounts:
            continue
        spilling.add(w["metadata"]["name"])
        assert not mounts["/var/spill"].get("readOnly"), w["metadata"]["name"]
        vol = {v["name"]: v for v in spec["volumes"]}[mounts["/var/spill"]["name"]]
        assert vol["emptyDir"] == {"sizeLimit": "20Gi"}, vol
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert spilling == {"t-lambda-trends-recompute", "t-lambda-trends-serving", "t-lambda-trends-ingest"}, spilling
    # The default: a directory of its own.
    cfg = tomllib.loads(toml_of(render(MINIMAL)))["recompute"]
    assert cfg["spill-dir"] == "/var/lib/lambda-trends-spill", cfg
    # Empty: the system's temporary directory (/tmp, an emptyDir already), no spill volume.
    docs = render(MINIMAL, sets={"recompute": {"spillDir": ""}})
    assert "spill-dir" not in tomllib.loads(toml_of(docs))["recompute"]
    for w in workloads(docs):
        assert "spill" not in {v["name"] for v in pod_spec(w)["volumes"]}, w["metadata"]["name"]
    err = render_fails(MINIMAL, sets={"recompute": {"spillDir": "/tmp"}})
    assert "a path the pods already use" in err, err
    err = render_fails(MINIMAL, sets={"recompute": {"spillDir": "spill"}})
    assert "spillDir" in err, err


@test
def memory_pools_fit_their_containers():
    docs = render(MINIMAL)
    assert tomllib.loads(toml_of(docs))["recompute"]["memory-limit-mb"] == 1024
    # The CronJob uses the file's pool; serving and ingest get their own through the environment.
    cj = pod_spec(named(docs, "CronJob", "t-lambda-trends-recompute"))["containers"][0]
    assert "LT__RECOMPUTE__MEMORY_LIMIT_MB" not in env_of(cj)
    assert cj["resources"]["limits"]["memory"] == "4Gi"
    pools = {n: env_of(pod_spec(named(docs, "Deployment", n))["containers"][0])["LT__RECOMPUTE__MEMORY_LIMIT_MB"]["value"]
             for n in ("t-lambda-trends-serving", "t-lambda-trends-ingest")}
    assert pools == {"t-lambda-trends-serving": "128", "t-lambda-trends-ingest": "256"}, pools
    docs = render(MINIMAL, sets={"recompute": {"memoryLimitMb": 3072}})
    assert tomllib.loads(toml_of(docs))["recompute"]["memory-limit-mb"] == 3072
    # More than 3/4 of the container's limit, in any unit, fails; so does an unbounded pool.
    for limit, pool in (("4Gi", 3073), ("4096Mi", 3073), ("4294967296", 3073), ("8G", 5722), ("1.5Gi", 1153)):
        err = render_fails(MINIMAL, sets={"recompute": {"memoryLimitMb": pool, "resources": {"limits": {"memory": limit}}}})
        assert "is more than 3/4 of recompute.resources.limits.memory" in err, (limit, err)
        render(MINIMAL, sets={"recompute": {"memoryLimitMb": pool - 1, "resources": {"limits": {"memory": limit}}}})
    err = render_fails(MINIMAL, sets={"recompute": {"memoryLimitMb": 0}})
    assert "unbounded DataFusion pool" in err, err
    err = render_fails(MINIMAL, sets={"recompute": {"resources": {"limits": {"memory": "4gb"}}}})
    assert "not a memory quantity" in err, err
    # Without a memory limit there is nothing to check against.
    render(MINIMAL, sets={"recompute": {"memoryLimitMb": 0, "resources": {"requests": {"cpu": "1"}, "limits": None}}})
    err = render_fails(MINIMAL, sets={"serving": {"recomputeMemoryLimitMb": 512}})
    assert "serving.recomputeMemoryLimitMb (512 MiB) is more than 3/4 of serving.resources.limits.memory" in err, err
    err = render_fails(MINIMAL, sets={"ingest": {"compactMemoryLimitMb": 1024}})
    assert "ingest.compactMemoryLimitMb" in err, err


@test
def compact_and_late_posts_follow_the_values():
    cfg = tomllib.loads(toml_of(render(MINIMAL)))
    assert cfg["compact"] == {"min-files": 8, "target-file-mb": 128, "retire-after-secs": 3600,
                              "every-minutes": 10}, cfg["compact"]
    assert cfg["speed"]["late-after-secs"] == 300
    cfg = tomllib.loads(toml_of(render(MINIMAL, sets={
        "compact": {"minFiles": 4, "targetFileMb": 256, "retireAfterSecs": 7200, "everyMinutes": 0},
        "speed": {"lateAfterSecs": 90}})))
    assert cfg["compact"] == {"min-files": 4, "target-file-mb": 256, "retire-after-secs": 7200,
                              "every-minutes": 0}, cfg["compact"]
    assert cfg["speed"]["late-after-secs"] == 90
    # Compaction must keep replaced files at least as long as a recompute may run.
    err = render_fails(MINIMAL, sets={"compact": {"retireAfterSecs": 600}})
    assert "compact.retireAfterSecs (600) is less than recompute.activeDeadlineSeconds (3600)" in err, err
    render(MINIMAL, sets={"compact": {"retireAfterSecs": 600, "everyMinutes": 0}})
    render(MINIMAL, sets={"compact": {"retireAfterSecs": 600}, "recompute": {"activeDeadlineSeconds": 600}})
    err = render_fails(MINIMAL, sets={"compact": {"minFile": 3}})
    assert "minFile" in err and "not allowed" in err, err


@test
def master_on_a_pvc_is_shared_and_written_only_by_ingest():
    docs = render(MINIMAL)
    pvc = named(docs, "PersistentVolumeClaim", "t-lambda-trends-master")
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    for w in workloads(docs):
        if w["kind"] == "Job":
            continue
        spec = pod_spec(w)
        vol = {v["name"]: v for v in spec["volumes"]}["master"]
        mount = next(m for m in spec["containers"][0]["volumeMounts"] if m["name"] == "master")
        assert vol["persistentVolumeClaim"]["claimName"] == "t-lambda-trends-master"
        assert mount["mountPath"] == "/data/master"
        writer = w["metadata"]["name"] == "t-lambda-trends-ingest"
        assert mount.get("readOnly", False) is (not writer), (w["metadata"]["name"], mount)
    docs = render(MINIMAL, sets={"master": {"pvc": {"existingClaim": "shared-master"}}})
    assert not kinds(docs, "PersistentVolumeClaim")
    spec = pod_spec(named(docs, "Deployment", "t-lambda-trends-ingest"))
    assert {v["name"]: v for v in spec["volumes"]}["master"]["persistentVolumeClaim"]["claimName"] == "shared-master"
    err = render_fails(MINIMAL, sets={"master": {"pvc": {"accessModes": ["ReadWriteOnce"]}}})
    assert "ReadWriteMany" in err, err


@test
def services_pdbs_and_servicemonitor_select_the_right_pods():
    docs = render(FULL)
    deployments = kinds(docs, "Deployment")
    services = kinds(docs, "Service")
    metrics_services = [s for s in services if s["metadata"]["labels"].get("lambda-trends/metrics") == "true"]
    for s in metrics_services:
        # Headless, and listing unready pods: a pod is unready during a backend outage, which is
        # when its metrics matter most.
        assert s["spec"]["clusterIP"] == "None", s["metadata"]["name"]
        assert s["spec"]["publishNotReadyAddresses"] is True, s["metadata"]["name"]
        assert [p["name"] for p in s["spec"]["ports"]] == ["metrics"], s["metadata"]["name"]
    assert len(metrics_services) == len(deployments)
    for d in deployments:
        labels = pod_labels(d)
        port_names = {p["name"] for p in pod_spec(d)["containers"][0]["ports"]}
        covering = [s for s in metrics_services if matches(s["spec"]["selector"], labels)]
        assert covering, f"no metrics Service selects {d['metadata']['name']}"
        for s in covering:
            for p in s["spec"]["ports"]:
                assert p["targetPort"] in port_names, (s["metadata"]["name"], p)
    # Each Service selects one component only.
    for s in services:
        selected = [d["metadata"]["name"] for d in deployments if matches(s["spec"]["selector"], pod_labels(d))]
        assert len(selected) == 1, (s["metadata"]["name"], selected)
    sm = named(docs, "ServiceMonitor", "t-trends")
    assert sm["metadata"]["namespace"] == "monitoring"
    assert sm["spec"]["namespaceSelector"]["matchNames"] == ["ns"]
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    sel = sm["spec"]["selector"]["matchLabels"]
    monitored = [s for s in services if matches(sel, s["metadata"]["labels"])]
    assert sorted(s["metadata"]["name"] for s in monitored) == sorted(s["metadata"]["name"] for s in metrics_services)
    assert [e["port"] for e in sm["spec"]["endpoints"]] == ["metrics"]
    assert all(e["path"] == "/metrics" for e in sm["spec"]["endpoints"])
    for pdb in kinds(docs, "PodDisruptionBudget"):
        selected = [d for d in deployments if matches(pdb["spec"]["selector"]["matchLabels"], pod_labels(d))]
        assert len(selected) == 1, pdb["metadata"]["name"]
    assert {p["metadata"]["name"] for p in kinds(docs, "PodDisruptionBudget")} == {"t-trends-serving", "t-trends-speed"}
    serving = named(docs, "Service", "t-trends-serving")
    assert serving["spec"]["sessionAffinity"] == "ClientIP"
    ing = named(docs, "Ingress", "t-trends-serving")
    backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "t-trends-serving", "port": {"number": 80}}, backend


@test
def grafana_dashboard_uses_metrics_the_code_emits():
    docs = render(FULL)
    cm = named(docs, "ConfigMap", "t-trends-dashboard")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    dash = json.loads(cm["data"]["lambda-trends.json"])
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    used = {m for e in exprs for m in re.findall(r"\blambda_[a-z0-9_]+", e)}
    emitted = set()
    for path in ROOT.rglob("*.rs"):
        if "target" in path.parts:
            continue
        emitted |= set(re.findall(r'(?:counter|gauge|histogram)!\(\s*"(lambda_[a-z0-9_]+)"', path.read_text()))
    assert emitted, "found no metrics in the Rust sources"
    unknown = sorted(m for m in used if re.sub(r"_(bucket|sum|count)$", "", m) not in emitted)
    assert not unknown, f"the dashboard queries metrics no code emits: {unknown}"
    assert len(used) >= 15, sorted(used)


@test
def resources_are_labelled_and_names_fit():
    for values in [MINIMAL, FULL]:
        for d in render(values, release="a-rather-long-release-name-for-testing"):
            labels = d["metadata"].get("labels", {})
            for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by",
                        "app.kubernetes.io/part-of", "helm.sh/chart"):
                assert key in labels, (d["kind"], d["metadata"]["name"], key)
            assert len(d["metadata"]["name"]) <= 63, d["metadata"]["name"]
            assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", d["metadata"]["name"]), d["metadata"]["name"]


@test
def dockerfile_copies_every_workspace_member():
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    members = [m for m in cargo["workspace"]["members"] if m != "."]
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = set()
    for line in dockerfile.splitlines():
        m = re.match(r"\s*COPY\s+(?!--from)(.*)$", line)
        if m:
            parts = [p for p in m.group(1).split() if not p.startswith("--")]
            copied |= {p.rstrip("/") for p in parts[:-1]}
    for needed in [*members, "src", "Cargo.toml", "Cargo.lock", "rust-toolchain.toml", "schemas"]:
        assert any(needed == c or needed.startswith(c + "/") for c in copied), \
            f"the Dockerfile's builder does not COPY {needed} (copied: {sorted(copied)})"


# --------------------------------------------------------------------------------------------
# The configuration, checked by the real binary

def binary_accepts(toml_text: str, env: dict[str, str]) -> tuple[bool, str, str]:
    """Runs `lambda-trends --config <file> config show`: (accepted, stdout, stderr)."""
    with tempfile.TemporaryDirectory() as d:
        f = pathlib.Path(d) / "lambda-trends.toml"
        f.write_text(toml_text)
        clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": d, **env}
        out = subprocess.run([BINARY, "--config", str(f), "config", "show"], capture_output=True,
                             text=True, cwd=d, env=clean, timeout=60)
        return out.returncode == 0, out.stdout, out.stderr


def binary_accepts_views(views_text: str) -> tuple[bool, str, str]:
    """Runs `lambda-trends views list --views <file>` on throwaway embedded backends, which
    parses and checks every view: (accepted, stdout, stderr)."""
    with tempfile.TemporaryDirectory() as d:
        f = pathlib.Path(d) / "views.toml"
        f.write_text(views_text)
        clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": d}
        out = subprocess.run([BINARY, "--data-dir", str(pathlib.Path(d) / "data"), "views", "list",
                              "--views", str(f)], capture_output=True, text=True, cwd=d, env=clean,
                             timeout=60)
        return out.returncode == 0, out.stdout, out.stderr


def pod_config_env(container: dict) -> dict[str, str]:
    """The LT__ variables a container gets (secret ones with a placeholder value)."""
    env = {}
    for e in container.get("env", []):
        if e["name"].startswith("LT__"):
            env[e["name"]] = e.get("value", "placeholder")
    return env


@test
def binary_accepts_every_rendered_config():
    if not BINARY:
        print("      (skipped: no lambda-trends binary; build it with cargo build, or run scripts/test.sh first)")
        return
    checked_views = 0
    for values in [MINIMAL, *EXAMPLES, ROOT / "k8s" / "reference-values.yaml"]:
        docs = render(values)
        cm = [c for c in kinds(docs, "ConfigMap") if "lambda-trends.toml" in c.get("data", {})][0]
        text = cm["data"]["lambda-trends.toml"]
        ok, out, err = binary_accepts(text, {})
        assert ok, f"{values.name}: lambda-trends config show rejected the rendered file:\n{err}"
        shown = tomllib.loads(out)
        rendered = tomllib.loads(text)
        for section in ("backends", "speed", "serving", "recompute", "compact"):
            for key, value in rendered[section].items():
                assert shown[section][key] == value, (values.name, section, key, shown[section][key], value)
        # Each pod's environment on top of the file.
        for w in workloads(docs):
            c = pod_spec(w)["containers"][0]
            env = pod_config_env(c)
            ok, out, err = binary_accepts(text, env)
            assert ok, (f"{values.name}: {w['metadata']['name']}'s environment {sorted(env)} "
                        f"is rejected by the binary:\n{err}")
            if "LT__RECOMPUTE__MEMORY_LIMIT_MB" in env:
                pool = tomllib.loads(out)["recompute"]["memory-limit-mb"]
                assert pool == int(env["LT__RECOMPUTE__MEMORY_LIMIT_MB"]), (values.name, w["metadata"]["name"], pool)
        # The views file, when the chart renders one, is one the binary accepts.
        if "views.toml" in cm["data"]:
            checked_views += 1
            ok, out, err = binary_accepts_views(cm["data"]["views.toml"])
            assert ok, f"{values.name}: lambda-trends views list rejected views.definitions:\n{err}"
            for view in tomllib.loads(cm["data"]["views.toml"]).get("view", []):
                assert view["name"] in out, (values.name, view["name"], out)
    assert checked_views, "no example renders a views file: nothing checked it against the binary"


def main() -> int:
    passed = failed = 0
    for name, fn in TESTS:
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - report every failure, then fail
            failed += 1
            print(f"FAIL  {name}")
            detail = str(e) if isinstance(e, (AssertionError, RenderError)) else traceback.format_exc()
            print("      " + detail.replace("\n", "\n      "))
        else:
            passed += 1
            print(f"ok    {name}")
    print(f"render-tests: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
