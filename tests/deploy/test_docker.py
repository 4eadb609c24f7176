"""The Dockerfile, checked without a Docker engine:
  - both stages install packages only through deploy/docker/install-packages.sh from
    scripts/packages/{build,runtime}.txt, and that script parses the lists exactly as
    scripts/setup.sh does (one source of truth);
  - every shared library the locally built attune-server and attune CLI load (ldd) belongs to a
    Debian package that runtime.txt pulls in (its Depends closure) or that every Debian image has
    (Priority: required / Essential); every system header they were compiled against (ninja's
    dependency log) belongs to build.txt's closure;
  - image conventions: non-root uid 1000, tini as PID 1, STOPSIGNAL SIGTERM, VOLUME /data,
    EXPOSEd ports = the server's listen defaults, ATTUNE_* variables the server knows;
  - what the Dockerfile COPYs exists and is not excluded by .dockerignore.
ATTUNE_BUILD_DIR must point at a build tree with server/attune-server and client/cli/attune."""
import json
import os
import re
import shlex
import subprocess
import unittest

import deploylib as d

BUILD = os.environ.get("ATTUNE_BUILD_DIR", os.path.join(d.REPO, "build"))
BINARIES = {"server/attune-server": "/usr/local/bin/attune-server", "client/cli/attune": "/usr/local/bin/attune"}
INSTALLER = "deploy/docker/install-packages.sh"
SETUP_PARSE = "sed -e 's/#.*//' -e 's/cmd=[^ ]*//' | tr -s ' \\t' '\\n' | grep -v '^$' | sort -u"


def parse_list(path):
    """scripts/setup.sh's rules: '#' comments, `cmd=X` annotations dropped, whitespace-separated."""
    names = set()
    with open(path) as f:
        for line in f:
            line = re.sub(r"cmd=[^ ]*", "", line.split("#", 1)[0])
            names.update(line.split())
    return names


def dockerfile():
    """[(stage_name, [(INSTRUCTION, args)])] with continuation lines joined and global ARG
    defaults substituted into FROM lines."""
    with open(os.path.join(d.REPO, "Dockerfile")) as f:
        text = f.read()
    text = re.sub(r"\\\n", " ", re.sub(r"(?m)^\s*#(?!\s*syntax).*\n", "", text))
    args, stages = {}, []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, rest = line.partition(" ")
        instr, rest = instr.upper(), rest.strip()
        if instr == "ARG" and not stages:
            k, _, v = rest.partition("=")
            args[k] = v
            continue
        if instr == "FROM":
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), ""), rest)
            m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", image, re.I)
            stages.append((m.group(2) or str(len(stages)), [("FROM", m.group(1))]))
            continue
        stages[-1][1].append((instr, rest))
    return stages


def dockerignore_excludes(path):
    """True if .dockerignore (Docker's rules: last matching pattern wins, ! re-includes) drops path."""
    with open(os.path.join(d.REPO, ".dockerignore")) as f:
        patterns = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    excluded = False
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for p in patterns:
        neg = p.startswith("!")
        pat = p[1:] if neg else p
        pat = pat.strip("/")
        rx = re.escape(pat).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if any(re.fullmatch(rx, pre) for pre in prefixes):
            excluded = not neg
    return excluded


