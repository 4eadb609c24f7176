"""A bidirectional gRPC call driven one message at a time: send() a request, recv() its reply."""
import queue

_END = object()


class Duplex:
    def __init__(self, method, metadata):
        self._q = queue.Queue()
        self._call = method(self._requests(), metadata=metadata)
        self._writing = True

    def _requests(self):
        while True:
            m = self._q.get()
            if m is _END:
                return
            yield m

    def send(self, msg):
        self._q.put(msg)

    def recv(self):
        """The next reply, or None when the server ended the call; raises grpc.RpcError."""
        try:
            return next(self._call)
        except StopIteration:
            return None
        except BaseException:
            self._end_writes()  # releases gRPC's request thread
            raise

    def _end_writes(self):
        if self._writing:
            self._writing = False
            self._q.put(_END)

    def finish(self):
        """Closes the client side and returns the replies that still arrive."""
        self._end_writes()
        out = []
        while True:
            r = self.recv()
            if r is None:
                return out
            out.append(r)

    def cancel(self):
        self._end_writes()
        self._call.cancel()
