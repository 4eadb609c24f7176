"""Shared helpers for the deploy tests: what the server really exports and accepts, read from its
sources (so a rename in the server breaks these tests), a small PromQL scanner, and walkers over
the Grafana dashboard and the alert rules.

Sources of truth:
  server/metrics/catalog.cpp        metric family names and types (in declaration order)
  server/metrics/catalog.h          label sets, in the `// {label, ...}` comment of each member
  server/metrics/process_collector.cpp   process_* families
  server/core/config.cpp            flags and their ATTUNE_* environment variables
  server/core/config.h              defaults (listen addresses)
  server/rpc/server.cpp             grpc.health.v1 service names
"""
import json
import os
import re
import subprocess

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(REPO, "deploy")
DASHBOARD = os.path.join(DEPLOY, "grafana", "attune.json")
ALERTS = os.path.join(DEPLOY, "prometheus", "alerts.yml")
ROWS = ["Overview", "Models", "Training", "Adaptation", "Nowcasting", "Resources"]
# Labels Prometheus attaches to every scraped series.
TARGET_LABELS = {"job", "instance"}
# The dashboard row each PromQL source outside the panels belongs to, so that the proof test can
# be restricted to rows explicitly (prometheus_proof.py --rows). A new variable, annotation or
# alert group must be added here (test_dashboard / test_prometheus fail until it is).
VARIABLE_ROWS = {"job": "Overview", "instance": "Overview", "model": "Models", "stream": "Nowcasting"}
ANNOTATION_ROWS = {"Drift events": "Nowcasting"}
ALERT_GROUP_ROWS = {"attune-service": "Overview", "attune-training": "Training",
                    "attune-nowcasting": "Nowcasting"}
# Values the dashboard's variables take in tests: every variable is used as a regex (=~), and
# the interval variables must be long enough for rate() over 1 s scrapes.
TEST_VARIABLES = {"job": ".*", "instance": ".*", "model": ".*", "stream": ".*",
                  "__rate_interval": "1m", "__interval": "1m", "__range": "5m"}


def read(*parts):
    with open(os.path.join(REPO, *parts), encoding="utf-8") as f:
        return f.read()


def load_yaml_docs(text):
    return [d for d in yaml.safe_load_all(text) if d is not None]


# ---- the metric catalogue ------------------------------------------------------------------------
class Family:
    def __init__(self, name, kind, labels):
        self.name, self.kind, self.labels = name, kind, labels  # labels: set, or None if unknown

    def __repr__(self):
        return "Family(%s, %s, %s)" % (self.name, self.kind, sorted(self.labels or []))


def _catalog_labels():
    """Member order and label sets from the comments in catalog.h."""
    members = []
    prev = set()
    pat = re.compile(r"(Counter|Gauge|Histogram)Family&\s+(\w+);[ \t]*(?://(.*))?")
    for kind, member, comment in pat.findall(read("server", "metrics", "catalog.h")):
        labels = None
        m = re.search(r"\{([^}]*)\}", comment or "")
        if m:
            labels = set()
            for item in m.group(1).split(","):
                item = item.strip()
                if item == "...":
                    labels |= prev
                elif item:
                    labels.add(re.split(r"[\s=]", item)[0])
            prev = labels
        members.append((kind.lower(), member, labels))
    return members


def catalog():
    """{name: Family} for every family attune-server exports (catalog, process collector)."""
    names = re.findall(r'\b(counter|gauge|histogram)\(\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"',
                       read("server", "metrics", "catalog.cpp"))
    members = _catalog_labels()
    if len(names) != len(members):
        raise AssertionError("catalog.cpp registers %d families but catalog.h declares %d members"
                             % (len(names), len(members)))
    fams = {}
    for (kind, name), (hkind, member, labels) in zip(names, members):
        if kind != hkind:
            raise AssertionError("catalog.cpp %s (%s) and catalog.h %s (%s) are out of order"
                                 % (name, kind, member, hkind))
        fams[name] = Family(name, kind, labels)
    for name, kind in re.findall(r'gauge\(\s*"(process_\w+)",.*?(MetricType::Counter)?\)',
                                 read("server", "metrics", "process_collector.cpp"), re.S):
        fams[name] = Family(name, "counter" if kind else "gauge", set())
    if not any(n.startswith("process_") for n in fams):
        raise AssertionError("no process_* family found in process_collector.cpp")
    return fams


