"""Runs client/python/examples/quickstart.py against a live attune-server: it loads the
TorchScript CNN exported by python3-torch, infers, and compares with PyTorch to 1e-6."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from attune_test_server import AttuneServer, BUILD  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class QuickstartTest(unittest.TestCase):
    def test_quickstart_matches_pytorch(self):
        with AttuneServer() as server:
            out = subprocess.run(
                ["/usr/bin/python3", os.path.join(REPO, "client/python/examples/quickstart.py"),
                 "--server", server.address, "--model", os.path.join(BUILD, "models/cnn_bn/1/model.pt")],
                capture_output=True, text=True, timeout=300)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            self.assertIn("max |attune - pytorch|", out.stdout)
            self.assertIn("unknown model -> NOT_FOUND", out.stdout)


if __name__ == "__main__":
    unittest.main()
