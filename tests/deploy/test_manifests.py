"""Cross-checks of k8s/ that kubernetes-validate, checkov and promtool cannot make:
they need shop's own rules, or more than one object or file at a time.

Run by scripts/validate-deploy.sh; alone: `pytest tests/deploy` with PyYAML and
a kubectl (or $KUBECTL) that has `kustomize`.
"""

import json
import os
import pathlib
import re
import subprocess
import urllib.parse

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
LAYOUTS = ["monolith", "monolith/migrate", "split", "split/migrate", "examples/split-with-mesh"]
# Who calls whom in the split (docs/request-flow.md): every module but auth
# verifies tokens with auth's JWKS; auth calls users; orders runs its saga.
CALLS = {"auth": {"users"}, "users": {"auth"}, "catalog": {"auth"}, "payments": {"auth"},
         "orders": {"auth", "catalog", "payments", "users"}}
PORT = 8080
PROMETHEUS = K8S / "monitoring/prometheus"
MONITORING_MD = ROOT / "docs/monitoring.md"
# Where runbook_url points: docs/monitoring.md on the repository (alerts.yml).
RUNBOOKS = "https://github.com/shop/shop/blob/main/docs/monitoring.md"
# Linkerd's proxies take meshed connections on this port (k8s/split/components/linkerd-mesh).
LINKERD_INBOUND = 4143