def series_names(fams):
    """Every series name a scrape of attune-server yields, mapped to its label set."""
    out = {}
    for f in fams.values():
        labels = None if f.labels is None else f.labels | TARGET_LABELS
        if f.kind == "histogram":
            out[f.name + "_bucket"] = None if labels is None else labels | {"le"}
            out[f.name + "_sum"] = labels
            out[f.name + "_count"] = labels
        else:
            out[f.name] = labels
    # Synthetic series Prometheus adds per target, and prometheus-cpp's exposer metrics.
    for name in ("up", "scrape_duration_seconds", "scrape_samples_scraped",
                 "scrape_samples_post_metric_relabeling", "scrape_series_added"):
        out[name] = set(TARGET_LABELS)
    return out


# ---- server configuration and health names -----------------------------------------------------------
def server_env_vars():
    """{ATTUNE_VAR: --flag} from the options table in config.cpp."""
    pairs = re.findall(r'\{\s*"(--[a-z0-9-]+)",\s*"(ATTUNE_[A-Z0-9_]+)"', read("server", "core", "config.cpp"))
    if len(pairs) < 10:
        raise AssertionError("could not read the options table of server/core/config.cpp")
    return {env: flag for flag, env in pairs}


def server_defaults():
    """Default string members of ServerConfig (e.g. listen -> 0.0.0.0:50051)."""
    return dict(re.findall(r'std::string\s+(\w+)\s*=\s*"([^"]*)"', read("server", "core", "config.h")))


def health_services():
    """(registered, always_serving): grpc.health.v1 service names attune-server sets, and those it
    keeps SERVING while draining (the liveness names)."""
    src = read("server", "rpc", "server.cpp")
    body = re.search(r"service_names\(\)\s*\{(.*?)\n\}", src, re.S)
    if not body:
        raise AssertionError("Server::service_names() not found in server/rpc/server.cpp")
    registered = set(re.findall(r'"([^"]*)"', body.group(1)))
    registered |= set(re.findall(r'SetServingStatus\(\s*"([^"]*)"', src))
    always = set(re.findall(r'SetServingStatus\(\s*"([^"]*)"\s*,\s*true\s*\)', src))
    return registered, always


def port_of(address):
    return int(address.rsplit(":", 1)[1])


# ---- PromQL scanning -----------------------------------------------------------------------------
_TOKEN = re.compile(r"""
    (?P<ws>\s+) |
    (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`) |
    (?P<var>\$\{[^}]*\}|\$\w+) |
    (?P<dur>\d+(?:ms|s|m|h|d|w|y)(?:\d+(?:ms|s|m|h|d|w|y))*) |
    (?P<num>0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?) |
    (?P<id>[a-zA-Z_:][a-zA-Z0-9_:]*) |
    (?P<op>==|!=|>=|<=|=~|!~|[-+*/%^<>=(){}\[\],@:])
""", re.X)
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
            "bool", "offset", "inf", "nan", "Inf", "NaN"}
MODIFIERS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}
SET_OPS = {"and", "or", "unless"}


def tokenize(expr):
    out, pos = [], 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            raise ValueError("cannot scan PromQL at %r" % expr[pos:pos + 20])
        pos = m.end()
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group(), m.start()))
    return out


