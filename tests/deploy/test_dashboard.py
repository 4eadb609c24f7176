"""Static checks of deploy/grafana/attune.json (no server, no Prometheus needed):
structure Grafana needs, the rows and panels issue 7 asks for, PromQL syntax (through promtool),
and that every metric and label it queries is one attune-server exports (server/metrics/catalog.*),
and that it shows every family the server exports."""
import json
import os
import tempfile
import unittest

import yaml

import deploylib as d

# Families each row must chart (issue 7, "Dashboards and alerts").
REQUIRED = {
    "Overview": ["up", "attune_build_info", "grpc_server_started_total", "grpc_server_handled_total",
                 "grpc_server_handling_seconds_bucket"],
    "Models": ["attune_models", "attune_model_load_seconds_bucket", "attune_inference_samples_total",
               "attune_inference_seconds_bucket"],
    "Training": ["attune_train_jobs", "attune_train_steps_total", "attune_train_loss",
                 "attune_train_learning_rate", "attune_train_batch_size",
                 "attune_checkpoint_last_success_timestamp_seconds", "attune_train_queue_depth"],
    "Adaptation": ["attune_adapt_sessions", "attune_adapt_samples_total", "attune_adapt_entropy_bucket",
                   "attune_adapt_resets_total", "attune_adapt_fisher_penalty"],
    "Nowcasting": ["attune_nowcast_abs_error_bucket", "attune_drift_statistic", "attune_drift_threshold",
                   "attune_retrain_total", "attune_nowcast_window_samples",
                   "attune_nowcast_train_cpu_seconds_total"],
    "Resources": ["process_cpu_seconds_total", "process_resident_memory_bytes"],
}
# Families the server exports that the dashboard deliberately does not chart (none today).
NOT_CHARTED = set()
ERROR_RATIO = ('sum(rate(grpc_server_handled_total{grpc_code!="OK"}[5m]))'
               '/sum(rate(grpc_server_started_total[5m]))')
DS = {"type": "prometheus", "uid": "${datasource}"}


def compact(expr):
    """Expression without whitespace and without the dashboard's job/instance filters."""
    e = "".join(expr.split())
    for f in (',job=~"$job",instance=~"$instance"', 'job=~"$job",instance=~"$instance"'):
        e = e.replace(f, "")
    return e.replace("{}", "")


