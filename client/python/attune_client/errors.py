"""Typed exceptions carrying the gRPC status code and the server's message.

Every call of the client raises an AttuneError subclass instead of grpc.RpcError:

    try:
        client.infer("no-such-model", x)
    except NotFound as e:
        print(e.code.name, e.details)   # NOT_FOUND model 'no-such-model' not found (...)
"""
import functools

import grpc


class AttuneError(Exception):
    """Base class: `.code` is the grpc.StatusCode, `.details` the server's message."""

    def __init__(self, code, details):
        super().__init__("%s: %s" % (code.name, details))
        self.code = code
        self.details = details


class Cancelled(AttuneError):
    pass


class InvalidArgument(AttuneError):
    pass


class DeadlineExceeded(AttuneError):
    pass


class NotFound(AttuneError):
    pass


class AlreadyExists(AttuneError):
    pass


class PermissionDenied(AttuneError):
    pass


class ResourceExhausted(AttuneError):
    pass


class FailedPrecondition(AttuneError):
    pass


class Aborted(AttuneError):
    pass


class Unimplemented(AttuneError):
    pass


class Internal(AttuneError):
    pass


class Unavailable(AttuneError):
    pass


class DataLoss(AttuneError):
    pass


class Unauthenticated(AttuneError):
    pass


class JobFailed(AttuneError):
    """A training job ended FAILED (or CANCELLED, see JobCancelled). `.code` is the status code
    the server recorded for the job, `.details` its message, `.job` the final job record."""

    def __init__(self, code, details, job):
        super().__init__(code, details)
        self.job = job
        self.args = ("job %s ended %s: %s: %s" % (job.name, job.metadata.state, code.name, details),)


class JobCancelled(JobFailed):
    pass


_BY_CODE = {
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.ABORTED: Aborted,
    grpc.StatusCode.UNIMPLEMENTED: Unimplemented,
    grpc.StatusCode.INTERNAL: Internal,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DATA_LOSS: DataLoss,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
}

_BY_NUMBER = {c.value[0]: c for c in grpc.StatusCode}


def status_code(number):
    """google.rpc.Code number (as in JobError.code) -> grpc.StatusCode."""
    return _BY_NUMBER.get(number, grpc.StatusCode.UNKNOWN)


def error_class(code):
    return _BY_CODE.get(code, AttuneError)


def from_rpc_error(e):
    """Converts a grpc.RpcError into the matching AttuneError subclass."""
    code = e.code() if callable(getattr(e, "code", None)) else grpc.StatusCode.UNKNOWN
    details = e.details() if callable(getattr(e, "details", None)) else str(e)
    if code == grpc.StatusCode.UNAVAILABLE and not details:
        details = "server unreachable"
    return error_class(code)(code, details or "")


def rpc(fn):
    """Decorator: re-raises grpc.RpcError as the matching AttuneError subclass."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None
    return wrapper
