"""Locates (or generates) the gRPC stubs compiled from attune's .proto files.

Order: already importable -> $ATTUNE_PYTHON_STUBS -> <repo>/build/python (made by the CMake
build) -> generated once into attune_client/_gen with Debian's protoc + grpc_python_plugin.
"""
import importlib
import os
import shutil
import subprocess
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.abspath(os.path.join(_HERE, "..", "..", ".."))


def _importable():
    try:
        importlib.import_module("attune.v1.model_service_pb2")
        return True
    except ImportError:
        return False


def _generate(out_dir):
    proto_root = os.environ.get("ATTUNE_PROTO_DIR", os.path.join(_REPO, "proto"))
    protoc, plugin = shutil.which("protoc"), shutil.which("grpc_python_plugin")
    if not (protoc and plugin and os.path.isdir(proto_root)):
        raise ImportError(
            "attune_client: gRPC stubs not found. Build the project (cmake builds build/python), "
            "set ATTUNE_PYTHON_STUBS to a folder holding attune/v1/*_pb2.py, or install "
            "protobuf-compiler and protobuf-compiler-grpc so they can be generated.")
    protos = [os.path.join(dp, f) for dp, _, fs in os.walk(proto_root) for f in fs if f.endswith(".proto")]
    tmp = out_dir + ".tmp%d" % os.getpid()
    os.makedirs(tmp, exist_ok=True)
    subprocess.check_call([protoc, "-I", proto_root, "--python_out", tmp, "--grpc_out", tmp,
                           "--plugin=protoc-gen-grpc=" + plugin] + protos)
    try:
        os.rename(tmp, out_dir)
    except OSError:  # another process won the race
        shutil.rmtree(tmp, ignore_errors=True)


def ensure():
    if _importable():
        return
    for cand in (os.environ.get("ATTUNE_PYTHON_STUBS"), os.path.join(_REPO, "build", "python")):
        if cand and os.path.isdir(os.path.join(cand, "attune", "v1")):
            sys.path.insert(0, cand)
            if _importable():
                return
    gen = os.path.join(_HERE, "_gen")
    if not os.path.isdir(gen):
        _generate(gen)
    sys.path.insert(0, gen)
    if not _importable():
        raise ImportError("attune_client: could not import the generated stubs from " + gen)
