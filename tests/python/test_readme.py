"""Runs the Python snippet of the README's "Clients" section, as written, against a live
attune-server hosting nothing yet. Only the address and the build folder are substituted."""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from attune_test_server import BUILD, REPO, AttuneServer  # noqa: E402


def readme_block(language):
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    section = text[text.index("\n## Clients\n"):]
    section = section[:section.index("\n## ", 1)]
    blocks = re.findall(r"```%s\n(.*?)```" % language, section, re.S)
    if len(blocks) != 1:
        raise AssertionError("README 'Clients' has %d ```%s blocks, expected 1" % (len(blocks), language))
    return blocks[0]


class ReadmeSnippet(unittest.TestCase):
    def test_python_snippet_runs_as_written(self):
        code = readme_block("python")
        with AttuneServer() as server:
            code = code.replace("localhost:50051", server.address).replace('"build/', '"%s/' % BUILD)
            out = subprocess.run(["/usr/bin/python3", "-c", code], cwd=REPO, capture_output=True, text=True,
                                 timeout=300)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"classes \[\d")
        self.assertRegex(out.stdout, r"step \d+ loss \d")
        self.assertIn("published cnn version 2", out.stdout)
        self.assertRegex(out.stdout, r"mean entropy [\d.]+ \(64, 10\)")
        self.assertIn("NOT_FOUND: ", out.stdout)
        self.assertIn("no-such-model", out.stdout)


if __name__ == "__main__":
    unittest.main()
