"""Typed exceptions carrying the gRPC status code and the server's message."""
import grpc


class AttuneError(Exception):
    """Base class: `.code` is the grpc.StatusCode, `.details` the server's message."""

    def __init__(self, code, details):
        super().__init__("%s: %s" % (code.name, details))
        self.code = code
        self.details = details


class InvalidArgument(AttuneError):
    pass


class NotFound(AttuneError):
    pass


class AlreadyExists(AttuneError):
    pass


class FailedPrecondition(AttuneError):
    pass


class ResourceExhausted(AttuneError):
    pass


class Unavailable(AttuneError):
    pass


class Unauthenticated(AttuneError):
    pass


class PermissionDenied(AttuneError):
    pass


class Cancelled(AttuneError):
    pass


_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.CANCELLED: Cancelled,
}


def from_rpc_error(e):
    """Converts a grpc.RpcError into the matching AttuneError subclass."""
    cls = _BY_CODE.get(e.code(), AttuneError)
    return cls(e.code(), e.details())
