"""Test-time adaptation sessions (AdaptationService)."""
import grpc
import numpy as np

from attune.v1 import adaptation_service_pb2 as ad

from ._duplex import Duplex
from .errors import Internal, from_rpc_error, rpc
from .records import to_record
from .tensors import as_array, to_tensor

_FISHER_ROWS = 256  # samples per ComputeFisher message


def _adapted(resp):
    rec = to_record(resp)
    rec.predictions = np.asarray(rec.predictions, dtype=np.int64)
    return rec


class AdaptSession:
    """A session adapting a private copy of a model. adapt(batch) returns a record:
    probabilities (NumPy [N, C]: softmax, or LAME's corrected assignment), predictions (NumPy
    int64 [N]), stats (samples, mean_entropy, reliable, used, filtered_entropy,
    filtered_redundant, updated, loss, fisher_penalty, lame_iterations), sequence, and logits
    (NumPy, only with return_logits=True). Batches of one session go over one Adapt stream, in
    order. Closed (CloseSession) when the `with` block ends or by close()."""

    def __init__(self, client, session):
        self._client = client
        self.info = to_record(session)
        self.id = session.id
        self._duplex = None
        self.closed = False

    def __repr__(self):
        return "AdaptSession(%r, %s on %s:%d)" % (self.id, self.info.options.method, self.info.model.name,
                                                  self.info.model.version)

    def _call(self, method, request):
        return self._client._call(method, request)

    @rpc
    def adapt(self, batch, return_logits=False):
        """Adapts on one batch [N, ...] of the model's input and returns the adapted predictions."""
        if self.closed:
            raise RuntimeError("session %s is closed" % self.id)
        if self._duplex is None:
            self._duplex = Duplex(self._client.adaptation.Adapt, self._client.metadata)
        self._duplex.send(ad.AdaptRequest(session=self.id, batch=to_tensor(batch), return_logits=return_logits))
        try:
            resp = self._duplex.recv()
        except grpc.RpcError:
            self._duplex = None  # the next call opens a new stream
            raise
        if resp is None:
            self._duplex = None
            raise Internal(grpc.StatusCode.INTERNAL, "the server ended the adaptation stream early")
        return _adapted(resp)

    def adapt_many(self, batches, return_logits=False):
        """Streams an iterable of batches through one Adapt call (pipelined) and yields one
        result per batch, in order."""
        def requests():
            for b in batches:
                yield ad.AdaptRequest(session=self.id, batch=to_tensor(b), return_logits=return_logits)
        call = self._client.adaptation.Adapt(requests(), metadata=self._client.metadata)
        try:
            for resp in call:
                yield _adapted(resp)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None
        finally:
            call.cancel()

    @rpc
    def compute_fisher(self, dataset=None, samples=None, size=None, batch_size=None, seed=0):
        """EATA's Fisher information from clean in-distribution samples: a dataset on the server
        (`dataset`, `size` samples, default 2000) or a NumPy array of samples streamed from
        here. Returns the session record (has_fisher, fisher_samples)."""
        if (dataset is None) == (samples is None):
            raise TypeError("compute_fisher: pass `dataset` (a dataset name) or `samples` (an array), exactly one")
        if samples is not None:
            samples = as_array(samples)
            size = size or len(samples)
        header = ad.FisherHeader(session=self.id, dataset=dataset or "", size=size or 0,
                                 batch_size=batch_size or 0, seed=seed)

        def requests():
            yield ad.ComputeFisherRequest(header=header)
            if samples is not None:
                for i in range(0, len(samples), _FISHER_ROWS):
                    yield ad.ComputeFisherRequest(samples=to_tensor(samples[i:i + _FISHER_ROWS]))
        self.info = to_record(self._client.adaptation.ComputeFisher(requests(), metadata=self._client.metadata))
        return self.info

    @rpc
    def reset(self):
        """Restores the source parameters, optimizer state and EATA's moving average."""
        self.info = to_record(self._call(self._client.adaptation.ResetSession, ad.ResetSessionRequest(session=self.id)))
        return self.info

    @rpc
    def refresh(self):
        """GetSession: the session record with its cumulative stats."""
        self.info = to_record(self._call(self._client.adaptation.GetSession, ad.GetSessionRequest(session=self.id)))
        return self.info

    @rpc
    def publish(self, name=""):
        """Publishes the adapted weights as a new model version (under `name`, default the
        source model's name). Returns the model record."""
        return to_record(self._call(self._client.adaptation.PublishSession,
                                    ad.PublishSessionRequest(session=self.id, name=name)))

    @rpc
    def close(self):
        """Ends the adaptation stream and closes the session on the server (idempotent)."""
        if self.closed:
            return
        if self._duplex is not None:
            duplex, self._duplex = self._duplex, None
            try:
                duplex.finish()
            except grpc.RpcError:
                pass  # the session is being closed anyway
        self._call(self._client.adaptation.CloseSession, ad.CloseSessionRequest(session=self.id))
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        try:
            self.close()
        except Exception:
            if exc_type is None:
                raise  # otherwise the block's own exception is the one to see
