"""attune_client: a thin, typed Python client for attune-server.

    from attune_client import Client
    with Client("localhost:50051") as c:
        c.load_model("model.pt", name="cnn")
        logits = c.infer("cnn", images)                 # NumPy in, NumPy out
        job = c.train("fmnist", model="cnn", optimizer="adan", lr=2e-3, epochs=1)
        for event in job.watch(): ...
        with c.adapt_session("cnn", method="eata") as s:
            out = s.adapt(images)                       # adapted probabilities + stats
        stream = c.nowcast_stream("weather", ["temp_max", "wind"], ["temp_max"])
        stream.ingest([("2012-01-01", {"temp_max": 12.8, "wind": 4.7})])

Errors are AttuneError subclasses (NotFound, InvalidArgument, ...) carrying the gRPC status
`.code` and the server's message `.details`.
"""
from . import _stubs

_stubs.ensure()

from .adaptation import AdaptSession  # noqa: E402
from .client import Client  # noqa: E402
from .errors import (Aborted, AlreadyExists, AttuneError, Cancelled, DataLoss, DeadlineExceeded,  # noqa: E402
                     FailedPrecondition, Internal, InvalidArgument, JobCancelled, JobFailed, NotFound,
                     PermissionDenied, ResourceExhausted, Unauthenticated, Unavailable, Unimplemented)
from .nowcast import NowcastStream  # noqa: E402
from .records import Record  # noqa: E402
from .training import Job, OnlineTraining  # noqa: E402

__version__ = "0.1.0"

__all__ = ["Client", "Job", "OnlineTraining", "AdaptSession", "NowcastStream", "Record",
           "AttuneError", "Cancelled", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
           "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "Unimplemented",
           "Internal", "Unavailable", "DataLoss", "Unauthenticated", "JobFailed", "JobCancelled"]