def scan(expr):
    """Returns (selectors, grouping_labels): selectors is a list of (metric_names, matcher_labels)
    for every vector selector; grouping_labels the labels named in by/without/on/ignoring/group_*."""
    toks = tokenize(expr)
    selectors, grouping = [], set()
    i = 0
    while i < len(toks):
        kind, text, _ = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else None
        if kind == "id" and text in MODIFIERS and nxt == "(":
            j = i + 2
            while toks[j][1] != ")":
                if toks[j][0] == "id":
                    grouping.add(toks[j][1])
                j += 1
            i = j + 1
            continue
        if kind == "id" and text not in KEYWORDS and nxt != "(" and not (
                nxt in ("by", "without")):
            names, labels, i = {text}, set(), i + 1
            if i < len(toks) and toks[i][1] == "{":
                labels, names2, i = _matchers(toks, i)
                names |= names2
            selectors.append((names, labels))
            continue
        if text == "{":  # selector without a metric name: {__name__=~"a|b", ...}
            labels, names, i = _matchers(toks, i)
            selectors.append((names, labels))
            continue
        if text == "[":  # range or subquery: skip to the closing bracket
            while toks[i][1] != "]":
                i += 1
        i += 1
    return selectors, grouping


def _matchers(toks, i):
    """Parses {l op "v", ...} starting at toks[i] == "{"; returns (labels, names_from___name__, next)."""
    labels, names = set(), set()
    i += 1
    while toks[i][1] != "}":
        if toks[i][0] == "id":
            label, op, val = toks[i][1], toks[i + 1][1], toks[i + 2][1][1:-1]
            if label == "__name__":
                if op == "=":
                    names.add(val)
                elif op == "=~" and re.fullmatch(r"[a-zA-Z0-9_:|]+", val):
                    names |= set(val.split("|"))
                else:
                    raise ValueError("cannot tell which metrics __name__%s%r selects" % (op, val))
            else:
                labels.add(label)
            i += 3
        else:
            i += 1
    return labels, names, i + 1


def _top_level(toks):
    """Indices of tokens at parenthesis/brace/bracket depth 0."""
    depth, out = 0, []
    for idx, (kind, text, _) in enumerate(toks):
        if text in "({[" and kind == "op":
            depth += 1
        elif text in ")}]" and kind == "op":
            depth -= 1
        elif depth == 0:
            out.append(idx)
    return out


def _text(expr, toks, a, b):
    """Source text of tokens a..b-1."""
    if a >= b:
        return ""
    end = toks[b - 1][2] + len(toks[b - 1][1])
    return expr[toks[a][2]:end].strip()


def _closing(toks, i):
    """Index of the bracket closing the one opened at toks[i]."""
    depth = 0
    for j in range(i, len(toks)):
        if toks[j][0] == "op" and toks[j][1] in "({[":
            depth += 1
        elif toks[j][0] == "op" and toks[j][1] in ")}]":
            depth -= 1
            if depth == 0:
                return j
    raise ValueError("unbalanced brackets")


def _unwrap(expr):
    """Removes parentheses enclosing the whole expression."""
    while True:
        toks = tokenize(expr)
        if len(toks) >= 2 and toks[0][1] == "(" and _closing(toks, 0) == len(toks) - 1:
            expr = _text(expr, toks, 1, len(toks) - 1)
        else:
            return expr


def condition_probes(expr):
    """For an alert or annotation condition, the expressions that must have series even when the
    condition does not hold (see deploy/README.md, "The Prometheus proof"):
      A and [on(...)] B   -> probes of A and of B   (both signals must exist)
      A unless B          -> probes of A
      A or B              -> the probe of the whole expression with comparisons stripped
      S <cmp> [bool] T    -> S                      (the compared signal, without the filter)
      absent(X)           -> probes of X            (absent() is empty exactly when X has series)
    """
    expr = _unwrap(expr)
    toks = tokenize(expr)
    top = _top_level(toks)
    ops = [i for i in top if toks[i][0] == "id" and toks[i][1] in SET_OPS]
    if ops and toks[ops[0]][1] in ("and", "unless"):
        i = ops[0]
        left = _text(expr, toks, 0, i)
        j = i + 1
        while j < len(toks) and toks[j][1] in MODIFIERS:  # on(...) / ignoring(...) / group_x(...)
            j += 1
            if j < len(toks) and toks[j][1] == "(":
                while toks[j][1] != ")":
                    j += 1
                j += 1
        right = _text(expr, toks, j, len(toks))
        probes = condition_probes(left)
        if toks[i][1] == "and":
            probes += condition_probes(right)
        return probes
    cmps = [i for i in top if toks[i][1] in COMPARISONS]
    if cmps and not ops:
        return condition_probes(_text(expr, toks, 0, cmps[0]))
    if (len(toks) >= 3 and toks[0][1] in ("absent", "absent_over_time") and toks[1][1] == "("
            and _closing(toks, 1) == len(toks) - 1):
        return condition_probes(_text(expr, toks, 2, len(toks) - 1))
    if ops:  # `or` at the top: strip the comparisons inside each operand, keep the union
        parts, start = [], 0
        for i in ops + [len(toks)]:
            part = _text(expr, toks, start, i)
            parts.append(condition_probes(part)[0])
            start = i + 1
        return [" or ".join("(%s)" % p for p in parts)]
    return [expr]


