#!/usr/bin/env bash
# Tests of the Helm chart (helm/lambda-trends) and the plain manifests (k8s/):
#   1. helm lint, with the defaults, every example values file and the reference values;
#   2. helm template with each of them, and kubeconform -strict on every render against the
#      Kubernetes JSON schemas of $LT_K8S_VERSIONS (offline: from the kubernetes-validate
#      wheel); the CRD kinds (ServiceMonitor, ScaledObject) are skipped by kubeconform and
#      checked by the render tests instead;
#   3. render tests (scripts/helm/render_tests.py): replicas, the speed-replicas check, the
#      CronJob, the migration hook, secrets, probes, security contexts, selectors, the views file
#      (ConfigMap key, mounts, views-file), the spill emptyDir, the DataFusion memory pools against
#      the containers' limits, compaction, the dashboard's metric names (and that the dashboard
#      JSON is what scripts/helm/gen_dashboard.py writes), the Dockerfile's COPY lines, and the
#      rendered config and views files against the real binary when it is built
#      ($CARGO_TARGET_DIR/debug/lambda-trends, default ~/.cache/lambda-trends/target; this script
#      never builds it: point CARGO_TARGET_DIR at another build to check that one);
#   4. k8s/lambda-trends.yaml is what scripts/helm/render-k8s.sh renders today.
# Installs helm, kubeconform (Go module proxy), PyYAML and kubernetes-validate (PyPI) into
# ${XDG_CACHE_HOME:-~/.cache}/lambda-trends/tools on first use.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$LT_ROOT/scripts/helm/tools.sh"
cd "$LT_ROOT"
step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)
chart=helm/lambda-trends
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "Installing helm $LT_HELM_VERSION, kubeconform $LT_KUBECONFORM_VERSION, PyYAML and the Kubernetes schemas (cached)"
lt_install_helm_tools

# Every values file tested: the chart's examples and the reference values of k8s/.
values_files=("$chart"/examples/*.yaml k8s/reference-values.yaml)
kube_min="${LT_K8S_VERSIONS%% *}"

step "helm lint (defaults, ${#values_files[@]} values files)"
# With the defaults the backends are missing: lint reports the render-time failures as INFO and
# passes; `helm template` below must fail on them.
lint() {
  local log="$work/lint.log"
  if ! "$LT_HELM" lint "$chart" --strict --kube-version "$kube_min" "$@" >"$log" 2>&1; then
    cat "$log"
    echo "helm lint failed: $*" >&2
    return 1
  fi
  echo "  ok  ${*:-(defaults)}"
}
lint
for f in "${values_files[@]}"; do lint --values "$f"; done

step "helm template with the defaults fails until the backends are set"
if "$LT_HELM" template t "$chart" --kube-version "$kube_min" >"$work/defaults.yaml" 2>"$work/defaults.err"; then
  echo "helm template succeeded with the defaults: it must refuse to render without backends" >&2
  exit 1
fi
grep -q "backends.eventLog is required" "$work/defaults.err" || { cat "$work/defaults.err"; exit 1; }
echo "  ok  $(grep -o 'backends.eventLog is required[^:]*' "$work/defaults.err")"

step "helm template + kubeconform -strict (Kubernetes $LT_K8S_VERSIONS)"
for f in "${values_files[@]}"; do
  out="$work/$(basename "$(dirname "$f")")-$(basename "$f")"
  "$LT_HELM" template t "$chart" --namespace lambda-trends --kube-version "$kube_min" --values "$f" >"$out"
  for v in $LT_K8S_VERSIONS; do
    printf '  %-45s k8s %-7s ' "$f" "$v"
    "$LT_KUBECONFORM" -strict -summary -kubernetes-version "$v" \
      -schema-location "$LT_K8S_SCHEMAS/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
      -skip monitoring.coreos.com/v1/ServiceMonitor,keda.sh/v1alpha1/ScaledObject \
      "$out"
  done
done
printf '  %-45s k8s %-7s ' "k8s/examples/zookeeper-statefulset.yaml" "$kube_min"
"$LT_KUBECONFORM" -strict -summary -kubernetes-version "$kube_min" \
  -schema-location "$LT_K8S_SCHEMAS/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
  k8s/examples/zookeeper-statefulset.yaml

step "Render tests"
"$LT_PY" scripts/helm/gen_dashboard.py --check
binary="$CARGO_TARGET_DIR/debug/lambda-trends"
if [ -x "$binary" ]; then
  echo "  checking rendered configuration with $binary"
else
  echo "  $binary is not built: the config-file check is skipped (scripts/test.sh builds it first)"
  binary=""
fi
LT_RENDER_KUBE_VERSION="$kube_min" "$LT_PY" scripts/helm/render_tests.py "$LT_HELM" "$LT_ROOT" "$binary"

step "k8s/lambda-trends.yaml is up to date"
scripts/helm/render-k8s.sh --stdout >"$work/k8s.yaml"
if ! diff -u k8s/lambda-trends.yaml "$work/k8s.yaml" >"$work/k8s.diff"; then
  head -50 "$work/k8s.diff"
  echo "k8s/lambda-trends.yaml differs from a fresh render: run scripts/helm/render-k8s.sh and commit it" >&2
  exit 1
fi
echo "  ok  k8s/lambda-trends.yaml matches the chart and k8s/reference-values.yaml"

echo "Helm tests passed in $(( $(date +%s) - started )) s."
