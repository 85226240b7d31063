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

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
LAYOUTS = ["monolith", "monolith/migrate", "split", "split/migrate"]
# Who calls whom in the split (docs/request-flow.md): every module but auth
# verifies tokens with auth's JWKS; auth calls users; orders runs its saga.
CALLS = {"auth": {"users"}, "users": {"auth"}, "catalog": {"auth"}, "payments": {"auth"},
         "orders": {"auth", "catalog", "payments", "users"}}
PORT = 8080


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
