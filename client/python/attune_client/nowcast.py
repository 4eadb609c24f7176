"""Nowcasting streams (NowcastService)."""
import os

import grpc

from attune.v1 import nowcast_service_pb2 as nc

from ._requests import observation
from .errors import from_rpc_error, rpc
from .records import Record, to_record

_MAX_BATCH = 10000  # observations per IngestRequest (server limit)


class NowcastStream:
    """A named observation stream with a forecaster. `info` is the latest stream record
    (config with every default filled in, observations, model_ready, horizons errors...)."""

    def __init__(self, client, stream):
        self._client = client
        self.info = to_record(stream)
        self.name = stream.config.name
        self.variables = list(stream.config.variables)
        self.targets = list(stream.config.targets)

    def __repr__(self):
        return "NowcastStream(%r, %d observations)" % (self.name, self.info.observations)

    def _call(self, method, request, timeout=None):
        return self._client._call(method, request, timeout)

    def ingest(self, rows, batch_size=1000):
        """Appends observations, `batch_size` per message over one Ingest call, and returns a
        record: ingested (this call), observations (the stream's durable total) and results (one
        per observation: step, time, forecast issued, matured errors, drift and retrain events).

        rows: (time, {variable: value}) pairs, or dicts holding a time key ("time", "date",
        "timestamp" or "datetime") and the stream's variables (other keys are ignored; a pandas
        DataFrame works too). Times: unix seconds, datetime/date (naive = UTC), numpy.datetime64
        or "YYYY-MM-DD[THH:MM[:SS]]"; strictly increasing.

        A rejected message ends the call with INVALID_ARGUMENT naming the observation; the
        exception's `acknowledged` attribute counts the observations of this call that were
        stored before it (they stay)."""
        if not 1 <= batch_size <= _MAX_BATCH:
            raise ValueError("ingest: batch_size expected 1..%d, received %d" % (_MAX_BATCH, batch_size))
        if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # pandas.DataFrame
            rows = rows.reset_index().to_dict("records") if rows.index.name in ("time", "date") \
                else rows.to_dict("records")
        obs = [observation(r, self.variables, i) for i, r in enumerate(rows)]
        if not obs:
            return Record(ingested=0, observations=self.info.observations, results=[])
        requests = [nc.IngestRequest(stream=self.name, observations=obs[i:i + batch_size])
                    for i in range(0, len(obs), batch_size)]
        c = self._client
        results, total = [], self.info.observations
        call = c.nowcast.Ingest(iter(requests), metadata=c.metadata)
        try:
            for resp in call:
                results.extend(to_record(r) for r in resp.results)
                total = resp.observations
        except grpc.RpcError as e:
            err = from_rpc_error(e)
            err.acknowledged = len(results)
            raise err from None
        self.info.observations = total
        return Record(ingested=len(results), observations=total, results=results)

    @rpc
    def forecast(self):
        """The forecast issued at the latest observation: step, issued_time, from_model (False:
        persistence before the first fit), model_version and horizons (horizon, valid_time,
        values {target: value}). FailedPrecondition before the first observation."""
        return to_record(self._call(self._client.nowcast.GetForecast, nc.GetForecastRequest(name=self.name)))

    @rpc
    def status(self, recent_fits=0):
        """GetStream: errors per target and horizon, skill, fits, compute, drift events and the
        most recent retrain decisions (recent_fits, default 20). Updates `info`."""
        self.info = to_record(self._call(self._client.nowcast.GetStream,
                                         nc.GetStreamRequest(name=self.name, recent_fits=recent_fits)))
        return self.info

    @rpc
    def delete(self):
        """Removes the stream and its files."""
        self._call(self._client.nowcast.DeleteStream, nc.DeleteStreamRequest(name=self.name))

    @rpc
    def export(self, path=None):
        """The stream's forecaster as one archive (format "attune.nowcast.snapshot.v1", readable
        with torch.jit.load). Returns a record: format, model_kind, model_version, observations,
        layout, and data (bytes) or path (written atomically when `path` is given).
        FailedPrecondition while no model has been fitted."""
        first, parts = None, []
        for chunk in self._client.nowcast.ExportStreamModel(nc.ExportStreamModelRequest(name=self.name),
                                                            metadata=self._client.metadata):
            first = first or chunk
            parts.append(chunk.data)
        data = b"".join(parts)
        out = Record(format=first.format if first else "", model_kind=first.model_kind if first else "",
                     model_version=first.model_version if first else 0,
                     observations=first.observations if first else 0, layout=first.layout if first else "")
        if path is None:
            out["data"] = data
        else:
            tmp = "%s.part%d" % (path, os.getpid())
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
            out["path"] = path
        return out
