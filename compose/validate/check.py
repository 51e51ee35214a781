"""Offline checks of OneStop's deployment files, run by compose/validate.sh.

    python check.py compose RENDERED_COMPOSE_YAML   the output of `docker-compose config`
    python check.py k8s KUSTOMIZATION_DIR...         every manifest a kustomization pulls in
    python check.py dockerfile                       compose/Dockerfile against the package
    python check.py selftest                         broken copies must be rejected

Schemas: Kubernetes built-in kinds against the schemas bundled in the PyPI package
kubernetes-validate (strict: unknown fields fail); KEDA and CloudNativePG resources against the
JSON Schemas in schemas/ (the fields OneStop uses). Beyond schemas, the files must agree with
each other and with the code: every referenced ConfigMap, Secret, Deployment and port exists,
probes hit /readyz and /healthz on the admin port, every ONESTOP_* variable is one the code
reads, peer addresses name real services and ports, the KEDA query counts the review queue
that the review service declares. Prints one line per problem; exits 1 if there is any.
"""
import copy
import fnmatch
import json
import os
import re
import sys

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
KUBERNETES_VERSION = os.environ.get("ONESTOP_K8S_VERSION", "1.30.0")
SERVICES = ["gateway", "intake", "review", "routing", "notification", "complaints"]
RPC_PORT = {s: 7100 + i for i, s in enumerate(SERVICES)}
ADMIN_PORT = {s: 9100 + i for i, s in enumerate(SERVICES)}
# Read by the gateway's public HTTP listener, which is being built on another branch; every other
# variable must appear in the code.
PLANNED_VARIABLES: set = set()
CRD_SCHEMAS = {
    ("postgresql.cnpg.io/v1", "Cluster"): "cnpg-cluster.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "keda-scaledobject.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda-triggerauthentication.json",
}

problems = []


def problem(where, message):
    problems.append(f"{where}: {message}")


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


# MARK: facts from the code

def known_variables():
    """Every ONESTOP_* name the Swift code reads (string literals), plus the per-peer patterns."""
    names = set(PLANNED_VARIABLES)
    for folder in ("Services", "Shared"):
        for base, _, files in os.walk(os.path.join(ROOT, folder)):
            for name in files:
                if name.endswith(".swift"):
                    with open(os.path.join(base, name), encoding="utf-8") as f:
                        names.update(re.findall(r'"(ONESTOP_[A-Z0-9_]+)"', f.read()))
    # Built by interpolation: ONESTOP_<SERVICE>_ADDRESSES (ServiceKit), ONESTOP_<SERVICE>_DATABASE_URL (onestop-ops).
    for s in SERVICES:
        names.add(f"ONESTOP_{s.upper()}_ADDRESSES")
        names.add(f"ONESTOP_{s.upper()}_DATABASE_URL")
    return names


def review_queue():
    """The queue name of review's check jobs and the work-queue table, from the sources."""
    store = read("Services/Review/Service/ReviewStore.swift")
    match = re.search(r'static let checkQueue = "([^"]+)"', store)
    migration = read("Shared/Messaging/Migrations/0001_outbox_inbox_jobs.sql")
    table = re.search(r"CREATE TABLE (\w+_jobs)", migration)
    return (match.group(1) if match else None), (table.group(1) if table else None)


def package_products():
    manifest = read("Package.swift")
    services = re.search(r"let services = \[([^\]]*)\]", manifest).group(1)
    products = [s.strip().strip('"').lower() for s in services.split(",") if s.strip()]
    if '.executable(name: "onestop-ops"' in manifest:
        products.append("onestop-ops")
    return products


VARIABLES = known_variables()


def check_variable_names(where, names):
    for name in names:
        if name.startswith("ONESTOP_") and name not in VARIABLES:
            problem(where, f"{name} is read by no OneStop code (a typo?)")


