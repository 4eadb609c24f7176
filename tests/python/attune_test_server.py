"""Starts attune-server as a child process on free loopback ports for Python/Node tests."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

BUILD = os.environ.get("ATTUNE_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))


class AttuneServer:
    def __init__(self, *extra):
        self.extra = list(extra)
        self.dir = tempfile.mkdtemp(prefix="attune-pytest-")
        self.proc = None

    def __enter__(self):
        ready = os.path.join(self.dir, "ready.json")
        self.log = open(os.path.join(self.dir, "server.log"), "wb")
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "server", "attune-server"), "--listen", "127.0.0.1:0",
             "--metrics-listen", "127.0.0.1:0", "--data-dir", os.path.join(self.dir, "data"),
             "--model-repository", os.path.join(BUILD, "models"), "--ready-file", ready,
             "--threads", "1"] + self.extra, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("attune-server exited: " + open(self.log.name).read())
            if os.path.exists(ready):
                info = json.load(open(ready))
                self.address = "127.0.0.1:%d" % info["grpc_port"]
                self.metrics_port = info["metrics_port"]
                return self
            time.sleep(0.02)
        raise RuntimeError("attune-server did not start")

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
