"""Runs the Python client's example scripts as a user would, against one live attune-server that
hosts the models scripts/run.sh hosts (cnn_bn, mlp), and checks what they report."""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from attune_test_server import REPO, AttuneServer  # noqa: E402

EXAMPLES = os.path.join(REPO, "client", "python", "examples")


class Examples(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = AttuneServer("--load-model", "cnn_bn", "--load-model", "mlp").__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def run_example(self, name, *args):
        out = subprocess.run(["/usr/bin/python3", os.path.join(EXAMPLES, name), "--server", self.server.address]
                             + list(args), capture_output=True, text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        return out.stdout

    def test_training(self):
        out = self.run_example("training.py", "--epochs", "4")
        self.assertIn("uploaded dataset quadrants: 1024 samples, 4 classes", out)
        self.assertRegex(out, r"mlp version 2: 52 steps \(completed\)")
        before, after = map(float, re.search(r"([\d.]+) before, ([\d.]+) after", out).groups())
        self.assertGreater(after, before)
        self.assertGreater(after, 0.8)

    def test_adaptation(self):
        out = self.run_example("adaptation.py", "--batches", "6", "--publish", "cnn_tent")
        entropies = [float(x) for x in re.findall(r"mean entropy ([\d.]+)", out)]
        self.assertEqual(len(entropies), 6, out)
        self.assertLess(entropies[-1], entropies[0])  # Tent minimises the prediction entropy
        self.assertIn("192 samples, 6 updates", out)
        self.assertIn("published cnn_tent version 1", out)
        self.assertIn("(eata): Fisher information from 128 samples", out)

    def test_nowcasting(self):
        out = self.run_example("nowcasting.py", "--days", "200")
        self.assertIn("ingested 200 days into weather-demo (200 in total)", out)
        self.assertRegex(out, r"forecast issued 2012-07-18 \(")
        self.assertRegex(out, r"temp_max\s+1\s+\d+\s+[\d.]+")
        # Run again: the stream exists, every row is known, nothing is ingested twice.
        again = self.run_example("nowcasting.py", "--days", "200")
        self.assertIn("ingested 0 days into weather-demo (200 in total)", again)


if __name__ == "__main__":
    unittest.main()