def check_address(where, name, value, known_hosts):
    peer = name[len("ONESTOP_"):-len("_ADDRESSES")].lower()
    for target in str(value).split(","):
        host, _, port = target.strip().rpartition(":")
        if host not in known_hosts:
            problem(where, f"{name}={value}: {host} is not a service here")
        if port != str(RPC_PORT.get(peer)):
            problem(where, f"{name}={value}: {peer} listens on {RPC_PORT.get(peer)}")


# MARK: docker-compose

def check_compose(rendered_path):
    with open(rendered_path, encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    services = compose.get("services", {})
    where = "docker-compose.yml"
    for s in SERVICES:
        if f"{s}-db" not in services:
            problem(where, f"no {s}-db (a Postgres per service)")
        elif not str(services[f"{s}-db"].get("image", "")).startswith("postgres:16"):
            problem(where, f"{s}-db is not postgres:16")
        if s not in services:
            problem(where, f"no {s} service")
    for required in ("review-worker", "mailpit", "sms-sink"):
        if required not in services:
            problem(where, f"no {required} service")
    worker = services.get("review-worker", {})
    if int(worker.get("deploy", {}).get("replicas", 0)) < 1:
        problem(where, "review-worker has no deploy.replicas")
    if worker.get("command") != ["review", "worker"]:
        problem(where, "review-worker does not run `review worker`")
    gateway_ports = [str(p.get("target") if isinstance(p, dict) else p) for p in services.get("gateway", {}).get("ports", [])]
    if not any(p == "8080" or p.endswith(":8080") for p in gateway_ports):
        problem(where, f"the gateway's HTTP port 8080 is not published ({gateway_ports})")
    for name, service in services.items():
        w = f"{where} {name}"
        env = service.get("environment", {}) or {}
        check_variable_names(w, env)
        for key, value in env.items():
            if key.endswith("_ADDRESSES") and key.startswith("ONESTOP_"):
                check_address(w, key, value, services)
        for dependency in (service.get("depends_on") or {}):
            if dependency not in services:
                problem(w, f"depends on {dependency}, which does not exist")
        base = name[: -len("-worker")] if name.endswith("-worker") else name
        if base in SERVICES:
            if service.get("image") is None:
                problem(w, "no image")
            if env.get("ONESTOP_RPC_HOST", "0.0.0.0") != "0.0.0.0" or env.get("ONESTOP_ADMIN_HOST", "0.0.0.0") != "0.0.0.0":
                problem(w, "listens on loopback only")
            admin = str(env.get("ONESTOP_ADMIN_PORT", ""))
            if admin != str(ADMIN_PORT[base]):
                problem(w, f"ONESTOP_ADMIN_PORT={admin}, expected {ADMIN_PORT[base]}")
            test = " ".join(service.get("healthcheck", {}).get("test", []))
            if f"127.0.0.1:{admin}/readyz" not in test:
                problem(w, f"health check `{test}` is not /readyz on the admin port {admin}")
            url = str(env.get("ONESTOP_DATABASE_URL", ""))
            if f"@{base}-db:5432/onestop_{base}" not in url:
                problem(w, f"ONESTOP_DATABASE_URL={url} is not its own database {base}-db")
            if f"{base}-db" not in (service.get("depends_on") or {}):
                problem(w, f"does not wait for {base}-db")
            if "ONESTOP_SERVICE_SECRET" not in env:
                problem(w, "no ONESTOP_SERVICE_SECRET (env/common.env)")
            if "PGPASSWORD" not in env:
                problem(w, "no PGPASSWORD for its database (env/<service>-db.env)")
    notification = services.get("notification", {}).get("environment", {}) or {}
    if "mailpit" not in str(notification.get("ONESTOP_SMTP_URL")) or "sms-sink" not in str(notification.get("ONESTOP_SMS_URL")):
        problem(where, "notification does not send to mailpit and sms-sink")
    if (services.get("review", {}).get("environment") or {}).get("ONESTOP_REVIEW_WORKER_CONCURRENCY") is None:
        problem(where, "review does not say how many checks it runs itself")
    # Env files: each real one is git-ignored and has a committed example.
    raw = yaml.safe_load(read("compose/docker-compose.yml"))
    for name, service in raw.get("services", {}).items():
        files = service.get("env_file") or []
        for path in [files] if isinstance(files, str) else files:
            if not os.path.exists(os.path.join(ROOT, "compose", path + ".example")):
                problem(f"{where} {name}", f"env file {path} has no committed {path}.example")


# MARK: Kubernetes

def load_kustomization(directory, seen=None):
    """The documents a kustomization pulls in (resources only, recursively), namespaced."""
    seen = seen if seen is not None else set()
    directory = os.path.abspath(directory)
    if directory in seen:
        problem(directory, "kustomization cycle")
        return []
    seen.add(directory)
    path = os.path.join(directory, "kustomization.yaml")
    with open(path, encoding="utf-8") as f:
        kustomization = yaml.safe_load(f)
    rel = os.path.relpath(path, ROOT)
    for key in kustomization:
        if key not in ("apiVersion", "kind", "namespace", "labels", "images", "resources"):
            problem(rel, f"`{key}` is not understood by this checker; extend check.py")
    documents = []
    for resource in kustomization.get("resources", []):
        target = os.path.join(directory, resource)
        if os.path.isdir(target):
            documents += load_kustomization(target, seen)
        elif os.path.isfile(target):
            with open(target, encoding="utf-8") as f:
                for doc in yaml.safe_load_all(f):
                    if doc:
                        documents.append((os.path.relpath(target, ROOT), doc))
        else:
            problem(rel, f"resource {resource} does not exist")
    namespace = kustomization.get("namespace")
    for _, doc in documents:
        if namespace and doc.get("kind") != "Namespace":
            doc.setdefault("metadata", {})["namespace"] = namespace
    # Every manifest in the folder is listed (a forgotten file would silently not deploy).
    listed = {os.path.normpath(os.path.join(directory, r)) for r in kustomization.get("resources", [])}
    for name in sorted(os.listdir(directory)):
        full = os.path.join(directory, name)
        if name.endswith(".yaml") and name != "kustomization.yaml" and full not in listed:
            problem(rel, f"{name} is not listed in resources")
        if os.path.isdir(full) and full not in listed and not os.path.exists(os.path.join(full, "kustomization.yaml")):
            for sub in sorted(os.listdir(full)):
                if sub.endswith(".yaml") and os.path.join(full, sub) not in listed:
                    problem(rel, f"{name}/{sub} is not listed in resources")
    return documents


def pod_spec(doc):
    return doc.get("spec", {}).get("template", {}).get("spec", {})


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def check_k8s(directory):
    import kubernetes_validate

    documents = load_kustomization(directory)
    label = os.path.relpath(directory, ROOT)
    if not documents:
        problem(label, "no resources")
        return
    by_kind = {}
    for path, doc in documents:
        by_kind.setdefault(doc.get("kind"), {})[doc.get("metadata", {}).get("name")] = (path, doc)
        where = f"{path} {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        schema_file = CRD_SCHEMAS.get((doc.get("apiVersion"), doc.get("kind")))
        if schema_file:
            with open(os.path.join(HERE, "schemas", schema_file), encoding="utf-8") as f:
                schema = json.load(f)
            for error in jsonschema.Draft202012Validator(schema).iter_errors(doc):
                problem(where, f"{'/'.join(map(str, error.absolute_path))}: {error.message}")
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            problem(where, f"no schema for {doc.get('apiVersion')} {doc.get('kind')} in Kubernetes {KUBERNETES_VERSION}")
        except kubernetes_validate.ValidationError as error:
            problem(where, str(error).splitlines()[0])
    configmaps, secrets = by_kind.get("ConfigMap", {}), by_kind.get("Secret", {})
    deployments, clusters = by_kind.get("Deployment", {}), by_kind.get("Cluster", {})

    def secret_exists(name):
        # CloudNativePG writes <cluster>-app for each Cluster.
        return name in secrets or (name.endswith("-app") and name[: -len("-app")] in clusters)

    all_hosts = set(by_kind.get("Service", {}))
    for name, (_, cm) in configmaps.items():
        check_variable_names(f"ConfigMap/{name}", cm.get("data", {}))
        for key, value in cm.get("data", {}).items():
            if key.startswith("ONESTOP_") and key.endswith("_ADDRESSES"):
                check_address(f"ConfigMap/{name}", key, value, all_hosts)
    for name, (_, secret) in secrets.items():
        check_variable_names(f"Secret/{name}", secret.get("stringData", {}))

    for name, (path, deployment) in deployments.items():
        where = f"{path} Deployment/{name}"
        spec = pod_spec(deployment)
        pod_labels = deployment["spec"]["template"]["metadata"].get("labels", {})
        if not matches(deployment["spec"]["selector"].get("matchLabels"), pod_labels):
            problem(where, "selector does not match the pod labels")
        security = spec.get("securityContext", {})
        if not security.get("runAsNonRoot"):
            problem(where, "pods may run as root")
        for container in spec.get("containers", []):
            args = container.get("args", [])
            service = args[0] if args else None
            if service not in SERVICES:
                problem(where, f"args {args} do not start a OneStop service")
                continue
            ports = {p.get("name"): p.get("containerPort") for p in container.get("ports", [])}
            env = {e["name"]: e for e in container.get("env", [])}
            check_variable_names(where, env)
            if ports.get("admin") != ADMIN_PORT[service] or ports.get("rpc") != RPC_PORT[service]:
                problem(where, f"ports {ports}; {service} listens on rpc {RPC_PORT[service]}, admin {ADMIN_PORT[service]}")
            if env.get("ONESTOP_ADMIN_PORT", {}).get("value") != str(ports.get("admin")):
                problem(where, "ONESTOP_ADMIN_PORT differs from the admin containerPort")
            for probe, path_expected in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                get = container.get(probe, {}).get("httpGet", {})
                if get.get("path") != path_expected or get.get("port") not in ("admin", ports.get("admin")):
                    problem(where, f"{probe} is not GET {path_expected} on the admin port")
            database = env.get("ONESTOP_DATABASE_URL", {}).get("valueFrom", {}).get("secretKeyRef", {})
            if database.get("name") != f"{service}-db-app" or f"{service}-db" not in clusters:
                problem(where, f"ONESTOP_DATABASE_URL does not come from its own CloudNativePG Cluster {service}-db")
            for e in container.get("env", []):
                ref = e.get("valueFrom", {})
                if "secretKeyRef" in ref and not secret_exists(ref["secretKeyRef"]["name"]):
                    problem(where, f"Secret {ref['secretKeyRef']['name']} does not exist")
                if "configMapKeyRef" in ref and ref["configMapKeyRef"]["name"] not in configmaps:
                    problem(where, f"ConfigMap {ref['configMapKeyRef']['name']} does not exist")
            for source in container.get("envFrom", []):
                if "configMapRef" in source and source["configMapRef"]["name"] not in configmaps:
                    problem(where, f"ConfigMap {source['configMapRef']['name']} does not exist")
                if "secretRef" in source and not secret_exists(source["secretRef"]["name"]):
                    problem(where, f"Secret {source['secretRef']['name']} does not exist")
            if pod_labels.get("app.kubernetes.io/component") == "worker" and args != ["review", "worker"]:
                problem(where, "a worker Deployment that does not run `review worker`")

    for name, (path, service) in by_kind.get("Service", {}).items():
        where = f"{path} Service/{name}"
        targets = [d for d in deployments.values() if matches(service["spec"].get("selector"), d[1]["spec"]["template"]["metadata"].get("labels", {}))]
        if not targets:
            problem(where, "selects no Deployment's pods")
        for target_path, deployment in targets:
            if deployment["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") == "worker":
                problem(where, f"selects review workers ({deployment['metadata']['name']}), which serve no review methods")
            names = {p.get("name") for c in pod_spec(deployment)["containers"] for p in c.get("ports", [])}
            for port in service["spec"].get("ports", []):
                if port.get("targetPort") not in names:
                    problem(where, f"targetPort {port.get('targetPort')} is no container port of {deployment['metadata']['name']}")
        if name in SERVICES:
            ports = {p.get("name"): p.get("port") for p in service["spec"].get("ports", [])}
            if ports.get("rpc") != RPC_PORT[name]:
                problem(where, f"rpc port {ports.get('rpc')}, peers expect {RPC_PORT[name]}")
    for s in SERVICES:
        if s not in deployments:
            problem(label, f"no Deployment {s}")
        if s not in by_kind.get("Service", {}):
            problem(label, f"no Service {s}")
        if f"{s}-config" not in configmaps:
            problem(label, f"no ConfigMap {s}-config")
    for name, (path, pdb) in by_kind.get("PodDisruptionBudget", {}).items():
        if not any(matches(pdb["spec"]["selector"].get("matchLabels"), d[1]["spec"]["template"]["metadata"].get("labels", {})) for d in deployments.values()):
            problem(f"{path} PodDisruptionBudget/{name}", "selects no Deployment's pods")
    for name in deployments:
        if not any(matches(p[1]["spec"]["selector"].get("matchLabels"), deployments[name][1]["spec"]["template"]["metadata"].get("labels", {}))
                   for p in by_kind.get("PodDisruptionBudget", {}).values()):
            problem(label, f"Deployment {name} has no PodDisruptionBudget")

    # Review workers: scaled by KEDA on the review queue, or by a CPU HPA; never both.
    scaled = by_kind.get("ScaledObject", {})
    hpas = by_kind.get("HorizontalPodAutoscaler", {})
    if "review-worker" not in deployments:
        problem(label, "no review-worker Deployment")
    if bool(scaled) == bool(hpas):
        problem(label, "review-worker needs exactly one autoscaler: the KEDA ScaledObject or the CPU HPA")
    queue, table = review_queue()
    for name, (path, so) in scaled.items():
        where = f"{path} ScaledObject/{name}"
        if so["spec"]["scaleTargetRef"]["name"] not in deployments:
            problem(where, "scaleTargetRef names no Deployment")
        behavior = so["spec"].get("advanced", {}).get("horizontalPodAutoscalerConfig", {}).get("behavior")
        if behavior is not None:
            hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "x"},
                   "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "x"}, "maxReplicas": 1, "behavior": behavior}}
            try:
                kubernetes_validate.validate(hpa, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as error:
                problem(where, f"advanced.horizontalPodAutoscalerConfig.behavior: {str(error).splitlines()[0]}")
        if so["spec"].get("minReplicaCount", 0) > so["spec"].get("maxReplicaCount", 100):
            problem(where, "minReplicaCount > maxReplicaCount")
        triggers = so["spec"]["triggers"]
        if so["spec"].get("fallback") and any(t["type"] in ("cpu", "memory") for t in triggers):
            problem(where, "KEDA refuses fallback with cpu or memory triggers")
        postgres = [t for t in triggers if t["type"] == "postgresql"]
        if not postgres:
            problem(where, "no postgresql trigger (queue depth)")
        for trigger in postgres:
            query = " ".join(trigger["metadata"].get("query", "").split())
            if not queue or f"queue = '{queue}'" not in query:
                problem(where, f"the query does not count the review queue '{queue}' (ReviewStore.checkQueue)")
            if not table or f"FROM {table}" not in query:
                problem(where, f"the query does not read {table} (Shared/Messaging/Migrations)")
            auth = trigger.get("authenticationRef", {}).get("name")
            if auth not in by_kind.get("TriggerAuthentication", {}):
                problem(where, f"TriggerAuthentication {auth} does not exist")
                continue
            for ref in by_kind["TriggerAuthentication"][auth][1]["spec"].get("secretTargetRef", []):
                if ref["name"] != "review-db-app":
                    problem(where, f"reads {ref['name']}, not review's database Secret review-db-app")
    for name, (path, hpa) in hpas.items():
        target = hpa["spec"]["scaleTargetRef"]["name"]
        if target not in deployments:
            problem(f"{path} HorizontalPodAutoscaler/{name}", "scaleTargetRef names no Deployment")
        else:
            for container in pod_spec(deployments[target][1])["containers"]:
                if "cpu" not in container.get("resources", {}).get("requests", {}):
                    problem(f"{path} HorizontalPodAutoscaler/{name}", "CPU utilisation needs CPU requests on the target")
    return len(documents)


# MARK: Dockerfile

def dockerignored(path, patterns):
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            ignored = not negate
    return ignored


def check_dockerfile():
    where = "compose/Dockerfile"
    text = read("compose/Dockerfile")
    lines = re.sub(r"\\\n", " ", text).splitlines()
    instructions = [l.strip() for l in lines if l.strip() and not l.strip().startswith("#")]
    patterns = [l.strip() for l in read(".dockerignore").splitlines() if l.strip() and not l.startswith("#")]
    args = {}
    stages = []
    for instruction in instructions:
        keyword, _, rest = instruction.partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and "=" in rest and not stages:
            key, _, value = rest.partition("=")
            args[key] = value
        elif keyword == "FROM":
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), rest.split()[0])
            if "${" in image:
                problem(where, f"FROM {rest}: undefined build argument")
            stage = rest.split()[-1] if " AS " in rest.upper() else None
            stages.append(stage)
        elif keyword == "COPY":
            parts = [p for p in rest.split() if not p.startswith("--")]
            from_stage = re.search(r"--from=(\S+)", rest)
            if from_stage:
                if from_stage.group(1) not in stages[:-1]:
                    problem(where, f"COPY --from={from_stage.group(1)}: no earlier stage of that name")
                continue
            for source in parts[:-1]:
                if not os.path.exists(os.path.join(ROOT, source)):
                    problem(where, f"COPY {source}: not in the build context (repository root)")
                elif dockerignored(source, patterns):
                    problem(where, f"COPY {source}: excluded by .dockerignore")
        elif keyword == "USER":
            if rest.split(":")[0] in ("root", "0"):
                problem(where, "runs as root")
        elif keyword == "ENTRYPOINT":
            entry = json.loads(rest)[0]
            if not entry.startswith("/opt/onestop/"):
                problem(where, f"ENTRYPOINT {entry} is not the copied entrypoint")
    if len(stages) < 2:
        problem(where, "not a multi-stage build")
    if not any(i.upper().startswith("USER ") for i in instructions):
        problem(where, "no USER: the image would run as root")
    if not args.get("SWIFT_IMAGE", "").startswith("swift:6"):
        problem(where, "the build stage is not a Swift 6 toolchain image")
    if "debian:bookworm-slim" not in args.get("RUNTIME_IMAGE", ""):
        problem(where, "the run stage is not debian:bookworm-slim")
    for package in ("libpq5", "libcurl4", "ca-certificates"):
        if not re.search(rf"\b{re.escape(package)}\b", text):
            problem(where, f"the run stage lacks {package}")
    loop = re.search(r"for product in ([^;]+); do\s*\\?\s*swift build", text)
    built = loop.group(1).split() if loop else []
    for product in package_products():
        if product not in built:
            problem(where, f"the executable {product} (Package.swift) is not built")
    if '"$bin"/*.resources' not in text:
        problem(where, "the SwiftPM resource bundles (*.resources) are not copied beside the binaries")
    entrypoint = os.path.join(ROOT, "compose", "entrypoint.sh")
    if not os.access(entrypoint, os.X_OK):
        problem(where, "compose/entrypoint.sh is not executable")
    # Every target with resources has its migrations/data in the source tree the image copies.
    manifest = read("Package.swift")
    if "resources:" in manifest and "Services" not in text:
        problem(where, "the Services folder (resources) is not copied")


