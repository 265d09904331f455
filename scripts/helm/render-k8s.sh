#!/usr/bin/env bash
# Regenerates k8s/lambda-trends.yaml, the plain manifests, from the Helm chart and
# k8s/reference-values.yaml. scripts/test-helm.sh fails when the committed file differs from a
# fresh render, so run this after every change to the chart or the reference values.
#
#   scripts/helm/render-k8s.sh            # rewrite k8s/lambda-trends.yaml
#   scripts/helm/render-k8s.sh --stdout   # print the render instead
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
source "$LT_ROOT/scripts/helm/tools.sh"

render() {
  cat <<'HEADER'
# lambda-trends: plain Kubernetes manifests, rendered from helm/lambda-trends with
# k8s/reference-values.yaml by scripts/helm/render-k8s.sh. Do not edit: change the values or the
# chart and render again. Apply with: kubectl -n lambda-trends apply -f k8s/lambda-trends.yaml
# (see k8s/README.md for the Secrets to create first).
HEADER
  "$LT_HELM" template lambda-trends "$LT_ROOT/helm/lambda-trends" \
    --namespace lambda-trends \
    --kube-version "${LT_K8S_VERSIONS%% *}" \
    --values "$LT_ROOT/k8s/reference-values.yaml"
}

if [ ! -x "$LT_HELM" ] || [ "$(lt_go_binary_version "$LT_HELM")" != "$LT_HELM_VERSION" ]; then
  lt_go_tool helm.sh/helm/v3 cmd/helm "$LT_HELM_VERSION" >&2
fi
if [ "${1:-}" = "--stdout" ]; then
  render
else
  render > "$LT_ROOT/k8s/lambda-trends.yaml"
  echo "render-k8s: wrote k8s/lambda-trends.yaml"
fi
