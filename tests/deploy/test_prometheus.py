"""Prometheus config and alert rules: promtool check config / check rules / test rules, and that
the unit tests cover every alert both firing and not firing, that every alert is documented in
deploy/README.md, and that every rule group is assigned to a dashboard row for the proof test."""
import os
import re
import unittest

import yaml

import deploylib as d

PROM = os.path.join(d.DEPLOY, "prometheus")


class PromtoolTest(unittest.TestCase):
    def promtool(self, *args):
        r = d.run(["promtool"] + list(args), cwd=PROM)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def test_check_config(self):
        out = self.promtool("check", "config", "prometheus.yml")
        self.assertIn("1 rule files found", out)

    def test_check_rules(self):
        self.promtool("check", "rules", "alerts.yml")

    def test_rule_unit_tests(self):
        self.assertIn("SUCCESS", self.promtool("test", "rules", "alerts_test.yml"))


class AlertRulesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rules = d.alert_rules()
        with open(os.path.join(PROM, "alerts_test.yml")) as f:
            cls.tests = yaml.safe_load(f)
        with open(os.path.join(d.DEPLOY, "README.md")) as f:
            cls.readme = f.read()

    def test_required_alerts_exist(self):
        exprs = {r["alert"]: r["expr"] for _, r in self.rules}
        need = {"up{": "server down", "grpc_server_handled_total": "error ratio",
                'attune_train_jobs{job="attune",state="failed"}': "job failed",
                "attune_checkpoint_last_success_timestamp_seconds": "checkpoint stale",
                "attune_drift_events_total": "drift storm"}
        for needle, what in need.items():
            self.assertTrue(any(needle in e for e in exprs.values()), "no %s alert" % what)

    def test_each_alert_fires_and_stays_quiet_in_unit_tests(self):
        cases = {}
        for group in self.tests["tests"]:
            for case in group.get("alert_rule_test", []):
                cases.setdefault(case["alertname"], set()).add(bool(case.get("exp_alerts")))
        for _, rule in self.rules:
            self.assertEqual(cases.get(rule["alert"]), {True, False},
                             "alerts_test.yml needs a firing and a non-firing case for %s" % rule["alert"])

    def test_alerts_are_documented_and_routed(self):
        anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
                   for h in re.findall(r"^#+ (.*)$", self.readme, re.M)}
        for group, rule in self.rules:
            with self.subTest(alert=rule["alert"]):
                self.assertIn(group, d.ALERT_GROUP_ROWS, "add group %s to deploylib.ALERT_GROUP_ROWS" % group)
                self.assertIn(rule["labels"].get("severity"), ("critical", "warning", "info"))
                ann = rule.get("annotations", {})
                for key in ("summary", "description", "runbook"):
                    self.assertTrue(ann.get(key), "%s has no %s" % (rule["alert"], key))
                anchor = ann["runbook"].split("#", 1)[1]
                self.assertIn(anchor, anchors, "deploy/README.md has no section for %s" % rule["alert"])

    def test_conditions_have_probes(self):
        """The proof test evaluates each alert's signal without its threshold; make sure the
        split finds a signal that is not the whole condition (else `up == 0` would need a failure)."""
        for _, rule in self.rules:
            probes = d.condition_probes(rule["expr"])
            self.assertTrue(probes, rule["alert"])
            for p in probes:
                toks = d.tokenize(p)
                top = {toks[i][1] for i in d._top_level(toks)}
                self.assertFalse(top & d.COMPARISONS, "%s: probe %r still compares" % (rule["alert"], p))
                self.assertNotEqual(toks[0][1], "absent", rule["alert"])


if __name__ == "__main__":
    unittest.main()