class PackageListsTest(unittest.TestCase):
    def test_same_parsing_rules_as_setup(self):
        """install-packages.sh runs setup.sh's parsing pipeline, verbatim."""
        setup = d.read("scripts", "setup.sh")
        installer = d.read(*INSTALLER.split("/"))
        self.assertIn(SETUP_PARSE, " ".join(setup.replace("\\\n", " ").split()),
                      "scripts/setup.sh changed how it parses the lists: "
                      "update deploy/docker/install-packages.sh and this test together")
        self.assertIn(SETUP_PARSE, installer)

    def test_installer_prints_what_setup_installs(self):
        for name in ("build.txt", "runtime.txt", "test.txt"):
            path = os.path.join(d.REPO, "scripts", "packages", name)
            r = d.run(["sh", os.path.join(d.REPO, INSTALLER), "--print", path])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(set(r.stdout.split()), parse_list(path), name)
            self.assertNotIn("cmd=kubectl", r.stdout)

    def test_installer_rejects_missing_list(self):
        r = d.run(["sh", os.path.join(d.REPO, INSTALLER), "--print", "/nonexistent/list.txt"])
        self.assertNotEqual(r.returncode, 0)


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stages = dockerfile()
        cls.builder = cls.stages[0][1]
        cls.runtime = cls.stages[-1][1]

    def instrs(self, stage, name):
        return [a for i, a in stage if i == name]

    def installs(self, stage):
        """Package lists a stage installs: `install-packages.sh LIST...` in RUN lines."""
        lists = []
        for run in self.instrs(stage, "RUN"):
            self.assertNotRegex(run, r"apt-get\s+install|apt\s+install",
                                "install packages through %s and the lists only" % INSTALLER)
            for m in re.finditer(r"install-packages\.sh((?:\s+[^\s&;|]+)+)", run):
                lists += m.group(1).split()
        return lists

    def test_multi_stage_debian_12(self):
        self.assertGreaterEqual(len(self.stages), 2)
        for name, instrs in self.stages:
            self.assertRegex(instrs[0][1], r"^debian:12(-slim)?(@sha256:[0-9a-f]{64})?$", name)

    def test_builder_installs_build_list_and_builds(self):
        self.assertEqual([os.path.basename(l) for l in self.installs(self.builder)], ["build.txt"])
        runs = " ".join(self.instrs(self.builder, "RUN"))
        self.assertRegex(runs, r"cmake -S \S+ -B build")
        self.assertRegex(runs, r"--target attune-server attune\b")

    def test_runtime_installs_only_runtime_list(self):
        self.assertEqual([os.path.basename(l) for l in self.installs(self.runtime)], ["runtime.txt"])
        for instr, args in self.runtime:
            self.assertNotIn("build.txt", args)
            self.assertNotIn("-dev", args)

    def test_lists_are_copied_where_runs_read_them(self):
        for _, instrs in self.stages:
            copies = [shlex.split(a) for a in self.instrs(instrs, "COPY")]
            dests = {}
            for c in copies:
                if not any(x.startswith("--from") for x in c):
                    for src in c[:-1]:
                        dests[src.rstrip("/")] = c[-1]
            for lst in self.installs(instrs):
                name = os.path.basename(lst)
                src = "scripts/packages/" + name
                dest = dests.get(src) or (dests.get("scripts/packages", "").rstrip("/") + "/" + name)
                self.assertEqual(dest, lst, "%s is read from %s but copied to %s" % (name, lst, dest))

    def test_copied_binaries_are_the_build_outputs(self):
        copies = [shlex.split(a) for a in self.instrs(self.runtime, "COPY") if "--from=builder" in a]
        got = {os.path.relpath(c[1], "/src/build"): c[2] for c in copies}
        self.assertEqual(got, BINARIES)
        for rel in BINARIES:
            self.assertTrue(os.access(os.path.join(BUILD, rel), os.X_OK),
                            "%s is not built in %s (CMake output path changed?)" % (rel, BUILD))

    def test_copy_sources_exist_and_are_in_the_context(self):
        for _, instrs in self.stages:
            for args in self.instrs(instrs, "COPY"):
                parts = shlex.split(args)
                if any(p.startswith("--from") for p in parts):
                    continue
                for src in [p for p in parts[:-1] if not p.startswith("--")]:
                    self.assertTrue(os.path.exists(os.path.join(d.REPO, src)), src)
                    self.assertFalse(dockerignore_excludes(src), ".dockerignore excludes %s" % src)

    def test_runtime_conventions(self):
        rt = self.runtime
        user = self.instrs(rt, "USER")
        self.assertTrue(user and user[-1].split(":")[0] == "1000", "runs as uid 1000")
        self.assertEqual(self.instrs(rt, "STOPSIGNAL"), ["SIGTERM"])
        entry = json.loads(self.instrs(rt, "ENTRYPOINT")[-1])
        self.assertEqual(entry[:2], ["/usr/bin/tini", "--"])
        self.assertEqual(entry[2], BINARIES["server/attune-server"])
        self.assertIn("tini", parse_list(os.path.join(d.REPO, "scripts", "packages", "runtime.txt")))
        volumes = " ".join(self.instrs(rt, "VOLUME"))
        self.assertIn("/data", volumes)
        env = {}
        for e in self.instrs(rt, "ENV"):
            env.update(dict(kv.split("=", 1) for kv in shlex.split(e)))
        self.assertEqual(env.get("ATTUNE_DATA_DIR"), "/data")
        known = d.server_env_vars()
        for k in env:
            if k.startswith("ATTUNE_") and k != "ATTUNE_SERVER":  # ATTUNE_SERVER: the CLI's target
                self.assertIn(k, known, "attune-server has no %s (server/core/config.cpp)" % k)
        defaults = d.server_defaults()
        grpc = d.port_of(env.get("ATTUNE_LISTEN", defaults["listen"]))
        metrics = d.port_of(env.get("ATTUNE_METRICS_LISTEN", defaults["metrics_listen"]))
        exposed = {int(p.split("/")[0]) for e in self.instrs(rt, "EXPOSE") for p in e.split()}
        self.assertLessEqual({grpc, metrics}, exposed)


