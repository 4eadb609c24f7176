"""Starts attune-server as a child process on free loopback ports for the client tests, plus the
files some servers need (a tokens file, a TLS PKI)."""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("ATTUNE_BUILD_DIR", os.path.join(REPO, "build"))
MODELS = os.path.join(BUILD, "models")
CLI = os.path.join(BUILD, "client", "cli", "attune")


class AttuneServer:
    """with AttuneServer("--max-sessions", "1") as s: Client(s.address) ...

    The server loads models from <build>/models (the model repository), keeps its data in a temp
    dir (`s.dir`) removed on exit, and is stopped with SIGTERM."""

    def __init__(self, *extra):
        self.extra = list(extra)
        self.dir = tempfile.mkdtemp(prefix="attune-pytest-")
        self.proc = None

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def __enter__(self):
        binary = os.path.join(BUILD, "server", "attune-server")
        if not os.access(binary, os.X_OK):
            raise RuntimeError("%s not built: build the targets attune-server attune attune_test_models "
                               "attune_python_stubs, and set ATTUNE_BUILD_DIR to the build folder" % binary)
        ready = self.path("ready.json")
        self.log = open(self.path("server.log"), "wb")
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
             "--data-dir", self.path("data"), "--model-repository", MODELS, "--ready-file", ready,
             "--threads", "1"] + self.extra, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("attune-server exited: " + self.server_log())
            if os.path.exists(ready):
                with open(ready) as f:
                    info = json.load(f)
                self.port = info["grpc_port"]
                self.address = "127.0.0.1:%d" % self.port
                self.metrics_port = info["metrics_port"]
                return self
            time.sleep(0.02)
        self.proc.kill()
        raise RuntimeError("attune-server did not start within 120 s: " + self.server_log())

    def server_log(self):
        self.log.flush()
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def write_tokens(path, tokens):
    """tokens: {name: (token, "role[,role]")} -> a tokens file (server/rpc/auth.h): one line per
    token, "<name> <sha256-hex of the token> <roles>"."""
    with open(path, "w") as f:
        f.write("# written by the client tests\n")
        for name, (token, roles) in tokens.items():
            f.write("%s %s %s\n" % (name, hashlib.sha256(token.encode()).hexdigest(), roles))
    return path


def make_pki(folder):
    """A CA, a server certificate for localhost/127.0.0.1 and a client certificate (openssl)."""
    script = (
        "set -e; cd '%s';"
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=attune-test-ca -keyout ca.key -out ca.pem;"
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext;"
        "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr;"
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext "
        "-out server.pem;"
        "openssl req -newkey rsa:2048 -nodes -subj /CN=attune-client -keyout client.key -out client.csr;"
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem"
    ) % folder
    subprocess.run(["bash", "-c", script], check=True, capture_output=True)
    return {k: os.path.join(folder, k + ".pem") for k in ("ca", "server", "client")} | {
        "server_key": os.path.join(folder, "server.key"), "client_key": os.path.join(folder, "client.key")}


def weather_rows(location="Seattle", limit=None):
    """Rows of tests/fixtures/noaa/weather.csv for one location, as dicts of strings."""
    import csv
    out = []
    with open(os.path.join(REPO, "tests", "fixtures", "noaa", "weather.csv")) as f:
        for row in csv.DictReader(f):
            if row["location"] == location:
                out.append(row)
                if limit and len(out) == limit:
                    break
    return out
