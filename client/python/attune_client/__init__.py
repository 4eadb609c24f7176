"""attune_client: a thin, typed Python client for attune-server.

    from attune_client import Client
    with Client("localhost:50051") as c:
        c.load_model("model.pt", name="cnn")
        probs = c.infer("cnn", images)          # NumPy in, NumPy out
"""
from . import _stubs

_stubs.ensure()

from .client import Client  # noqa: E402
from .errors import (AttuneError, InvalidArgument, NotFound, AlreadyExists,  # noqa: E402
                     FailedPrecondition, ResourceExhausted, Unavailable, Unauthenticated,
                     PermissionDenied, Cancelled)

__all__ = ["Client", "AttuneError", "InvalidArgument", "NotFound", "AlreadyExists",
           "FailedPrecondition", "ResourceExhausted", "Unavailable", "Unauthenticated",
           "PermissionDenied", "Cancelled"]