class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = d.load_dashboard()
        cls.queries = d.dashboard_queries(cls.db)
        cls.series = d.series_names(d.catalog())

    def test_top_level_fields(self):
        self.assertGreaterEqual(self.db["schemaVersion"], 36)
        self.assertTrue(self.db.get("uid") and self.db.get("title"))
        self.assertIsNone(self.db.get("id"), "exported dashboards carry id null")

    def test_template_variables(self):
        by_name = {v["name"]: v for v in self.db["templating"]["list"]}
        ds = by_name.get("datasource")
        self.assertIsNotNone(ds, "a ${datasource} variable")
        self.assertEqual((ds["type"], ds["query"]), ("datasource", "prometheus"))
        for name in ("instance", "model"):
            self.assertIn(name, by_name)
        for name, v in by_name.items():
            if v["type"] == "query":
                self.assertEqual(v["datasource"], DS, name)
                self.assertIn(name, d.VARIABLE_ROWS, "add $%s to deploylib.VARIABLE_ROWS" % name)
                if v.get("includeAll"):
                    self.assertEqual(v.get("allValue"), ".*", "$%s is used with =~" % name)

    def test_rows_in_order(self):
        rows = [p["title"] for p in sorted(self.db["panels"], key=lambda p: p["gridPos"]["y"])
                if p["type"] == "row"]
        self.assertEqual(rows, d.ROWS)
        counts = {}
        for row, _ in d.panels_by_row(self.db):
            self.assertIsNotNone(row, "every panel sits under a row")
            counts[row] = counts.get(row, 0) + 1
        self.assertEqual(set(counts), set(d.ROWS), "every row has panels")

    def test_panels(self):
        ids, cells = set(), []
        for p in self.db["panels"]:
            for q in [p] + p.get("panels", []):
                self.assertNotIn(q["id"], ids, "duplicate panel id")
                ids.add(q["id"])
        for row, p in d.panels_by_row(self.db):
            g = p["gridPos"]
            self.assertLessEqual(g["x"] + g["w"], 24, p["title"])
            for (x, y, w, h, t) in cells:
                overlap = x < g["x"] + g["w"] and g["x"] < x + w and y < g["y"] + g["h"] and g["y"] < y + h
                self.assertFalse(overlap, "%r overlaps %r" % (p["title"], t))
            cells.append((g["x"], g["y"], g["w"], g["h"], p["title"]))
            self.assertEqual(p.get("datasource"), DS, p["title"])
            self.assertTrue(p.get("targets"), "%r has no query" % p["title"])
            refs = [t["refId"] for t in p["targets"]]
            self.assertEqual(len(refs), len(set(refs)), p["title"])
            for t in p["targets"]:
                self.assertEqual(t.get("datasource"), DS, p["title"])
                self.assertTrue(t.get("expr", "").strip(), p["title"])

    def test_annotations(self):
        names = [a["name"] for a in self.db["annotations"]["list"] if "expr" in a]
        self.assertTrue(names)
        for n in names:
            self.assertIn(n, d.ANNOTATION_ROWS, "add annotation %r to deploylib.ANNOTATION_ROWS" % n)
        drift = [q for q in self.queries if q["kind"] == "annotation"
                 and "attune_drift_events_total" in q["expr"]]
        self.assertTrue(drift, "drift events are drawn as annotations")

    def test_metrics_and_labels_exist(self):
        """Every series and label a query names is one attune-server (or Prometheus) produces."""
        exprs = [(q["source"], q["expr"]) for q in self.queries]
        exprs += [("alert " + r["alert"], r["expr"]) for _, r in d.alert_rules()]
        for source, expr in exprs:
            with self.subTest(source=source):
                selectors, grouping = d.scan(expr)
                self.assertTrue(selectors, "no metric in %r" % expr)
                known = set(d.TARGET_LABELS)
                for names, labels in selectors:
                    for name in names:
                        self.assertIn(name, self.series, "%s: %s is not exported by attune-server "
                                      "(server/metrics/catalog.cpp)" % (source, name))
                        fam_labels = self.series[name]
                        if fam_labels is None:
                            continue
                        known |= fam_labels
                        self.assertLessEqual(labels, fam_labels | {"__name__"},
                                             "%s: %s has no label %s" % (source, name,
                                                                         sorted(labels - fam_labels)))
                self.assertLessEqual(grouping, known, "%s groups by a label no selected series has: %s"
                                     % (source, sorted(grouping - known)))

    def test_rows_chart_what_issue_7_asks(self):
        used = {}
        for q in self.queries:
            if q["kind"] == "panel":
                for names, _ in d.scan(q["expr"])[0]:
                    used.setdefault(q["row"], set()).update(names)
        for row, families in REQUIRED.items():
            for f in families:
                self.assertIn(f, used.get(row, set()), "row %s should chart %s" % (row, f))
        overview = [compact(q["expr"]) for q in self.queries if q["row"] == "Overview"]
        self.assertIn(ERROR_RATIO, overview, "the error ratio of service.md §4")
        for quantile in ("0.5", "0.95", "0.99"):
            self.assertTrue(any(e.startswith("histogram_quantile(%s," % quantile)
                                and "grpc_server_handling_seconds_bucket" in e for e in overview),
                            "p%s latency" % quantile)
        drift = [q for q in self.queries if "attune_drift_statistic" in q["expr"]]
        panels = {q["source"].rsplit(" (", 1)[0] for q in drift}
        self.assertTrue(any("attune_drift_threshold" in q["expr"] for q in self.queries
                            if q["source"].rsplit(" (", 1)[0] in panels),
                        "drift statistic and threshold share a panel")

    def test_every_exported_family_is_charted(self):
        used = set()
        for q in self.queries:
            for names, _ in d.scan(q["expr"])[0]:
                used |= names
        for fam in d.catalog().values():
            shown = {fam.name} if fam.kind != "histogram" else {
                fam.name + s for s in ("_bucket", "_sum", "_count")}
            if fam.name not in NOT_CHARTED:
                self.assertTrue(shown & used, "the dashboard does not chart %s" % fam.name)

    def test_promql_syntax(self):
        """promtool parses every dashboard expression (variables substituted) as a recording rule."""
        rules = []
        for i, q in enumerate(self.queries):
            expr = d.substitute(q["expr"], d.TEST_VARIABLES)
            rules.append({"record": "dashboard_query_%d" % i, "expr": expr})
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "dashboard_rules.yml")
            with open(path, "w") as f:
                yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
            r = d.run(["promtool", "check", "rules", path])
            msg = r.stdout + r.stderr
            if r.returncode != 0:
                for i, q in enumerate(self.queries):
                    if "dashboard_query_%d" % i in msg or "group 0, rule %d" % (i + 1) in msg:
                        msg += "\n  rule %d = %s: %s" % (i, q["source"], q["expr"])
            self.assertEqual(r.returncode, 0, msg)

    def test_json_is_canonical(self):
        """Two-space indented JSON, as Grafana exports it, so diffs stay readable."""
        with open(d.DASHBOARD, encoding="utf-8") as f:
            text = f.read()
        self.assertEqual(text, json.dumps(self.db, indent=2, ensure_ascii=False) + "\n",
                         "re-indent with: python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
                         "open(sys.argv[1],\"w\").write(json.dumps(d, indent=2, ensure_ascii=False)+\"\\n\")' "
                         "deploy/grafana/attune.json")


if __name__ == "__main__":
    unittest.main()
