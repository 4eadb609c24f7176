"""The README's first quick-start command, scripts/run.sh, run as written (on free loopback ports,
with a temporary data dir): it sets up, builds, starts attune-server hosting cnn_bn and mlp, serves
them, and stops cleanly on SIGTERM. Setup and build are no-ops on a machine where the tests run."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from attune_test_server import BUILD, REPO  # noqa: E402


class RunScript(unittest.TestCase):
    def test_run_sh_serves_the_example_models(self):
        tmp = tempfile.mkdtemp(prefix="attune-runsh-")
        self.addCleanup(shutil.rmtree, tmp, True)
        ready = os.path.join(tmp, "ready.json")
        env = dict(os.environ, ATTUNE_BUILD_DIR=BUILD, ATTUNE_DATA_DIR=os.path.join(tmp, "data"))
        log = open(os.path.join(tmp, "run.log"), "wb")
        self.addCleanup(log.close)
        proc = subprocess.Popen([os.path.join(REPO, "scripts", "run.sh"), "--listen", "127.0.0.1:0",
                                 "--metrics-listen", "127.0.0.1:0", "--ready-file", ready],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())

        def output():
            log.flush()
            with open(log.name, errors="replace") as f:
                return f.read()

        deadline = time.time() + 600
        while not os.path.exists(ready):
            self.assertIsNone(proc.poll(), "scripts/run.sh exited early:\n" + output())
            self.assertLess(time.time(), deadline, "scripts/run.sh did not serve within 600 s:\n" + output())
            time.sleep(0.1)
        with open(ready) as f:
            port = json.load(f)["grpc_port"]
        cli = subprocess.run([os.path.join(BUILD, "client", "cli", "attune"), "--server", "127.0.0.1:%d" % port,
                              "models", "list", "--json"], capture_output=True, text=True, timeout=60)
        self.assertEqual(cli.returncode, 0, cli.stdout + cli.stderr)
        listed = cli.stdout
        self.assertIn('"cnn_bn"', listed)
        self.assertIn('"mlp"', listed)
        # The example models were copied into the data dir's repository: the server needs no build tree.
        self.assertTrue(os.path.exists(os.path.join(tmp, "data", "repository", "cnn_bn", "1", "model.pt")))
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=60), 0, output())


if __name__ == "__main__":
    unittest.main()