class BuildHeadersTest(unittest.TestCase):
    """Every system header the image's targets compiled against (ninja's dependency log of the
    local build) belongs to a package build.txt pulls in: the builder stage has what it needs."""
    # Objects that go into attune-server and attune (tests/ and bench/ are not in the image).
    IMAGE_OBJECTS = ("CMakeFiles/attune_pch.dir/", "proto/", "server/", "client/cli/")

    def test_build_list_provides_every_header(self):
        if not os.path.exists(os.path.join(BUILD, "build.ninja")):
            self.skipTest("%s is not a Ninja build (scripts/build.sh uses Ninja)" % BUILD)
        out = subprocess.check_output(["ninja", "-C", BUILD, "-t", "deps"], text=True)
        headers, keep = set(), False
        for line in out.splitlines():
            if line and not line[0].isspace():
                keep = line.startswith(self.IMAGE_OBJECTS)
            elif keep and line.strip().startswith(("/usr/", "/lib/")):
                headers.add(line.strip())
        self.assertGreater(len(headers), 100, "no dependency log: build attune-server first")
        r = d.run(["dpkg", "-S"] + sorted(headers))
        owner = {}
        for line in r.stdout.splitlines():
            pkgs, _, path = line.partition(": ")
            owner[path] = {p.strip().split(":")[0] for p in pkgs.split(",")}
        unowned = sorted(h for h in headers if h not in owner)
        self.assertFalse(unowned, "headers no Debian package owns: %s" % unowned[:10])
        pkgs = RuntimeLibrariesTest.installed()
        build = parse_list(os.path.join(d.REPO, "scripts", "packages", "build.txt"))
        base = {n for n, p in pkgs.items() if p["base"]}
        available = RuntimeLibrariesTest.closure(build | base, pkgs)
        missing = sorted({min(owner[h]) for h in headers if not owner[h] & available})
        self.assertFalse(missing, "the build includes headers of packages build.txt does not pull in; "
                                  "add them to scripts/packages/build.txt: %s" % missing)


class RuntimeLibrariesTest(unittest.TestCase):
    """Every shared library of the binaries comes from runtime.txt's dependency closure."""

    @staticmethod
    def installed():
        out = subprocess.check_output(
            ["dpkg-query", "-W", "-f", "${Package}\t${Status}\t${Priority}\t${Essential}\t"
             "${Pre-Depends}\t${Depends}\t${Provides}\n"], text=True)
        pkgs = {}
        for line in out.splitlines():
            name, status, prio, essential, pre, dep, prov = (line.split("\t") + [""] * 7)[:7]
            if not status.endswith(" installed"):
                continue
            pkgs[name] = {"base": prio == "required" or essential == "yes",
                          "deps": [alt for alt in (pre + "," + dep).split(",") if alt.strip()],
                          "provides": [p.split()[0] for p in prov.split(",") if p.strip()]}
        return pkgs

    @classmethod
    def closure(cls, roots, pkgs):
        providers = {}
        for name, p in pkgs.items():
            providers.setdefault(name, set()).add(name)
            for v in p["provides"]:
                providers.setdefault(v, set()).add(name)
        seen, todo = set(), list(roots)
        while todo:
            n = todo.pop()
            if n in seen or n not in pkgs:
                continue
            seen.add(n)
            for alt in pkgs[n]["deps"]:
                for choice in alt.split("|"):
                    dep = choice.split()[0].split(":")[0]
                    todo.extend(providers.get(dep, ()))
        return seen

    @staticmethod
    def libraries(binary):
        out = subprocess.check_output(["ldd", binary], text=True)
        libs = []
        for line in out.splitlines():
            self_missing = "not found" in line
            if self_missing:
                raise AssertionError("%s: %s" % (binary, line.strip()))
            m = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)", line)
            if m:
                libs.append(m.group(1))
        return libs

    @staticmethod
    def owners(paths):
        """{path: package} through dpkg -S, trying the /usr-merged spellings of each path."""
        cands = {}
        for p in paths:
            for q in {p, os.path.realpath(p)}:
                for v in {q, re.sub(r"^/usr/lib/", "/lib/", q), re.sub(r"^/lib/", "/usr/lib/", q)}:
                    cands.setdefault(v, p)
        r = d.run(["dpkg", "-S"] + sorted(cands))
        owner = {}
        for line in r.stdout.splitlines():
            pkgs, _, path = line.partition(": ")
            if path in cands:
                owner[cands[path]] = pkgs.split(",")[0].strip().split(":")[0]
        return owner

    def test_runtime_list_provides_every_library(self):
        pkgs = self.installed()
        runtime = parse_list(os.path.join(d.REPO, "scripts", "packages", "runtime.txt"))
        not_installed = sorted(runtime - set(pkgs))
        self.assertFalse(not_installed, "runtime.txt packages not installed here: %s" % not_installed)
        base = {n for n, p in pkgs.items() if p["base"]}
        available = self.closure(runtime | base, pkgs)
        for rel in BINARIES:
            binary = os.path.join(BUILD, rel)
            with self.subTest(binary=rel):
                libs = self.libraries(binary)
                self.assertTrue(libs)
                owner = self.owners(libs)
                unowned = [l for l in libs if l not in owner]
                self.assertFalse(unowned, "libraries no Debian package owns: %s" % unowned)
                missing = sorted({"%s (%s)" % (owner[l], os.path.basename(l)) for l in libs
                                  if owner[l] not in available})
                self.assertFalse(missing, "%s loads libraries runtime.txt does not pull in; add their "
                                          "packages to scripts/packages/runtime.txt: %s" % (rel, missing))


if __name__ == "__main__":
    unittest.main()