# ---- the dashboard ------------------------------------------------------------------------------
def load_dashboard():
    with open(DASHBOARD, encoding="utf-8") as f:
        return json.load(f)


def panels_by_row(dashboard):
    """Yields (row_title, panel) for every non-row panel, in layout order. Panels before the first
    row belong to row None."""
    top = sorted(dashboard.get("panels", []), key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"]))
    row = None
    for p in top:
        if p.get("type") == "row":
            row = p.get("title")
            for inner in p.get("panels", []):
                yield row, inner
        else:
            yield row, p


def is_prometheus(ds, dashboard_ds="${datasource}"):
    if isinstance(ds, dict):
        return ds.get("type") == "prometheus" or ds.get("uid") == dashboard_ds
    return ds in (dashboard_ds, "$datasource")


def dashboard_queries(dashboard):
    """Every PromQL-bearing item of the dashboard as dicts:
    {source, row, kind: panel|variable|annotation, expr, label (variables: label_values' label)}.
    Template variables and annotations are assigned to rows by the caller's table."""
    out = []
    for row, panel in panels_by_row(dashboard):
        for t in panel.get("targets", []):
            if "expr" in t and is_prometheus(t.get("datasource", panel.get("datasource"))):
                out.append({"source": "panel %r (%s)" % (panel.get("title"), t.get("refId")),
                            "row": row, "kind": "panel", "expr": t["expr"], "label": None})
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") != "query" or not is_prometheus(v.get("datasource")):
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"\s*label_values\((.*),\s*([a-zA-Z_]\w*)\s*\)\s*", q or "", re.S)
        if m:
            out.append({"source": "variable $%s" % v["name"], "name": v["name"], "row": None,
                        "kind": "variable", "expr": m.group(1), "label": m.group(2)})
            continue
        m = re.fullmatch(r"\s*query_result\((.*)\)\s*", q or "", re.S)
        if m:
            out.append({"source": "variable $%s" % v["name"], "name": v["name"], "row": None,
                        "kind": "variable", "expr": m.group(1), "label": None})
            continue
        raise AssertionError("variable $%s: unsupported query %r (use label_values or query_result)"
                             % (v["name"], q))
    for a in dashboard.get("annotations", {}).get("list", []):
        if "expr" in a and is_prometheus(a.get("datasource")):
            out.append({"source": "annotation %r" % a["name"], "name": a["name"], "row": None,
                        "kind": "annotation", "expr": a["expr"], "label": None})
    return out


def substitute(expr, values):
    """Replaces $var, ${var} and ${var:format} with values[var]; unknown variables raise."""
    def repl(m):
        name = m.group(1) or m.group(2)
        if name not in values:
            raise KeyError("unknown dashboard variable $%s in %r" % (name, expr))
        return values[name]
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", repl, expr)


def alert_rules():
    """[(group_name, rule_dict)] from alerts.yml."""
    with open(ALERTS, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    return [(g["name"], r) for g in doc["groups"] for r in g["rules"]]


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)