# MARK: self-test: the checks must reject broken files

def selftest(directory):
    global problems
    import kubernetes_validate  # noqa: F401

    cases = []
    documents = load_kustomization(directory)
    problems = []

    def mutated(change):
        docs = copy.deepcopy(documents)
        change(docs)
        return docs

    def first(docs, kind, name):
        return next(doc for _, doc in docs if doc.get("kind") == kind and doc["metadata"]["name"] == name)

    cases.append(("a misspelt Deployment field", lambda d: first(d, "Deployment", "intake")["spec"].update(replica=2)))
    cases.append(("a probe on the wrong path", lambda d: pod_spec(first(d, "Deployment", "routing"))["containers"][0]["readinessProbe"]["httpGet"].update(path="/ready")))
    cases.append(("a wrong queue in the KEDA query", lambda d: first(d, "ScaledObject", "review-worker")["spec"]["triggers"][0]["metadata"].update(query="SELECT count(*) FROM messaging_jobs WHERE queue = 'review.checks'")))
    cases.append(("an unknown CloudNativePG field", lambda d: first(d, "Cluster", "intake-db")["spec"].update(instance=2)))
    cases.append(("a misspelt variable", lambda d: first(d, "ConfigMap", "onestop-common")["data"].update(ONESTOP_LOG_FORMATT="json")))
    cases.append(("a Service selecting the workers", lambda d: first(d, "Service", "review")["spec"]["selector"].update({"app.kubernetes.io/component": "worker"})))
    failures = 0
    check_documents_only(documents)
    if problems:
        problem("selftest", "the unchanged manifests fail, so the self-test proves nothing")
        return
    for title, change in cases:
        docs = mutated(change)
        problems = []
        check_documents_only(docs)
        if problems:
            print(f"  rejected as expected: {title}: {problems[0].split(': ', 1)[-1]}")
        else:
            print(f"  NOT REJECTED: {title}")
            failures += 1
    problems = []
    if failures:
        problem("selftest", f"{failures} broken manifests passed the checks")


