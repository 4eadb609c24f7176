"""deploy/compose.yaml, checked without a container engine: the three services exist, every
bind-mounted file exists, ports and paths agree with the Dockerfile, the server's listen defaults,
prometheus.yml's scrape target and the Grafana provisioning files."""
import os
import re
import unittest

import yaml

import deploylib as d

COMPOSE = os.path.join(d.DEPLOY, "compose.yaml")


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def duration_seconds(text):
    total = 0.0
    for n, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(text)):
        total += float(n) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def mounts(service):
    """[(source, target, is_bind)] from short-syntax volume entries."""
    out = []
    for v in service.get("volumes", []):
        parts = v.split(":")
        src, target = parts[0], parts[1]
        out.append((src, target, src.startswith((".", "/"))))
    return out


class ComposeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = load(COMPOSE)
        cls.svc = cls.c["services"]

    def test_services(self):
        self.assertEqual(set(self.svc), {"attune", "prometheus", "grafana"})

    def test_bind_mounts_exist_and_named_volumes_are_declared(self):
        declared = set(self.c.get("volumes") or {})
        for name, s in self.svc.items():
            for src, target, bind in mounts(s):
                if bind:
                    self.assertTrue(os.path.exists(os.path.join(d.DEPLOY, src)), "%s: %s" % (name, src))
                else:
                    self.assertIn(src, declared, "%s: named volume %s" % (name, src))

    def test_attune_builds_the_repo_dockerfile(self):
        a = self.svc["attune"]
        ctx = os.path.normpath(os.path.join(d.DEPLOY, a["build"]["context"]))
        self.assertEqual(ctx, d.REPO)
        self.assertTrue(os.path.isfile(os.path.join(ctx, a["build"].get("dockerfile", "Dockerfile"))))

    def test_attune_ports_env_and_shutdown(self):
        a = self.svc["attune"]
        env = a.get("environment", {})
        known = d.server_env_vars()
        for k in env:
            self.assertIn(k, known, "attune-server has no %s" % k)
        defaults = d.server_defaults()
        published = {int(str(p).split(":")[-1]) for p in a["ports"]}
        self.assertLessEqual({d.port_of(defaults["listen"]), d.port_of(defaults["metrics_listen"])}, published)
        self.assertIn("/data", [t for _, t, _ in mounts(a)], "the image's ATTUNE_DATA_DIR is a volume")
        self.assertTrue(a.get("read_only"))
        self.assertIn("/tmp", a.get("tmpfs", []))
        drain = float(env.get("ATTUNE_DRAIN_SECONDS", 10))
        self.assertGreaterEqual(duration_seconds(a.get("stop_grace_period", "10s")), drain + 15)
        test = a["healthcheck"]["test"]
        self.assertEqual(test[:2], ["CMD", "/usr/local/bin/attune"])
        self.assertIn("health", test)

    def test_prometheus_scrapes_attune_and_loads_the_rules(self):
        p = self.svc["prometheus"]
        targets = {t: s for s, t, _ in mounts(p)}
        cfg_arg = [a for a in p["command"] if a.startswith("--config.file=")][0].split("=", 1)[1]
        self.assertEqual(os.path.normpath(os.path.join(d.DEPLOY, targets[cfg_arg])),
                         os.path.join(d.DEPLOY, "prometheus", "prometheus.yml"))
        cfg = load(os.path.join(d.DEPLOY, "prometheus", "prometheus.yml"))
        for rf in cfg.get("rule_files", []):
            inside = os.path.join(os.path.dirname(cfg_arg), rf)
            self.assertIn(inside, targets, "rule file %s is mounted next to the config" % rf)
        job = [j for j in cfg["scrape_configs"] if j["job_name"] == "attune"]
        self.assertEqual(len(job), 1, "alerts.yml expects job=\"attune\"")
        hosts = [t for sc in job[0]["static_configs"] for t in sc["targets"]]
        metrics_port = d.port_of(d.server_defaults()["metrics_listen"])
        self.assertIn("attune:%d" % metrics_port, hosts)

    def test_grafana_is_provisioned_with_the_datasource_and_dashboard(self):
        g = self.svc["grafana"]
        targets = {t: s for s, t, _ in mounts(g)}
        prov = os.path.join(d.DEPLOY, targets["/etc/grafana/provisioning"])
        ds = load(os.path.join(prov, "datasources", "prometheus.yaml"))["datasources"]
        prom = [x for x in ds if x["type"] == "prometheus"]
        self.assertEqual(len(prom), 1)
        self.assertTrue(prom[0].get("isDefault"), "the dashboard's ${datasource} defaults to it")
        self.assertEqual(prom[0]["url"], "http://prometheus:9090")
        self.assertIn("9090:9090", self.svc["prometheus"]["ports"])
        providers = load(os.path.join(prov, "dashboards", "attune.yaml"))["providers"]
        path = providers[0]["options"]["path"]
        dash = [t for t, s in targets.items() if os.path.normpath(os.path.join(d.DEPLOY, s)) == d.DASHBOARD]
        self.assertEqual(len(dash), 1, "deploy/grafana/attune.json is mounted")
        self.assertEqual(os.path.dirname(dash[0]), path, "the dashboard provider reads the mounted file")
        home = g.get("environment", {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
        if home:
            self.assertEqual(home, dash[0])


if __name__ == "__main__":
    unittest.main()
