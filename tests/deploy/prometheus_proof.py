#!/usr/bin/python3
"""The Prometheus proof: every PromQL expression of the dashboard and the alert rules is evaluated
against a real Prometheus that scraped a live attune-server while tests/deploy/workload.py ran.

  1. starts Debian's /usr/bin/prometheus on 127.0.0.1:<free port> with a generated config that
     scrapes the server every second (job "attune", as in alerts.yml) and loads
     deploy/prometheus/alerts.yml;
  2. starts attune-server on free loopback ports (tests/python/attune_test_server.py);
  3. runs the workload parts the selected rows need (ROW_PARTS);
  4. waits for two scrapes and a rule evaluation after the workload, then evaluates, at the
     second scrape's timestamp, through /api/v1/query every panel target, template-variable query and annotation of
     deploy/grafana/attune.json (variables substituted by deploylib.TEST_VARIABLES) and every
     alert expression, and checks /api/v1/rules reports every rule healthy.

An expression fails when Prometheus returns an error (always fatal: syntax does not depend on
rows), or when it returns no series and it belongs to a selected row. Panels and variable
queries must return series as written. Alert and annotation expressions are conditions, empty
while all is well (`up == 0`): they are evaluated as written for errors, and their signals
(deploylib.condition_probes: comparison stripped, `and` split, absent() unwrapped) must return
series. See deploy/README.md, "The Prometheus proof".

    prometheus_proof.py --build build                         # all rows, strict
    prometheus_proof.py --build build --rows Overview,Models,Resources
    prometheus_proof.py --build build --report                # list what fails, exit 0
"""
import argparse
import datetime
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import deploylib as d  # noqa: E402

# The workload parts each dashboard row needs. Alert groups, variables and annotations belong to
# rows through deploylib.ALERT_GROUP_ROWS / VARIABLE_ROWS / ANNOTATION_ROWS.
ROW_PARTS = {"Overview": "models", "Models": "models", "Resources": "models",
             "Training": "train", "Adaptation": "adapt", "Nowcasting": "nowcast"}
PROMETHEUS = "/usr/bin/prometheus"
DEADLINE = 120  # seconds to wait for any one condition before giving up (never a pass criterion)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, fn, deadline=DEADLINE):
    """Polls fn() until it returns a truthy value; raises after `deadline` seconds."""
    end = time.monotonic() + deadline
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise RuntimeError("timed out waiting for " + what)
        time.sleep(0.2)