def render(layout):
    out = subprocess.run([*os.environ.get("KUBECTL", "kubectl").split(), "kustomize", str(K8S / layout)],
                         check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.fixture(scope="module", params=LAYOUTS)
def layout(request):
    return request.param, render(request.param)


@pytest.fixture(scope="module")
def split():
    return render("split")


def of_kind(docs, *kinds):
    return [d for d in docs if d["kind"] in kinds]


def named(docs, kind):
    return {d["metadata"]["name"]: d for d in of_kind(docs, kind)}


def containers(docs):
    for w in of_kind(docs, "Deployment", "Job"):
        for c in w["spec"]["template"]["spec"]["containers"]:
            yield w, c


def selects(selector, docs):
    """Whether a label selector matches the pods of some Deployment in docs."""
    return any(selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()
               for w in of_kind(docs, "Deployment"))


def test_no_secret_is_rendered(layout):
    assert not of_kind(layout[1], "Secret"), "Secrets are created out of band (k8s/README.md)"


def test_ingress_routes_only_public_prefixes(layout):
    services = named(layout[1], "Service")
    for ing in of_kind(layout[1], "Ingress"):
        for rule in ing["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                assert p["path"].startswith(("/api/v1", "/docs", "/api-docs")), p["path"]
                assert not re.search(r"/(internal|metrics|health)(/|$)", p["path"]), p["path"]
                backend = p["backend"]["service"]
                ports = [x["name"] for x in services[backend["name"]]["spec"]["ports"]]
                assert backend["port"]["name"] in ports, backend


def test_pods_are_locked_down(layout):
    docs = layout[1]
    for w, c in containers(docs):
        where = f"{w['kind']}/{w['metadata']['name']}"
        tpl = w["spec"]["template"]
        pod = tpl["spec"]
        # The NetworkPolicy shop-ingress admits /internal callers by this label.
        assert tpl["metadata"]["labels"].get("app.kubernetes.io/part-of") == "shop", where
        assert pod["automountServiceAccountToken"] is False, where
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True, where
        assert sc["capabilities"]["drop"] == ["ALL"], where
        # The root filesystem is read-only: /tmp must be an emptyDir.
        tmp = next(m["name"] for m in c["volumeMounts"] if m["mountPath"] == "/tmp")
        assert "emptyDir" in next(v for v in pod["volumes"] if v["name"] == tmp), where
        assert {"cpu", "memory"} <= c["resources"]["requests"].keys(), where
        assert "memory" in c["resources"]["limits"], where
        for ref in c.get("envFrom", []):
            assert ref["configMapRef"]["name"] in named(docs, "ConfigMap"), where
        if w["kind"] == "Deployment":
            assert c["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}, where
            assert c["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}, where


def test_secret_keys_exist_in_the_example(layout):
    example = yaml.safe_load((K8S / "examples/shop-secrets.example.yaml").read_text())
    known = {(example["metadata"]["name"], k) for k in example["stringData"]}
    known.add(("shop-auth-signing-key", "signing_key.pem"))  # from a PEM file (k8s/README.md)
    for w, c in containers(layout[1]):
        used = {(e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
                for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}
        volumes = w["spec"]["template"]["spec"]["volumes"]
        used |= {(v["secret"]["secretName"], i["key"]) for v in volumes if "secret" in v for i in v["secret"]["items"]}
        assert used <= known, f"{w['metadata']['name']}: {sorted(used - known)} not in the example"
        # The signing key file, if any, is a mounted key of that Secret.
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        if "SHOP__AUTH__SIGNING_KEY_FILE" in env:
            folder, _, file = env["SHOP__AUTH__SIGNING_KEY_FILE"].rpartition("/")
            mount = next(m["name"] for m in c["volumeMounts"] if m["mountPath"] == folder)
            secret = next(v["secret"] for v in volumes if v["name"] == mount)
            assert file in [i["path"] for i in secret["items"]]


def test_selectors_and_autoscalers_find_their_pods(layout):
    docs = layout[1]
    for s in of_kind(docs, "Service"):
        assert selects(s["spec"]["selector"], docs), s["metadata"]["name"]
    for pdb in of_kind(docs, "PodDisruptionBudget"):
        assert selects(pdb["spec"]["selector"]["matchLabels"], docs), pdb["metadata"]["name"]
    for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
        target = named(docs, "Deployment")[hpa["spec"]["scaleTargetRef"]["name"]]
        assert "replicas" not in target["spec"], "a fixed replica count fights the autoscaler"


def test_split_services_name_the_modules_they_call(split):
    services = named(split, "Service")
    deployments = named(split, "Deployment")
    assert deployments.keys() == CALLS.keys()
    for name, d in deployments.items():
        c = d["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e for e in c["env"]}
        assert c["image"] == f"shop:{name}"
        assert env["SHOP__DATABASE__URL"]["valueFrom"]["secretKeyRef"]["key"] == f"{name}-database-url"
        assert "SHOP__INTERNAL__TOKEN" in env, name
        remotes = {k.split("__")[2].lower(): e["value"] for k, e in env.items() if k.startswith("SHOP__REMOTE__")}
        assert remotes.keys() == CALLS[name], name
        for module, url in remotes.items():
            assert url == f"http://{module}:{PORT}", (name, url)
            assert PORT in [p["port"] for p in services[module]["spec"]["ports"]]
        # Only auth holds the signing key.
        assert ("SHOP__AUTH__SIGNING_KEY_FILE" in env) == (name == "auth"), name
    # auth's Service for the other modules breaks the readiness cycle with users.
    assert services["auth"]["spec"].get("publishNotReadyAddresses") is True
    jobs = {j["spec"]["template"]["spec"]["containers"][0]["image"] for j in of_kind(render("split/migrate"), "Job")}
    assert jobs == {f"shop:{m}" for m in CALLS}, "one migration Job per module"


def test_prometheus_scrapes_the_pods_metrics_port():
    config = yaml.safe_load((K8S / "monitoring/prometheus/prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    job = jobs["shop-pods"]
    namespace = yaml.safe_load((K8S / "base/kustomization.yaml").read_text())["namespace"]
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": [namespace]}}]
    relabel = {r.get("target_label") or r["action"]: r for r in job["relabel_configs"]}
    assert relabel["keep"]["source_labels"] == ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"]
    assert relabel["__address__"]["source_labels"][0] == "__meta_kubernetes_pod_annotation_prometheus_io_port"
    for layout in ("monolith", "split"):
        for d in of_kind(render(layout), "Deployment"):
            tpl = d["spec"]["template"]
            ports = {p["name"]: p["containerPort"] for p in tpl["spec"]["containers"][0]["ports"]}
            ann = tpl["metadata"]["annotations"]
            assert ann["prometheus.io/scrape"] == "true" and ann["prometheus.io/path"] == "/metrics"
            assert ann["prometheus.io/port"] == str(ports["http"]), d["metadata"]["name"]
    # The NetworkPolicy admits Prometheus' namespace (k8s/monitoring) on that port.
    monitoring = yaml.safe_load((K8S / "monitoring/namespace.yaml").read_text())["metadata"]["name"]
    policy = yaml.safe_load((K8S / "base/networkpolicy.yaml").read_text())
    assert any(f.get("namespaceSelector", {}).get("matchLabels") == {"kubernetes.io/metadata.name": monitoring}
               and {"protocol": "TCP", "port": PORT} in rule["ports"]
               for rule in policy["spec"]["ingress"] for f in rule["from"])
    # Every job the alerts, their tests and the dashboard select is scraped.
    texts = [(K8S / "monitoring/prometheus" / f).read_text() for f in ("alerts.yml", "tests.yml")]
    texts.append(json.dumps(json.loads((K8S / "monitoring/grafana/shop-dashboard.json").read_text())))
    used = {j for t in texts for j in re.findall(r'job=\\*"([^"\\]+)', t)}
    assert used and used <= jobs.keys(), used - jobs.keys()


def alerts():
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [r for g in groups for r in g["rules"] if "alert" in r]


def github_anchors(markdown):
    """The anchors GitHub gives the headings of a Markdown file: lower case, spaces
    to hyphens, punctuation other than hyphens and underscores dropped, -1, -2 ...
    for repeats. Fenced code is not headings."""
    anchors, seen = set(), {}
    text = re.sub(r"^```.*?^```", "", markdown, flags=re.S | re.M)
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def test_every_alert_has_a_runbook_in_monitoring_md():
    anchors = github_anchors(MONITORING_MD.read_text())
    for rule in alerts():
        url = rule["annotations"].get("runbook_url", "")
        base, _, anchor = url.partition("#")
        assert base == RUNBOOKS, (rule["alert"], url)
        # One section per alert, named after it.
        assert anchor == rule["alert"].lower(), (rule["alert"], url)
        assert anchor in anchors, f"{rule['alert']}: no heading for #{anchor} in docs/monitoring.md"


def test_every_alert_is_shown_firing_by_the_promtool_tests():
    tests = yaml.safe_load((PROMETHEUS / "tests.yml").read_text())["tests"]
    fired = {t["alertname"] for g in tests for t in g.get("alert_rule_test", []) if t["exp_alerts"]}
    assert {r["alert"] for r in alerts()} <= fired, {r["alert"] for r in alerts()} - fired


def test_the_dashboard_follows_its_conventions():
    dashboard = json.loads((K8S / "monitoring/grafana/shop-dashboard.json").read_text())
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels), "panel ids are unique"
    cells = set()
    for p in panels:
        where = f"panel {p['id']} {p['title']}"
        if p["type"] != "row":
            # Every query goes to the datasource chosen in the variable.
            assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
            assert p["targets"] and all(t["datasource"] == p["datasource"] for t in p["targets"]), where
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, where
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, f"{where} overlaps another panel"
        cells |= mine


def test_the_mesh_overlay_only_adds_the_mesh(split):
    mesh = render("examples/split-with-mesh")
    for d in of_kind(mesh, "Deployment"):
        annotations = d["spec"]["template"]["metadata"]["annotations"]
        assert annotations["linkerd.io/inject"] == "enabled", d["metadata"]["name"]
    # Meshed calls between the services arrive on the proxy's inbound port: some
    # NetworkPolicy must admit the shop pods there, or every call is refused.
    assert any(f.get("podSelector", {}).get("matchLabels") == {"app.kubernetes.io/part-of": "shop"}
               and "namespaceSelector" not in f
               and {"protocol": "TCP", "port": LINKERD_INBOUND} in rule["ports"]
               for policy in of_kind(mesh, "NetworkPolicy")
               if selects(policy["spec"]["podSelector"]["matchLabels"], mesh)
               for rule in policy["spec"]["ingress"] for f in rule["from"])

    # Without the mesh's annotations and its NetworkPolicy, it is the split.
    def without_mesh(docs):
        out = []
        for d in docs:
            if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "shop-linkerd":
                continue
            if d["kind"] == "Deployment":
                d = json.loads(json.dumps(d))
                annotations = d["spec"]["template"]["metadata"]["annotations"]
                for key in [k for k in annotations if "linkerd.io" in k]:
                    del annotations[key]
            out.append(d)
        return sorted(out, key=lambda d: (d["kind"], d["metadata"]["name"]))
    assert without_mesh(mesh) == without_mesh(split)


def test_the_split_exports_spans_to_the_collector(split):
    monitoring = render("monitoring")
    endpoint = named(split, "ConfigMap")["shop-config"]["data"]["SHOP__TELEMETRY__OTLP_ENDPOINT"]
    url = urllib.parse.urlsplit(endpoint)
    service_name, namespace, svc = url.hostname.split(".")
    assert (url.scheme, svc, url.path) == ("http", "svc", ""), endpoint
    assert namespace == yaml.safe_load((K8S / "monitoring/kustomization.yaml").read_text())["namespace"]
    service = named(monitoring, "Service")[service_name]
    assert service["metadata"]["namespace"] == namespace
    port = next(p for p in service["spec"]["ports"] if p["port"] == url.port)
    # shop speaks OTLP/HTTP: the port is the collector's OTLP HTTP receiver.
    collector = named(monitoring, "Deployment")[service_name]
    container = collector["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    config_name = next(v["configMap"]["name"] for v in collector["spec"]["template"]["spec"]["volumes"]
                       if "configMap" in v)
    config = yaml.safe_load(named(monitoring, "ConfigMap")[config_name]["data"]["config.yaml"])
    http = config["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    assert http.rpartition(":")[2] == str(ports[port["targetPort"]]) == str(url.port), (http, port)
    assert selects(service["spec"]["selector"], [collector])
    # The collector's NetworkPolicy admits shop's pods, from the namespace k8s/base deploys to, on that port.
    shop_namespace = yaml.safe_load((K8S / "base/kustomization.yaml").read_text())["namespace"]
    policies = [p for p in of_kind(monitoring, "NetworkPolicy")
                if p["spec"]["podSelector"]["matchLabels"].items() <= collector["spec"]["template"]["metadata"]["labels"].items()]
    assert any(f.get("namespaceSelector", {}).get("matchLabels") == {"kubernetes.io/metadata.name": shop_namespace}
               and {"protocol": "TCP", "port": url.port} in rule["ports"]
               for p in policies for rule in p["spec"]["ingress"] for f in rule["from"]), policies
    # Every exporter of the traces pipeline reaches a Service of this namespace on a port it has,
    # and that Service's pods admit the collector on it.
    for name in config["service"]["pipelines"]["traces"]["exporters"]:
        host, _, target_port = config["exporters"][name]["endpoint"].rpartition(":")
        backend = named(monitoring, "Service")[host]
        assert int(target_port) in [p["port"] for p in backend["spec"]["ports"]], name
        backend_pods = [d for d in of_kind(monitoring, "Deployment") if selects(backend["spec"]["selector"], [d])]
        assert backend_pods, host
        labels = backend_pods[0]["spec"]["template"]["metadata"]["labels"]
        assert any(f.get("podSelector", {}).get("matchLabels", {}).items()
                   <= collector["spec"]["template"]["metadata"]["labels"].items()
                   and "namespaceSelector" not in f
                   and {"protocol": "TCP", "port": int(target_port)} in rule["ports"]
                   for p in of_kind(monitoring, "NetworkPolicy")
                   if p["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
                   for rule in p["spec"]["ingress"] for f in rule["from"]), host
