"""Renders deploy/k8s/base and every overlay with `kubectl kustomize` (offline, no cluster) and
validates the objects against the server's own sources:
  - container ports and probe ports match the listen addresses the server is configured with
    (its defaults in server/core/config.h, or the ATTUNE_*_LISTEN variables set);
  - probe service names are grpc.health.v1 names server/rpc/server.cpp registers; liveness uses a
    name that stays SERVING while draining, readiness one that flips at SIGTERM; with TLS on,
    probes use the plaintext health-only port (the kubelet's gRPC probe cannot do TLS);
  - every ATTUNE_* variable is one server/core/config.cpp reads; ATTUNE_THREADS comes from the
    CPU limit; terminationGracePeriodSeconds covers shutdown delay + drain + checkpoint;
  - non-root security context, read-only root with a writable /tmp, PVC for the data dir;
  - the Services, ServiceMonitor and HPA point at what exists (labels, port names, the metric is
    in server/metrics/catalog.cpp); the dashboard ConfigMap is deploy/grafana/attune.json;
  - deploy/k8s/distributed: the server part passes all of the above, and the worker ranks are an
    Indexed Job of `attune-server --worker` pods whose coordinator is rank 0's stable DNS name and
    whose probes, ports, variables, security and metrics scraping match the worker's sources."""
import glob
import json
import os
import re
import unittest

import deploylib as d

K8S = os.path.join(d.DEPLOY, "k8s")
# Seconds the server may spend checkpointing running jobs after the drain (DESIGN.md: checkpoint
# at shutdown). terminationGracePeriodSeconds must leave at least this much.
CHECKPOINT_BUDGET_SECONDS = 15
# kubectl apply (client side) stores the object in an annotation limited to 256 KiB.
LAST_APPLIED_LIMIT = 262144
NAMESPACED = {"ServiceAccount", "Service", "StatefulSet", "PodDisruptionBudget", "ServiceMonitor",
              "HorizontalPodAutoscaler", "ConfigMap", "Secret"}


def render(path):
    r = d.run(["kubectl", "kustomize", path])
    if r.returncode != 0:
        raise AssertionError("kubectl kustomize %s failed:\n%s" % (path, r.stderr))
    return d.load_yaml_docs(r.stdout)


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


