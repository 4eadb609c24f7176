"""Locates (or generates) the Python modules compiled from attune's .proto files.

The stubs are ordinary protoc output (packages `attune.v1`, `inference`, `grpc.health.v1`).
ensure() puts the first of these on sys.path:

1. stubs that are already importable (you put them on sys.path yourself);
2. $ATTUNE_PYTHON_STUBS, a folder holding attune/v1/*_pb2.py;
3. in a source checkout (the repo's proto/ folder exists): <repo>/build/python, written by the
   CMake target `attune_python_stubs`, else attune_client/_gen, generated on first import from
   proto/ (and regenerated when the .proto files change);
4. an installed package (pip): attune_client/_gen, generated at install time by setup.py.

Generation uses grpcio-tools (`grpc_tools.protoc`) when installed, else protoc and
grpc_python_plugin (Debian: protobuf-compiler, protobuf-compiler-grpc).

This file has no package-relative imports: setup.py loads it on its own to generate the stubs.
"""
import hashlib
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.abspath(os.path.join(_HERE, "..", "..", ".."))
GEN = os.path.join(_HERE, "_gen")
_HASH_FILE = "PROTO_SHA256"
_PROBE = "attune.v1.nowcast_service_pb2"


def proto_root():
    """The folder holding attune/v1/*.proto: $ATTUNE_PROTO_DIR or <repo>/proto (None if absent)."""
    root = os.environ.get("ATTUNE_PROTO_DIR") or os.path.join(_REPO, "proto")
    return root if os.path.isfile(os.path.join(root, "attune", "v1", "model_service.proto")) else None


def _protos(root):
    return sorted(os.path.join(dp, f) for dp, _, fs in os.walk(root) for f in fs if f.endswith(".proto"))


def proto_hash(root):
    h = hashlib.sha256()
    for p in _protos(root):
        h.update(os.path.relpath(p, root).encode() + b"\0")
        with open(p, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def _compile(root, out):
    protos = _protos(root)
    try:
        from grpc_tools import protoc as grpc_protoc  # PyPI grpcio-tools
    except ImportError:
        grpc_protoc = None
    if grpc_protoc is not None:
        include = os.path.join(os.path.dirname(grpc_protoc.__file__), "_proto")
        args = ["grpc_tools.protoc", "-I", root, "-I", include, "--python_out", out, "--grpc_python_out", out]
        if grpc_protoc.main(args + protos) != 0:
            raise RuntimeError("grpc_tools.protoc failed on " + root)
        return
    protoc, plugin = shutil.which("protoc"), shutil.which("grpc_python_plugin")
    if not (protoc and plugin):
        raise ImportError(
            "attune_client: cannot generate the gRPC stubs: install grpcio-tools (pip install grpcio-tools) "
            "or Debian's protobuf-compiler and protobuf-compiler-grpc, or build the project "
            "(cmake target attune_python_stubs writes build/python) and set ATTUNE_PYTHON_STUBS to it.")
    subprocess.check_call([protoc, "-I", root, "--python_out", out, "--grpc_out", out,
                           "--plugin=protoc-gen-grpc=" + plugin] + protos)


def generate(out_dir, root=None):
    """Compiles every .proto under `root` into `out_dir` (replaced atomically)."""
    root = root or proto_root()
    if root is None:
        raise ImportError("attune_client: the .proto files were not found; set ATTUNE_PROTO_DIR to the "
                          "repository's proto/ folder")
    tmp = "%s.tmp%d" % (out_dir, os.getpid())
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        _compile(root, tmp)
        with open(os.path.join(tmp, _HASH_FILE), "w") as f:
            f.write(proto_hash(root))
        old = "%s.old%d" % (out_dir, os.getpid())
        if os.path.isdir(out_dir):
            os.rename(out_dir, old)
        try:
            os.rename(tmp, out_dir)
        except OSError:  # another process won the race: theirs is as good as ours
            pass
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _importable():
    try:
        importlib.import_module(_PROBE)
        return True
    except ImportError:
        return False


def _use(folder):
    if folder and os.path.isdir(os.path.join(folder, "attune", "v1")):
        if folder not in sys.path:
            sys.path.insert(0, folder)
        importlib.invalidate_caches()
        return _importable()
    return False


def _gen_is_fresh(root):
    try:
        with open(os.path.join(GEN, _HASH_FILE)) as f:
            return f.read().strip() == proto_hash(root)
    except OSError:
        return False


def ensure():
    if _importable():
        return
    if _use(os.environ.get("ATTUNE_PYTHON_STUBS")):
        return
    root = proto_root()
    if root is not None:  # a source checkout
        if _use(os.path.join(_REPO, "build", "python")):
            return
        if not _gen_is_fresh(root):
            generate(GEN, root)
    if not _use(GEN):
        raise ImportError(
            "attune_client: gRPC stubs not found. Build the project (cmake target attune_python_stubs "
            "writes build/python), set ATTUNE_PYTHON_STUBS to a folder holding attune/v1/*_pb2.py, or "
            "install the package with pip (which generates them).")


_health = None


def health_pb2():
    """grpc.health.v1 messages. The generated package is named `grpc`, like grpcio itself, so it
    cannot be imported by name: prefer grpcio-health-checking, else load the generated file."""
    global _health
    if _health is None:
        try:
            from grpc_health.v1 import health_pb2 as mod
        except ImportError:
            mod = None
            for folder in sys.path:
                path = os.path.join(folder, "grpc", "health", "v1", "health_pb2.py")
                if os.path.isfile(path) and os.path.isdir(os.path.join(folder, "attune", "v1")):
                    spec = importlib.util.spec_from_file_location("attune_client._health_pb2", path)
                    mod = importlib.util.module_from_spec(spec)
                    spec.loader.exec_module(mod)
                    break
            if mod is None:
                raise ImportError("attune_client: grpc/health/v1/health_pb2.py not found next to the stubs")
        _health = mod
    return _health