class Prometheus:
    def __init__(self, workdir, metrics_port):
        self.dir = workdir
        self.port = free_port()
        cfg = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
            "rule_files": [d.ALERTS],
            "scrape_configs": [{"job_name": "attune",
                                "static_configs": [{"targets": ["127.0.0.1:%d" % metrics_port]}]}],
        }
        self.config = os.path.join(workdir, "prometheus.yml")
        with open(self.config, "w") as f:
            yaml.safe_dump(cfg, f)
        self.log = open(os.path.join(workdir, "prometheus.log"), "wb")
        self.proc = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + self.config,
             "--storage.tsdb.path=" + os.path.join(workdir, "tsdb"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_for("prometheus /-/ready", self.ready)

    def ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError("prometheus exited:\n" + self.logtext())
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port, timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def logtext(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def api(self, path, **params):
        url = "http://127.0.0.1:%d/api/v1/%s" % (self.port, path)
        data = urllib.parse.urlencode(params).encode() if params else None
        try:
            with urllib.request.urlopen(url, data=data, timeout=30) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:  # 400/422 carry a JSON error body
            body = e.read()
            try:
                return json.loads(body)
            except ValueError:
                return {"status": "error", "error": "HTTP %d: %s" % (e.code, body[:200])}

    def query(self, expr, at=None):
        return self.api("query", query=expr, time="%.3f" % (at or time.time()))

    def last_scrape(self):
        """Timestamp of the latest successful scrape of attune-server (0 if none). timestamp() of
        a plain selector is the sample's own time; of any other expression it would be the query
        time."""
        r = self.query('up{job="attune"}')
        res = r.get("data", {}).get("result", [])
        if not res or res[0]["value"][1] != "1":
            return 0.0
        r = self.query('timestamp(up{job="attune"})')
        res = r.get("data", {}).get("result", [])
        return float(res[0]["value"][1]) if res else 0.0

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def start_prometheus(work, metrics_port, tries=3):
    """Starts Prometheus, retrying with another port if the free port was taken meanwhile."""
    for attempt in range(tries):
        workdir = os.path.join(work, "prometheus-%d" % attempt)
        os.makedirs(workdir)
        try:
            return Prometheus(workdir, metrics_port)
        except RuntimeError as e:
            if "address already in use" not in str(e) or attempt == tries - 1:
                raise
            print("proof: prometheus port taken, retrying", flush=True)


def collect():
    """[(row, source, expr, probes, label)]: every PromQL item with the row it belongs to and the
    expressions that must return series (probes; [] = none)."""
    items = []
    for q in d.dashboard_queries(d.load_dashboard()):
        if q["kind"] == "panel":
            row = q["row"]
        elif q["kind"] == "variable":
            row = d.VARIABLE_ROWS[q["name"]]
        else:
            row = d.ANNOTATION_ROWS[q["name"]]
        expr = d.substitute(q["expr"], d.TEST_VARIABLES)
        probes = d.condition_probes(expr) if q["kind"] == "annotation" else [expr]
        items.append((row, q["source"], expr, probes, q["label"]))
    for group, rule in d.alert_rules():
        expr = rule["expr"].strip()
        items.append((d.ALERT_GROUP_ROWS[group], "alert %s" % rule["alert"], expr,
                      d.condition_probes(expr), None))
    return items


def evaluate(prom, items, rows, at):
    """Evaluates at Unix time `at`. Returns [(status, row, source, detail)], status one of ok,
    error, empty, empty (not required)."""
    results = []
    for row, source, expr, probes, label in items:
        required = row in rows
        r = prom.query(expr, at)
        if r.get("status") != "success":
            results.append(("error", row, source, "%s\n      %s" % (r.get("error"), expr)))
            continue
        empty = []
        for p in probes:
            pr = r if p == expr else prom.query(p, at)
            if pr.get("status") != "success":
                results.append(("error", row, source, "%s\n      probe %s" % (pr.get("error"), p)))
                break
            series = pr["data"]["result"]
            if label:
                series = [s for s in series if label in s.get("metric", {})]
            if not series:
                empty.append(p)
        else:
            if empty:
                what = "no series%s for %s" % (" with label " + label if label else "",
                                              "; ".join(empty))
                results.append(("empty" if required else "empty (not required)", row, source, what))
            else:
                results.append(("ok", row, source, ""))
    for group in prom.api("rules").get("data", {}).get("groups", []):
        for rule in group["rules"]:
            if rule.get("health") != "ok":
                results.append(("error", d.ALERT_GROUP_ROWS.get(group["name"], "?"),
                                 "rule %s" % rule.get("name"), rule.get("lastError", rule.get("health"))))
    return results


def dump_logs(paths):
    for path in paths:
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                print("---- %s (last 40 lines)\n%s" % (path, "".join(f.readlines()[-40:])), flush=True)


def prove(server, work, build, parts, items, rows):
    """Scrape, run the workload, wait, evaluate. Returns (results, workload exit code)."""
    prom = start_prometheus(work, server.metrics_port)
    try:
        wait_for("the first scrape of attune-server", prom.last_scrape)
        print("proof: prometheus on port %d scrapes attune-server metrics port %d; workload parts: %s"
              % (prom.port, server.metrics_port, ", ".join(parts)), flush=True)
        wl = subprocess.run(
            ["/usr/bin/python3", os.path.join(HERE, "workload.py"), "--server", server.address,
             "--build", build, "--parts", ",".join(parts)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1200)
        print(wl.stdout, end="", flush=True)
        # Two scrapes after the workload, so rate() sees its last counter values, then a rule
        # evaluation after those.
        done = time.time()
        first = wait_for("a scrape after the workload",
                         lambda: (lambda t: t if t > done else 0)(prom.last_scrape()))
        second = wait_for("a second scrape after the workload",
                          lambda: (lambda t: t if t > first else 0)(prom.last_scrape()))

        def evaluated():
            groups = prom.api("rules").get("data", {}).get("groups", [])
            return groups and all(_ts(g.get("lastEvaluation", "")) > first for g in groups)
        wait_for("an alert rule evaluation after the workload", evaluated)
        # The classification itself must work: a syntax error is an error, a metric nobody
        # exports is empty, a live one is ok.
        check = evaluate(prom, [(rows[0], "self-check", e, [e], None) for e in
                                ("sum(up", "attune_no_such_metric", 'up{job="attune"}')], rows, second)
        got = [c[0] for c in check if c[2] == "self-check"]
        if got != ["error", "empty", "ok"]:
            raise RuntimeError("proof self-check: expected error, empty, ok; got %s" % got)
        # Everything is evaluated at the second scrape's timestamp: a later failed scrape (a
        # slow /metrics under load) marks series stale after it, not before.
        return evaluate(prom, items, rows, second), wl.returncode
    finally:
        prom.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.environ.get("ATTUNE_BUILD_DIR", os.path.join(d.REPO, "build")))
    ap.add_argument("--rows", default=os.environ.get("ATTUNE_PROOF_ROWS", ",".join(d.ROWS)),
                    help="dashboard rows whose expressions must return series (default: all)")
    ap.add_argument("--report", action="store_true",
                    help="evaluate everything, print what fails, and exit 0 (for seeing what is missing)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, config)")
    args = ap.parse_args()
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    bad = [r for r in rows if r not in d.ROWS]
    if bad:
        ap.error("unknown rows %s (rows: %s)" % (bad, ", ".join(d.ROWS)))
    build = os.path.abspath(args.build)
    os.environ["ATTUNE_BUILD_DIR"] = build
    sys.path.insert(0, os.path.join(d.REPO, "tests", "python"))
    from attune_test_server import AttuneServer  # noqa: E402  (reads ATTUNE_BUILD_DIR)

    items = collect()
    parts = sorted({ROW_PARTS[r] for r in rows}, key=list(ROW_PARTS.values()).index)
    if args.report:
        parts = sorted(set(ROW_PARTS.values()), key=list(ROW_PARTS.values()).index)
    work = tempfile.mkdtemp(prefix="attune-proof-")
    try:
        with AttuneServer() as server:
            try:
                results, workload_rc = prove(server, work, build, parts, items, rows)
            except Exception:
                dump_logs([os.path.join(server.dir, "server.log")] +
                          sorted(glob.glob(os.path.join(work, "*", "prometheus.log"))))
                raise
    finally:
        if args.keep:
            print("proof: kept " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)

    counts = {}
    for status, row, source, detail in results:
        counts[status] = counts.get(status, 0) + 1
    print("\nproof: %d expressions; rows required to return series: %s" % (len(items), ", ".join(rows)))
    order = {"error": 0, "empty": 1, "empty (not required)": 2, "ok": 3}
    for status, row, source, detail in sorted(results, key=lambda r: (order[r[0]], d.ROWS.index(r[1])
                                                                         if r[1] in d.ROWS else 99)):
        if status != "ok" or args.report:
            print("  %-21s %-11s %s%s" % (status.upper(), row, source, ("\n      " + detail) if detail else ""))
    print("proof: " + ", ".join("%d %s" % (n, s) for s, n in sorted(counts.items(), key=lambda x: order[x[0]])))
    failed = counts.get("error", 0) + counts.get("empty", 0)
    if workload_rc not in (0, None) and not args.report:
        print("proof: the workload exited with %d" % workload_rc)
        failed += 1
    if args.report:
        return 0
    if failed:
        print("proof: FAILED")
        return 1
    print("proof: PASSED")
    return 0


def _ts(rfc3339):
    """Prometheus' lastEvaluation (RFC 3339 with nanoseconds) as Unix seconds."""
    m = re.fullmatch(r"(.+T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", rfc3339)
    if not m:
        return 0.0
    base = datetime.datetime.fromisoformat(m.group(1) + ("+00:00" if m.group(3) == "Z" else m.group(3)))
    return base.timestamp() + float("0." + (m.group(2) or "0"))


if __name__ == "__main__":
    sys.exit(main())
