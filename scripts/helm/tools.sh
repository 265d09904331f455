# The tools of the Helm chart's scripts (sourced, not run): helm and kubeconform built from the
# Go module proxy, a Python venv with PyYAML, and the Kubernetes JSON schemas that the PyPI
# package kubernetes-validate ships (kubeconform would fetch them from GitHub, which is not
# reachable everywhere). Everything is cached outside the clone and installed only when missing
# or at another version.
#
# Needs go (>= 1.24) and python3 (>= 3.11, for tomllib) on PATH.

LT_HELM_VERSION=v3.22.0
LT_KUBECONFORM_VERSION=v0.8.0
LT_PYYAML_VERSION=6.0.3
LT_KUBERNETES_VALIDATE_VERSION=1.37.0
# The Kubernetes versions every render is validated against: the oldest the chart is tested on
# and a recent one.
LT_K8S_VERSIONS="1.31.0 1.35.0"

LT_TOOLS="${XDG_CACHE_HOME:-$HOME/.cache}/lambda-trends/tools"
LT_TOOLS_BIN="$LT_TOOLS/bin"
LT_HELM="$LT_TOOLS_BIN/helm"
LT_KUBECONFORM="$LT_TOOLS_BIN/kubeconform"
LT_PY="$LT_TOOLS/venv/bin/python"
LT_K8S_SCHEMAS="$LT_TOOLS/kubernetes-json-schema/$LT_KUBERNETES_VALIDATE_VERSION"

# The module version a Go binary was built from ("" if it is missing or not a Go binary).
lt_go_binary_version() {
  [ -x "$1" ] || return 0
  go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'
}

# go install <module>/cmd/<name>@<version> into $LT_TOOLS_BIN, unless already there.
lt_go_tool() {
  local module=$1 cmd=$2 version=$3 bin="$LT_TOOLS_BIN/$(basename "$2")"
  if [ "$(lt_go_binary_version "$bin")" = "$version" ]; then
    echo "$(basename "$cmd") $version: cached"
    return
  fi
  echo "$(basename "$cmd") $version: building from the Go module proxy (a few minutes the first time)"
  mkdir -p "$LT_TOOLS_BIN"
  GOBIN="$LT_TOOLS_BIN" go install "$module/$cmd@$version"
}

lt_install_helm_tools() {
  command -v go >/dev/null || { echo "go is required to build helm and kubeconform" >&2; return 1; }
  lt_go_tool helm.sh/helm/v3 cmd/helm "$LT_HELM_VERSION"
  lt_go_tool github.com/yannh/kubeconform cmd/kubeconform "$LT_KUBECONFORM_VERSION"

  local stamp="$LT_TOOLS/venv/.lt-pyyaml-$LT_PYYAML_VERSION"
  if [ -f "$stamp" ] && [ -x "$LT_PY" ]; then
    echo "python venv (PyYAML $LT_PYYAML_VERSION): cached"
  else
    echo "python venv: installing PyYAML $LT_PYYAML_VERSION from PyPI"
    python3 -m venv "$LT_TOOLS/venv"
    "$LT_PY" -m pip install --quiet --disable-pip-version-check "PyYAML==$LT_PYYAML_VERSION"
    touch "$stamp"
  fi

  local v missing=0
  for v in $LT_K8S_VERSIONS; do
    [ -f "$LT_K8S_SCHEMAS/v$v-local-strict/_definitions.json" ] || missing=1
  done
  if [ "$missing" = 0 ]; then
    echo "Kubernetes JSON schemas ($LT_K8S_VERSIONS, kubernetes-validate $LT_KUBERNETES_VALIDATE_VERSION): cached"
  else
    echo "Kubernetes JSON schemas: extracting them from kubernetes-validate $LT_KUBERNETES_VALIDATE_VERSION (PyPI)"
    local dl
    dl=$(mktemp -d)
    "$LT_PY" -m pip download --quiet --disable-pip-version-check --no-deps \
      -d "$dl" "kubernetes-validate==$LT_KUBERNETES_VALIDATE_VERSION"
    # shellcheck disable=SC2086
    "$LT_PY" "$LT_ROOT/scripts/helm/k8s_schemas.py" "$dl"/kubernetes_validate-*.whl "$LT_K8S_SCHEMAS" $LT_K8S_VERSIONS
    rm -rf "$dl"
  fi
}