def check_documents_only(documents):
    """check_k8s on documents already loaded (for the self-test)."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "all.yaml"), "w", encoding="utf-8") as f:
            yaml.safe_dump_all([doc for _, doc in documents], f)
        with open(os.path.join(tmp, "kustomization.yaml"), "w", encoding="utf-8") as f:
            yaml.safe_dump({"resources": ["all.yaml"]}, f)
        check_k8s(tmp)


def main():
    mode, arguments = sys.argv[1], sys.argv[2:]
    if mode == "compose":
        check_compose(arguments[0])
        summary = "docker-compose.yml: cross-checks"
    elif mode == "k8s":
        counts = [f"{os.path.relpath(d, ROOT)} ({check_k8s(d)} resources)" for d in arguments]
        summary = f"Kubernetes {KUBERNETES_VERSION} schemas + CRD schemas + cross-checks: " + ", ".join(counts)
    elif mode == "dockerfile":
        check_dockerfile()
        summary = "compose/Dockerfile against Package.swift and .dockerignore"
    elif mode == "selftest":
        selftest(arguments[0])
        summary = "self-test: broken manifests are rejected"
    else:
        sys.exit(f"unknown mode {mode}")
    for line in problems:
        print(f"  FAIL {line}")
    print(f"{'FAIL' if problems else 'ok'}   {summary}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
