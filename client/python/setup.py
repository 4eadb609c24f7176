"""Builds the attune_client package with its gRPC stubs compiled in.

The .proto files live in the repository's proto/ folder (or $ATTUNE_PROTO_DIR); build_py compiles
them into attune_client/_gen of the wheel, so an installed package needs neither the repository
nor protoc. Build from the repository: `pip install client/python`.
"""
import importlib.util
import os

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def _stubs_module():
    spec = importlib.util.spec_from_file_location("_attune_stubs", os.path.join(HERE, "attune_client", "_stubs.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class BuildWithStubs(build_py):
    def run(self):
        super().run()
        stubs = _stubs_module()
        root = stubs.proto_root()
        if root is None:
            raise SystemExit("attune-client: the .proto files were not found; build from the attune repository "
                             "(client/python) or set ATTUNE_PROTO_DIR to its proto/ folder")
        stubs.generate(os.path.join(self.build_lib, "attune_client", "_gen"), root)


setup(cmdclass={"build_py": BuildWithStubs})