class Rendering:
    """One rendered kustomization and the checks every rendering must pass."""

    def __init__(self, test, path, objs=None):
        self.t, self.path = test, os.path.relpath(path, d.REPO)
        self.objs = render(path) if objs is None else objs
        self.by_kind = {}
        for o in self.objs:
            self.by_kind.setdefault(o["kind"], []).append(o)

    def one(self, kind):
        objs = self.by_kind.get(kind, [])
        self.t.assertEqual(len(objs), 1, "%s: expected one %s" % (self.path, kind))
        return objs[0]

    def check_all(self):
        for o in self.objs:
            self.t.assertTrue(o.get("apiVersion") and o.get("metadata", {}).get("name"), o)
        sts = self.one("StatefulSet")
        self.check_statefulset(sts)
        svc = self.check_services(sts)
        self.check_servicemonitor(svc)
        self.check_hpa(sts)
        self.check_dashboard()
        return sts

    # ---- workload ---------------------------------------------------------------------------
    def container(self, sts):
        cs = sts["spec"]["template"]["spec"]["containers"]
        attune = [c for c in cs if c["name"] == "attune"]
        self.t.assertEqual(len(attune), 1, "one container named attune")
        return attune[0]

    def env(self, c):
        return {e["name"]: e for e in c.get("env", [])}

    def setting(self, c, var, default):
        e = self.env(c).get(var)
        return e["value"] if e and "value" in e else default

    def check_statefulset(self, sts):
        t, spec = self.t, sts["spec"]
        pod = spec["template"]["spec"]
        t.assertTrue(selects(spec["selector"]["matchLabels"], spec["template"]["metadata"]["labels"]),
                     "the selector matches the pod template")
        headless = [s for s in self.by_kind.get("Service", []) if s["metadata"]["name"] == spec["serviceName"]]
        t.assertEqual(len(headless), 1, "serviceName %s is a Service here" % spec["serviceName"])
        t.assertEqual(headless[0]["spec"].get("clusterIP"), "None", "serviceName is headless")
        c = self.container(sts)
        t.assertTrue(c.get("image"), "image")
        env = self.env(c)

        # Every ATTUNE_* variable is one the server reads.
        known = d.server_env_vars()
        for name in env:
            if name.startswith("ATTUNE_"):
                t.assertIn(name, known, "%s: attune-server has no %s (server/core/config.cpp)" % (self.path, name))

        # Ports: the listen addresses (env or server defaults) are container ports with the
        # conventional names.
        defaults = d.server_defaults()
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        grpc = d.port_of(self.setting(c, "ATTUNE_LISTEN", defaults["listen"]))
        metrics = d.port_of(self.setting(c, "ATTUNE_METRICS_LISTEN", defaults["metrics_listen"]))
        t.assertEqual(ports.get("grpc"), grpc, "container port grpc = the server's --listen port")
        t.assertEqual(ports.get("metrics"), metrics, "container port metrics = --metrics-listen port")
        health_listen = self.setting(c, "ATTUNE_HEALTH_LISTEN", defaults.get("health_listen", ""))
        if health_listen:
            t.assertEqual(ports.get("health"), d.port_of(health_listen), "container port health")

        # Probes: native gRPC, on a container port, with names the server registers.
        registered, always = d.health_services()
        tls = "ATTUNE_TLS_CERT" in env
        if tls:
            t.assertTrue(health_listen, "%s: TLS on the gRPC port needs ATTUNE_HEALTH_LISTEN for the "
                                        "kubelet's plaintext gRPC probes" % self.path)
        probe_port = d.port_of(health_listen) if tls else grpc
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = c.get(kind)
            t.assertIsNotNone(probe, kind)
            g = probe.get("grpc")
            t.assertIsNotNone(g, "%s is a native gRPC probe" % kind)
            t.assertIsInstance(g["port"], int, "gRPC probe ports must be numbers")
            t.assertIn(g["port"], ports.values(), "%s port is a container port" % kind)
            t.assertEqual(g["port"], probe_port, "%s: %s probe on the %s port" %
                          (self.path, kind, "health" if tls else "grpc"))
            service = g.get("service", "")
            t.assertIn(service, registered, "%s service %r is not registered by server/rpc/server.cpp"
                       % (kind, service))
            if kind == "livenessProbe":
                t.assertIn(service, always, "liveness must stay SERVING while draining")
            if kind == "readinessProbe":
                t.assertNotIn(service, always, "readiness must turn NOT_SERVING at SIGTERM")
        startup = c["startupProbe"]
        t.assertGreaterEqual(startup.get("failureThreshold", 3) * startup.get("periodSeconds", 10), 120,
                             "the startup probe allows minutes for restoring models and jobs")

        # Threads from the CPU limit.
        threads = env.get("ATTUNE_THREADS", {}).get("valueFrom", {}).get("resourceFieldRef")
        t.assertIsNotNone(threads, "ATTUNE_THREADS from the downward API")
        t.assertEqual(threads.get("resource"), "limits.cpu")
        t.assertEqual(str(threads.get("divisor")), "1")
        res = c.get("resources", {})
        for side in ("requests", "limits"):
            for r in ("cpu", "memory"):
                t.assertIn(r, res.get(side, {}), "resources.%s.%s" % (side, r))

        # Shutdown budget.
        delay = float(self.setting(c, "ATTUNE_SHUTDOWN_DELAY_SECONDS", 0))
        drain = float(self.setting(c, "ATTUNE_DRAIN_SECONDS", 10))
        pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        t.assertGreaterEqual(pod.get("terminationGracePeriodSeconds", 30),
                             pre_stop + delay + drain + CHECKPOINT_BUDGET_SECONDS,
                             "terminationGracePeriodSeconds >= preStop + shutdown delay + drain + checkpoint")

        # Security.
        psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
        t.assertTrue(psc.get("runAsNonRoot") or csc.get("runAsNonRoot"))
        t.assertEqual(csc.get("runAsUser", psc.get("runAsUser")), 1000)
        t.assertTrue(csc.get("readOnlyRootFilesystem"))
        t.assertIs(csc.get("allowPrivilegeEscalation"), False)
        t.assertEqual(csc.get("capabilities", {}).get("drop"), ["ALL"])
        t.assertIs(pod.get("automountServiceAccountToken"), False)

        # Volumes: the data dir on a PVC from volumeClaimTemplates, /tmp on an emptyDir.
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        data_dir = self.setting(c, "ATTUNE_DATA_DIR", defaults["data_dir"])
        claims = {v["metadata"]["name"]: v for v in spec.get("volumeClaimTemplates", [])}
        t.assertIn(mounts.get(data_dir), claims, "the data dir %s is a volumeClaimTemplate" % data_dir)
        claim = claims[mounts[data_dir]]["spec"]
        t.assertIn("ReadWriteOnce", claim["accessModes"])
        t.assertTrue(claim["resources"]["requests"]["storage"])
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        t.assertIn("emptyDir", volumes.get(mounts.get("/tmp"), {}), "a writable emptyDir /tmp")
        for path, name in mounts.items():
            t.assertTrue(name in volumes or name in claims, "volume %s mounted at %s exists" % (name, path))
        for var in ("ATTUNE_TLS_CERT", "ATTUNE_TLS_KEY", "ATTUNE_TLS_CLIENT_CA", "ATTUNE_TOKENS_FILE"):
            if var in env:
                f = env[var]["value"]
                mount = [p for p in mounts if f.startswith(p.rstrip("/") + "/")]
                t.assertTrue(mount, "%s=%s is on a mounted volume" % (var, f))
                t.assertIn("secret", volumes.get(mounts[mount[0]], {}), "%s comes from a Secret" % var)

    # ---- services and monitoring ---------------------------------------------------------------
    def check_services(self, sts):
        t = self.t
        pod_labels = sts["spec"]["template"]["metadata"]["labels"]
        ports = {p["name"]: p["containerPort"] for p in self.container(sts)["ports"]}
        main = []
        for s in self.by_kind.get("Service", []):
            t.assertTrue(selects(s["spec"]["selector"], pod_labels), "%s selects the pods" % s["metadata"]["name"])
            for p in s["spec"]["ports"]:
                target = p.get("targetPort", p["port"])
                t.assertTrue(target in ports or target in ports.values(),
                             "Service %s port %s targets a container port" % (s["metadata"]["name"], p["name"]))
            names = {p["name"] for p in s["spec"]["ports"]}
            if {"grpc", "metrics"} <= names:
                main.append(s)
        t.assertEqual(len(main), 1, "one Service with ports grpc and metrics")
        by_name = {p["name"]: p for p in main[0]["spec"]["ports"]}
        t.assertIn(by_name["grpc"]["targetPort"], ("grpc", ports["grpc"]))
        t.assertIn(by_name["metrics"]["targetPort"], ("metrics", ports["metrics"]))
        t.assertEqual(main[0]["metadata"]["name"], "attune",
                      "the ServiceMonitor's job label is the Service name; alerts.yml expects job=\"attune\"")
        return main[0]

    def check_servicemonitor(self, svc):
        t = self.t
        sm = self.one("ServiceMonitor")
        t.assertEqual(sm["apiVersion"], "monitoring.coreos.com/v1")
        selected = [s for s in self.by_kind["Service"]
                    if selects(sm["spec"]["selector"]["matchLabels"], s["metadata"].get("labels", {}))]
        t.assertEqual(selected, [svc], "the ServiceMonitor selects exactly the attune Service")
        ep = sm["spec"]["endpoints"]
        t.assertEqual(len(ep), 1)
        t.assertEqual(ep[0]["port"], "metrics")
        t.assertEqual(ep[0].get("interval"), "15s")
        t.assertEqual(ep[0].get("path", "/metrics"), "/metrics")

    def check_hpa(self, sts):
        t = self.t
        hpa = self.one("HorizontalPodAutoscaler")
        t.assertEqual(hpa["apiVersion"], "autoscaling/v2")
        ref = hpa["spec"]["scaleTargetRef"]
        t.assertEqual((ref["kind"], ref["name"]), ("StatefulSet", sts["metadata"]["name"]))
        t.assertNotIn("replicas", sts["spec"], "the HPA owns replicas")
        gauges = {f.name for f in d.catalog().values() if f.kind == "gauge"}
        metrics = hpa["spec"]["metrics"]
        t.assertTrue(metrics)
        for m in metrics:
            t.assertEqual(m["type"], "Pods")
            t.assertIn(m["pods"]["metric"]["name"], gauges, "the HPA metric is a gauge attune exports")
        t.assertIn("attune_train_queue_depth", [m["pods"]["metric"]["name"] for m in metrics])
        t.assertLessEqual(hpa["spec"].get("minReplicas", 1), hpa["spec"]["maxReplicas"])

    def check_dashboard(self):
        t = self.t
        cms = [c for c in self.by_kind.get("ConfigMap", [])
               if c["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
        t.assertEqual(len(cms), 1, "one dashboard ConfigMap labelled grafana_dashboard: \"1\"")
        data = cms[0]["data"]
        with open(d.DASHBOARD, encoding="utf-8") as f:
            t.assertEqual(data.get("attune.json"), f.read(), "the ConfigMap is deploy/grafana/attune.json")
        t.assertLess(len(json.dumps(cms[0])), LAST_APPLIED_LIMIT,
                     "dashboard ConfigMap too big for client-side kubectl apply")


def worker_health_services():
    """grpc.health.v1 names the worker mode registers (server/rpc/train_worker.cpp)."""
    names = set(re.findall(r'SetServingStatus\(\s*"([^"]*)"', d.read("server", "rpc", "train_worker.cpp")))
    if not names:
        raise AssertionError("no SetServingStatus in server/rpc/train_worker.cpp")
    return names


def is_worker(o):
    return o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "worker"


def check_distributed(t, objs, path="deploy/k8s/distributed"):
    """The worker side of a distributed rendering; `objs` is the whole rendering."""
    sts = [o for o in objs if o["kind"] == "StatefulSet"]
    t.assertEqual(len(sts), 1, "%s: rank 0 is the attune StatefulSet" % path)
    sts = sts[0]
    ns = sts["metadata"].get("namespace")
    t.assertTrue(ns, "a namespace")
    for o in objs:
        t.assertEqual(o["metadata"].get("namespace"), ns, "%s %s in the namespace" % (o["kind"], o["metadata"]["name"]))
    rank0 = [c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == "attune"][0]
    rank0_env = {e["name"]: e for e in rank0.get("env", [])}
    t.assertEqual(rank0_env.get("ATTUNE_DIST_HOST", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath"),
                  "status.podIP", "rank 0's Gloo address is its pod IP")

    jobs = [o for o in objs if o["kind"] == "Job"]
    t.assertEqual(len(jobs), 1, "one worker Job")
    job = jobs[0]
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    t.assertEqual(spec.get("completionMode"), "Indexed", "JOB_COMPLETION_INDEX gives the ranks")
    t.assertGreaterEqual(spec["completions"], 1)
    t.assertEqual(spec.get("parallelism"), spec["completions"], "every rank runs at once")
    t.assertIn(pod.get("restartPolicy"), ("OnFailure", "Never"))
    t.assertIs(pod.get("automountServiceAccountToken"), False)
    labels = job["spec"]["template"]["metadata"]["labels"]
    t.assertTrue(is_worker({"metadata": {"labels": labels}}), "worker pods are labelled component: worker")
    sts_labels = sts["spec"]["template"]["metadata"]["labels"]
    for s in objs:
        if s["kind"] != "Service":
            continue
        t.assertFalse(selects(s["spec"]["selector"], sts_labels) and selects(s["spec"]["selector"], labels),
                      "Service %s selects servers and workers alike" % s["metadata"]["name"])
    subdomain = [s for s in objs if s["kind"] == "Service" and s["metadata"]["name"] == pod.get("subdomain")]
    t.assertEqual(len(subdomain), 1, "the pods' subdomain is a Service")
    t.assertEqual(subdomain[0]["spec"].get("clusterIP"), "None", "the subdomain Service is headless")
    t.assertTrue(selects(subdomain[0]["spec"]["selector"], labels), "the subdomain Service selects the workers")

    cs = [c for c in pod["containers"] if c["name"] == "attune"]
    t.assertEqual(len(cs), 1, "one container named attune")
    c = cs[0]
    t.assertEqual(c["image"], rank0["image"], "workers run rank 0's image (same binary, --worker mode)")
    env = {e["name"]: e for e in c.get("env", [])}
    known = d.server_env_vars()
    for name in env:
        if name.startswith("ATTUNE_"):
            t.assertIn(name, known, "%s: attune-server has no %s (server/core/config.cpp)" % (path, name))
    value = lambda name, default=None: env[name]["value"] if name in env and "value" in env[name] else default
    t.assertEqual(value("ATTUNE_WORKER"), "true", "worker mode")
    t.assertNotIn("ATTUNE_RANK", env, "the rank comes from JOB_COMPLETION_INDEX")
    # The coordinator is rank 0 by its StatefulSet DNS name, on its grpc port.
    coordinator = value("ATTUNE_COORDINATOR", "")
    host, _, port = coordinator.rpartition(":")
    headless = sts["spec"]["serviceName"]
    t.assertRegex(host, r"^%s-0\.%s(\.|$)" % (re.escape(sts["metadata"]["name"]), re.escape(headless)),
                  "ATTUNE_COORDINATOR is pod 0 of the StatefulSet through its headless Service")
    rank0_ports = {p["name"]: p["containerPort"] for p in rank0["ports"]}
    t.assertEqual(int(port), rank0_ports["grpc"], "ATTUNE_COORDINATOR uses rank 0's grpc port")
    headless_svc = [s for s in objs if s["kind"] == "Service" and s["metadata"]["name"] == headless][0]
    t.assertTrue(headless_svc["spec"].get("publishNotReadyAddresses"), "rank 0 resolves before it is ready")
    t.assertEqual(env.get("ATTUNE_DIST_HOST", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath"),
                  "status.podIP", "each worker's Gloo address is its pod IP")

    defaults = d.server_defaults()
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    t.assertEqual(ports.get("grpc"), d.port_of(value("ATTUNE_LISTEN", defaults["listen"])))
    t.assertEqual(ports.get("metrics"), d.port_of(value("ATTUNE_METRICS_LISTEN", defaults["metrics_listen"])))
    registered = worker_health_services()
    for kind in ("startupProbe", "livenessProbe"):
        g = c.get(kind, {}).get("grpc")
        t.assertIsNotNone(g, "%s is a native gRPC probe" % kind)
        t.assertEqual(g["port"], ports["grpc"], "%s on the worker's health port" % kind)
        t.assertIn(g.get("service", ""), registered, "%s service is one the worker registers" % kind)

    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    data_dir = value("ATTUNE_DATA_DIR", defaults["data_dir"])
    t.assertIn("emptyDir", volumes.get(mounts.get(data_dir), {}), "the worker's scratch data dir is an emptyDir")
    t.assertIn("emptyDir", volumes.get(mounts.get("/tmp"), {}), "a writable /tmp")
    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    t.assertTrue(psc.get("runAsNonRoot") or csc.get("runAsNonRoot"))
    t.assertTrue(csc.get("readOnlyRootFilesystem"))
    t.assertIs(csc.get("allowPrivilegeEscalation"), False)
    t.assertEqual(csc.get("capabilities", {}).get("drop"), ["ALL"])
    threads = env.get("ATTUNE_THREADS", {}).get("valueFrom", {}).get("resourceFieldRef", {})
    t.assertEqual(threads.get("resource"), "limits.cpu", "ATTUNE_THREADS from the CPU limit")
    for side in ("requests", "limits"):
        for r in ("cpu", "memory"):
            t.assertIn(r, c.get("resources", {}).get(side, {}), "resources.%s.%s" % (side, r))

    # Per-rank metrics: a PodMonitor scrapes every worker's metrics port.
    pms = [o for o in objs if o["kind"] == "PodMonitor"]
    t.assertEqual(len(pms), 1, "one PodMonitor for the workers")
    t.assertEqual(pms[0]["apiVersion"], "monitoring.coreos.com/v1")
    t.assertTrue(selects(pms[0]["spec"]["selector"]["matchLabels"], labels), "the PodMonitor selects the workers")
    t.assertFalse(selects(pms[0]["spec"]["selector"]["matchLabels"], sts_labels), "and not rank 0 (the ServiceMonitor has it)")
    eps = pms[0]["spec"]["podMetricsEndpoints"]
    t.assertEqual([e["port"] for e in eps], ["metrics"])
    t.assertIn("attune_train_allreduce_seconds", d.catalog(), "the per-rank series exist")
    t.assertIn("attune_train_world_size", d.catalog())


class DistributedTest(unittest.TestCase):
    PATH = os.path.join(K8S, "distributed")

    def test_distributed_example(self):
        objs = render(self.PATH)
        # The server part (rank 0) passes every check of a plain deployment.
        Rendering(self, self.PATH, [o for o in objs if not is_worker(o)]).check_all()
        check_distributed(self, objs)

    def test_validation_rejects_broken_worker_manifests(self):
        objs = render(self.PATH)

        def container(o):
            return o["spec"]["template"]["spec"]["containers"][0]

        def set_env(o, name, value):
            es = [e for e in container(o)["env"] if e["name"] != name]
            container(o)["env"] = es + [{"name": name, "value": value}]

        mutations = {
            "not an Indexed Job": lambda o: o["spec"].pop("completionMode"),
            "fewer pods at once than ranks": lambda o: o["spec"].update(parallelism=1),
            "not in worker mode": lambda o: set_env(o, "ATTUNE_WORKER", "false"),
            "coordinator through the load-balanced Service": lambda o: set_env(o, "ATTUNE_COORDINATOR", "attune:50051"),
            "coordinator on the metrics port": lambda o: set_env(o, "ATTUNE_COORDINATOR",
                                                                 "attune-0.attune-headless:9464"),
            "a fixed rank for every pod": lambda o: set_env(o, "ATTUNE_RANK", "1"),
            "unknown ATTUNE_ variable": lambda o: set_env(o, "ATTUNE_NO_SUCH_FLAG", "1"),
            "probe on a name the worker does not register":
                lambda o: container(o)["livenessProbe"]["grpc"].update(service="attune.v1.ModelService"),
            "Gloo on the pod's host name": lambda o: set_env(o, "ATTUNE_DIST_HOST", ""),
            "writable root": lambda o: container(o)["securityContext"].update(readOnlyRootFilesystem=False),
        }
        for what, mutate in mutations.items():
            with self.subTest(mutation=what):
                broken = json.loads(json.dumps(objs))
                for o in broken:
                    if o["kind"] == "Job":
                        mutate(o)
                with self.assertRaises(AssertionError):
                    check_distributed(self, broken)


class KustomizeTest(unittest.TestCase):
    def test_base(self):
        r = Rendering(self, os.path.join(K8S, "base"))
        r.check_all()
        for o in r.objs:
            self.assertNotIn("namespace", o["metadata"], "the base leaves the namespace to overlays")

    def test_overlays(self):
        overlays = sorted(glob.glob(os.path.join(K8S, "overlays", "*", "kustomization.yaml")))
        self.assertTrue(overlays)
        for k in overlays:
            with self.subTest(overlay=os.path.basename(os.path.dirname(k))):
                r = Rendering(self, os.path.dirname(k))
                sts = r.check_all()
                ns = sts["metadata"].get("namespace")
                self.assertTrue(ns, "overlays set a namespace")
                for o in r.objs:
                    if o["kind"] in NAMESPACED:
                        self.assertEqual(o["metadata"].get("namespace"), ns, o["metadata"]["name"])
                image = r.container(sts)["image"]
                self.assertRegex(image, r":[\w.-]+$")
                self.assertFalse(image.endswith(":latest"), "overlays pin the image tag")

    def test_example_overlay_shows_tls_with_health_port(self):
        r = Rendering(self, os.path.join(K8S, "overlays", "example"))
        c = r.container(r.one("StatefulSet"))
        env = r.env(c)
        self.assertIn("ATTUNE_TLS_CERT", env)
        self.assertIn("ATTUNE_HEALTH_LISTEN", env)
        base = Rendering(self, os.path.join(K8S, "base")).one("StatefulSet")
        size = lambda s: s["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
        self.assertNotEqual(size(r.one("StatefulSet")), size(base), "the example resizes the volume")

    def test_validation_rejects_broken_manifests(self):
        """The checks are not vacuous: each mutation of the rendered base must be caught."""
        base = os.path.join(K8S, "base")
        objs = render(base)

        def container(o):
            return o["spec"]["template"]["spec"]["containers"][0]

        def env(o, name, value):
            container(o).setdefault("env", []).append({"name": name, "value": value})

        mutations = {
            "probe on a service the server does not register":
                ("StatefulSet", lambda o: container(o)["readinessProbe"]["grpc"].update(service="attune.v1.Nope")),
            "liveness on a name that flips while draining":
                ("StatefulSet", lambda o: container(o)["livenessProbe"]["grpc"].update(service="")),
            "probe on a port that is not a container port":
                ("StatefulSet", lambda o: container(o)["livenessProbe"]["grpc"].update(port=50099)),
            "unknown ATTUNE_ variable":
                ("StatefulSet", lambda o: env(o, "ATTUNE_NO_SUCH_FLAG", "1")),
            "grpc port differs from ATTUNE_LISTEN":
                ("StatefulSet", lambda o: env(o, "ATTUNE_LISTEN", "0.0.0.0:6000")),
            "TLS without a health port":
                ("StatefulSet", lambda o: env(o, "ATTUNE_TLS_CERT", "/data/tls.crt")),
            "grace period shorter than the drain":
                ("StatefulSet", lambda o: o["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=20)),
            "root user":
                ("StatefulSet", lambda o: container(o)["securityContext"].update(runAsUser=0)),
            "ServiceMonitor selecting nothing":
                ("ServiceMonitor", lambda o: o["spec"]["selector"]["matchLabels"].update(x="y")),
            "HPA on a metric the server does not export":
                ("HorizontalPodAutoscaler", lambda o: o["spec"]["metrics"][0]["pods"]["metric"].update(
                    name="attune_queue_depth")),
        }
        for what, (kind, mutate) in mutations.items():
            with self.subTest(mutation=what):
                broken = json.loads(json.dumps(objs))
                for o in broken:
                    if o["kind"] == kind:
                        mutate(o)
                with self.assertRaises(AssertionError):
                    Rendering(self, base, broken).check_all()


if __name__ == "__main__":
    unittest.main()
