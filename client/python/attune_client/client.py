"""The Client: one channel, typed methods, NumPy in and out, typed errors."""
import os

import grpc
import numpy as np

from attune.v1 import adaptation_service_pb2 as ad
from attune.v1 import adaptation_service_pb2_grpc as ad_grpc
from attune.v1 import dataset_service_pb2 as ds
from attune.v1 import dataset_service_pb2_grpc as ds_grpc
from attune.v1 import model_service_pb2 as ms
from attune.v1 import model_service_pb2_grpc as ms_grpc
from attune.v1 import nowcast_service_pb2 as nc
from attune.v1 import nowcast_service_pb2_grpc as nc_grpc
from attune.v1 import training_service_pb2 as tr
from attune.v1 import training_service_pb2_grpc as tr_grpc
from inference import open_inference_grpc_pb2 as oip
from inference import open_inference_grpc_pb2_grpc as oip_grpc

from . import _stubs
from ._requests import adaptation_options, architecture_spec, job_spec, model_ref, stream_config, tensor_spec
from .adaptation import AdaptSession
from .errors import rpc
from .nowcast import NowcastStream
from .records import to_record
from .tensors import KSERVE_TO_ENUM, as_array, from_raw, kserve_datatype, to_raw, to_tensor
from .training import Job, OnlineTraining

_CHUNK = 3 << 20  # model files above this go through LoadModelStream; dataset batches of about this size


def _read(path_or_bytes):
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return bytes(path_or_bytes)
    with open(path_or_bytes, "rb") as f:
        return f.read()


class Client:
    """Connects to attune-server.

    address: "host:port" (default $ATTUNE_SERVER or localhost:50051)
    token:   bearer token sent as `authorization` metadata to servers started with --tokens-file
             (default $ATTUNE_TOKEN)
    tls:     None for plaintext; True for TLS with the system's roots; a CA file path; or a dict
             {"ca": path, "cert": path, "key": path, "server_name": name} (cert/key for mTLS,
             server_name overrides the name checked against the certificate); or
             grpc.ChannelCredentials
    timeout: seconds for unary calls (streams have none)
    """

    def __init__(self, address=None, token=None, tls=None, timeout=60.0):
        self.address = address or os.environ.get("ATTUNE_SERVER") or "localhost:50051"
        self.timeout = timeout
        token = token if token is not None else os.environ.get("ATTUNE_TOKEN")
        self.metadata = (("authorization", "Bearer " + token),) if token else ()
        options = [("grpc.max_receive_message_length", 1 << 30),
                   ("grpc.max_send_message_length", 1 << 30)]
        if tls is None or tls is False:
            self.channel = grpc.insecure_channel(self.address, options=options)
        else:
            creds, override = self._credentials(tls)
            if override:
                options.append(("grpc.ssl_target_name_override", override))
            self.channel = grpc.secure_channel(self.address, creds, options=options)
        self.models = ms_grpc.ModelServiceStub(self.channel)
        self.inference = oip_grpc.GRPCInferenceServiceStub(self.channel)
        self.datasets = ds_grpc.DatasetServiceStub(self.channel)
        self.training = tr_grpc.TrainingServiceStub(self.channel)
        self.adaptation = ad_grpc.AdaptationServiceStub(self.channel)
        self.nowcast = nc_grpc.NowcastServiceStub(self.channel)
        self._input_names = {}

    @staticmethod
    def _credentials(tls):
        if isinstance(tls, grpc.ChannelCredentials):
            return tls, None
        if tls is True:
            return grpc.ssl_channel_credentials(), None
        if isinstance(tls, (str, os.PathLike)):
            tls = {"ca": tls}
        if not isinstance(tls, dict):
            raise TypeError("tls: expected None, True, a CA file path, a dict(ca=, cert=, key=, server_name=) "
                            "or grpc.ChannelCredentials")
        unknown = set(tls) - {"ca", "cert", "key", "server_name"}
        if unknown:
            raise TypeError("tls: unknown keys %s (expected ca, cert, key, server_name)" % sorted(unknown))
        if bool(tls.get("cert")) != bool(tls.get("key")):
            raise TypeError("tls: mutual TLS needs both `cert` and `key`")
        get = lambda k: _read(tls[k]) if tls.get(k) else None  # noqa: E731
        creds = grpc.ssl_channel_credentials(root_certificates=get("ca"), private_key=get("key"),
                                             certificate_chain=get("cert"))
        return creds, tls.get("server_name")

    def close(self):
        self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "Client(%r)" % self.address

    def _call(self, method, request, timeout=None):
        return method(request, timeout=timeout or self.timeout, metadata=self.metadata)

    # ---- server -------------------------------------------------------------------------
    @rpc
    def health(self, service=""):
        """grpc.health.v1 Check: "SERVING", "NOT_SERVING", ... for the server ("") or a service
        ("liveness", "attune.v1.ModelService", ...)."""
        h = _stubs.health_pb2()
        check = self.channel.unary_unary("/grpc.health.v1.Health/Check",
                                         request_serializer=h.HealthCheckRequest.SerializeToString,
                                         response_deserializer=h.HealthCheckResponse.FromString)
        resp = self._call(check, h.HealthCheckRequest(service=service))
        return h.HealthCheckResponse.ServingStatus.Name(resp.status)

    def wait_ready(self, timeout=30.0):
        """Blocks until the channel connects and the server reports SERVING."""
        try:
            grpc.channel_ready_future(self.channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise TimeoutError("attune-server at %s not reachable within %.0f s (is it running? TLS or "
                               "plaintext as the server expects?)" % (self.address, timeout)) from None
        return self.health()

    @rpc
    def server_ready(self):
        return self._call(self.inference.ServerReady, oip.ServerReadyRequest()).ready

    @rpc
    def server_metadata(self):
        return to_record(self._call(self.inference.ServerMetadata, oip.ServerMetadataRequest()))

    # ---- models -------------------------------------------------------------------------
    @rpc
    def load_model(self, path_or_bytes, name, inputs=None, outputs=None, version=0):
        """Loads a TorchScript model (torch.jit.script(m).save(path)) from a file path or bytes.
        inputs/outputs optionally declare tensors, e.g. [("image", "FP32", [-1, 1, 28, 28])],
        enabling shape checks. Files above 3 MiB are streamed. Returns the model record."""
        data = _read(path_or_bytes)
        req = ms.LoadModelRequest(name=name, version=version,
                                  inputs=[tensor_spec(s) for s in inputs or []],
                                  outputs=[tensor_spec(s) for s in outputs or []])
        self._input_names.clear()
        if len(data) <= _CHUNK:
            req.torchscript = data
            return to_record(self._call(self.models.LoadModel, req))

        def chunks():
            yield ms.LoadModelChunk(request=req)
            for off in range(0, len(data), _CHUNK):
                yield ms.LoadModelChunk(data=data[off:off + _CHUNK])
        return to_record(self.models.LoadModelStream(chunks(), metadata=self.metadata))

    @rpc
    def load_from_repository(self, repository_path, name="", version=0):
        """Loads <model-repository>/<repository_path> on the server ("cnn_bn" or "cnn_bn/1")."""
        self._input_names.clear()
        return to_record(self._call(self.models.LoadModel, ms.LoadModelRequest(
            name=name, repository_path=repository_path, version=version)))

    @rpc
    def create_model(self, name, architecture, seed=0, version=0, **params):
        """A built-in architecture as TorchScript, e.g.
        create_model("fashion", "cnn", in_channels=1, height=28, width=28, classes=10)
        (kinds: mlp, cnn, lstm, transformer; parameters as in model_service.proto)."""
        req = ms.CreateModelRequest(name=name, architecture=architecture_spec(architecture, **params),
                                    seed=seed, version=version)
        return to_record(self._call(self.models.CreateModel, req))

    @rpc
    def list_models(self):
        return [to_record(m) for m in self._call(self.models.ListModels, ms.ListModelsRequest()).models]

    @rpc
    def get_model(self, name):
        return to_record(self._call(self.models.GetModel, ms.GetModelRequest(name=name)))

    @rpc
    def unload_model(self, name, version=0):
        """Unloads one version, or the whole model (version 0). Returns the unloaded versions."""
        self._input_names.clear()
        return list(self._call(self.models.UnloadModel,
                               ms.UnloadModelRequest(name=name, version=version)).unloaded_versions)

    @rpc
    def export_model(self, name, version=0, path=None):
        """The TorchScript bytes of a version (0 = serving); written to `path` if given."""
        data = b"".join(c.data for c in self.models.ExportModel(
            ms.ExportModelRequest(name=name, version=version), metadata=self.metadata))
        if path is None:
            return data
        tmp = "%s.part%d" % (path, os.getpid())
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return path

    # ---- inference (KServe v2) ------------------------------------------------------------
    @rpc
    def model_metadata(self, model, version=None):
        return to_record(self._call(self.inference.ModelMetadata,
                                    oip.ModelMetadataRequest(name=model, version=str(version or ""))))

    @rpc
    def infer(self, model, array, version=None, input_name=None):
        """ModelInfer on one input (NumPy array, nested list or torch tensor); returns the first
        output as a NumPy array (infer_all returns every output)."""
        return next(iter(self.infer_all(model, {input_name: array}, version).values()))

    @rpc
    def infer_all(self, model, inputs, version=None):
        """inputs: {name: array} (name None = the model's first input). Returns {name: array}."""
        key = (model, str(version or ""))
        req = oip.ModelInferRequest(model_name=model, model_version=key[1])
        for name, array in inputs.items():
            array = as_array(array)
            if name is None:
                if key not in self._input_names:
                    meta = self._call(self.inference.ModelMetadata,
                                      oip.ModelMetadataRequest(name=model, version=key[1]))
                    self._input_names[key] = meta.inputs[0].name if meta.inputs else "input"
                name = self._input_names[key]
            req.inputs.add(name=name, datatype=kserve_datatype(array), shape=list(array.shape))
            req.raw_input_contents.append(to_raw(array))
        try:
            resp = self._call(self.inference.ModelInfer, req)
        except grpc.RpcError:
            self._input_names.pop(key, None)  # the model may have changed: ask again next time
            raise
        return {o.name: from_raw(o.datatype, o.shape, raw)
                for o, raw in zip(resp.outputs, resp.raw_output_contents)}

    # ---- datasets -------------------------------------------------------------------------
    @rpc
    def upload_dataset(self, name, x, y, feature_scale=1.0):
        """Uploads features x [n, ...] and labels y [n] (integer class ids) or [n, ...] (float
        regression targets) as a dataset, streamed in batches of about 3 MiB."""
        x, y = as_array(x), as_array(y)
        if x.ndim < 1 or y.ndim < 1 or len(x) != len(y):
            raise ValueError("upload_dataset: x and y need the same first dimension, received shapes %s and %s"
                             % (x.shape, y.shape))
        if np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_:
            y = y.astype(np.int64)
        x = np.ascontiguousarray(x)
        header = ds.UploadDatasetHeader(
            name=name, feature_dtype=KSERVE_TO_ENUM[kserve_datatype(x)], feature_shape=list(x.shape[1:]),
            label_dtype=KSERVE_TO_ENUM[kserve_datatype(y)], label_shape=list(y.shape[1:]),
            feature_scale=feature_scale)
        row_bytes = max(1, (x.nbytes + y.nbytes) // max(1, len(x)))
        rows = max(1, _CHUNK // row_bytes)

        def chunks():
            yield ds.UploadDatasetChunk(header=header)
            for i in range(0, len(x), rows):
                yield ds.UploadDatasetChunk(batch=ds.DatasetBatch(features=to_tensor(x[i:i + rows]),
                                                                  labels=to_tensor(y[i:i + rows])))
        return to_record(self.datasets.UploadDataset(chunks(), metadata=self.metadata))

    @rpc
    def import_dataset(self, name, path, format=None, split="", labels_path="", limit=0, label_column="",
                       regression=False):
        """Imports files inside the server's --datasets-dir: an MNIST/IDX folder or images file
        (format "idx"; split "train" or "test") or a CSV file (format "csv", the default for
        *.csv; label_column defaults to the last column)."""
        fmt = (format or ("csv" if str(path).lower().endswith(".csv") else "idx")).upper()
        if fmt not in ("CSV", "IDX"):
            raise ValueError("import_dataset: format expected 'idx' or 'csv', received %r" % format)
        req = ds.ImportDatasetRequest(name=name, format=ds.ImportDatasetRequest.Format.Value(fmt), path=str(path),
                                      split=split, labels_path=labels_path, limit=limit,
                                      label_column=label_column, regression=regression)
        return to_record(self._call(self.datasets.ImportDataset, req, timeout=max(self.timeout, 600)))

    @rpc
    def list_datasets(self):
        return [to_record(d) for d in self._call(self.datasets.ListDatasets, ds.ListDatasetsRequest()).datasets]

    @rpc
    def get_dataset(self, name):
        return to_record(self._call(self.datasets.GetDataset, ds.GetDatasetRequest(name=name)))

    @rpc
    def delete_dataset(self, name):
        self._call(self.datasets.DeleteDataset, ds.DeleteDatasetRequest(name=name))

    # ---- training -------------------------------------------------------------------------
    @rpc
    def train(self, dataset, model=None, **spec):
        """Starts a training job and returns its Job handle at once. Keywords: model (name,
        "name:version" or (name, version)) or architecture (a dict such as {"mlp": {...}});
        optimizer (name or OptimizerSpec dict), lr, weight_decay, optimizer_options; schedule
        ("warmup_cosine" or a ScheduleSpec dict), warmup_steps; batch_size or batch (BatchSpec
        dict); loss ("cross_entropy", "mse", "l1"); early_stopping (patience or a dict); and any
        JobSpec field: epochs, max_steps, validation_split, validation_dataset, clip_grad_norm,
        eval_every_steps, checkpoint_every_steps, seed, deterministic, publish_name, world_size.
        Fine-tune a hosted model:
            job = client.train("fmnist", model="cnn_bn", optimizer="adan", lr=2e-3, epochs=1)
        or train an architecture from scratch (publish_name required):
            job = client.train("syn", architecture={"mlp": {"in_features": 8, "out_features": 4}},
                               publish_name="fresh", max_steps=100)
        then job.watch() yields progress events and job.result() blocks for the result."""
        req = tr.StartTrainingRequest(spec=job_spec(dataset, model, **spec))
        return Job(self, self._call(self.training.StartTraining, req))

    @rpc
    def job(self, name):
        """A handle on an existing job ("jobs/<id>" or "<id>")."""
        return Job(self, self._call(self.training.GetJob, tr.GetJobRequest(name=name)))

    @rpc
    def list_jobs(self, state=None):
        """Every job (as records), optionally only those in `state` ("JOB_RUNNING" or "running")."""
        s = 0
        if state:
            s = tr.JobState.Value(state.upper() if state.upper().startswith("JOB_") else "JOB_" + state.upper())
        return [to_record(j) for j in self._call(self.training.ListJobs, tr.ListJobsRequest(state=s)).jobs]

    @rpc
    def list_optimizers(self):
        return [to_record(o) for o in
                self._call(self.training.ListOptimizers, tr.ListOptimizersRequest()).optimizers]

    def train_online(self, model, optimizer="sgd", loss=None, clip_grad_norm=0.0, publish_name="", **optimizer_options):
        """Online fine-tuning over one TrainStream call, as a context manager:
            with client.train_online("mlp", optimizer="adam", lr=1e-3) as t:
                t.step(x, y)            # one optimizer step; returns step, loss, learning_rate
            t.published                 # the new model version, published when the block ends
        An exception inside the block cancels the stream and publishes nothing."""
        return OnlineTraining(self, model, optimizer, loss, clip_grad_norm, publish_name, optimizer_options)

    # ---- adaptation -----------------------------------------------------------------------
    @rpc
    def adapt_session(self, model, method="eta", version=0, **options):
        """Creates a test-time adaptation session on a private copy of `model` (methods: source,
        norm, tent, eta, eata, lame; options as AdaptationOptions: episodic, steps, optimizer,
        lr, momentum, nesterov, weight_decay, e_margin_factor, d_margin, fisher_alpha, affinity,
        knn, force_symmetry). Use it as a context manager; it is closed on exit:
            with client.adapt_session("cnn_bn", method="tent", lr=1e-3) as s:
                out = s.adapt(images)        # out.probabilities, out.predictions, out.stats
        """
        opts = adaptation_options(method, **options)
        session = self._call(self.adaptation.CreateSession,
                             ad.CreateSessionRequest(model=model_ref(model, version), options=opts))
        return AdaptSession(self, session)

    @rpc
    def list_sessions(self):
        return [to_record(s) for s in
                self._call(self.adaptation.ListSessions, ad.ListSessionsRequest()).sessions]

    def session(self, session_id):
        """A handle on an existing session (not closed on exit unless you ask: use .close())."""
        return AdaptSession(self, self._get_session(session_id))

    @rpc
    def _get_session(self, session_id):
        return self._call(self.adaptation.GetSession, ad.GetSessionRequest(session=session_id))

    # ---- nowcasting -----------------------------------------------------------------------
    @rpc
    def nowcast_stream(self, name, variables=None, targets=None, exist_ok=False, **config):
        """Creates a nowcasting stream and returns its handle, or, without `variables`, opens an
        existing one. config: resolution ("1d", "1h", "15m" or seconds), lags, horizons,
        calendar_features, model ("ridge", ... or a dict of NowcastModelConfig), window ("fixed",
        "variance_horizon", ... or a dict), retrain (trigger name or a dict),
        retrain_mode ("background" or "synchronous"). exist_ok: open the stream if it exists."""
        if variables is None:
            if targets is not None or config:
                raise TypeError("nowcast_stream: pass `variables` to create a stream (without them the "
                                "existing stream %r is opened)" % name)
            return NowcastStream(self, self._call(self.nowcast.GetStream, nc.GetStreamRequest(name=name)))
        cfg = stream_config(name, variables, targets, **config)
        try:
            created = self._call(self.nowcast.CreateStream, nc.CreateStreamRequest(config=cfg))
        except grpc.RpcError as e:
            if not (exist_ok and e.code() == grpc.StatusCode.ALREADY_EXISTS):
                raise
            created = self._call(self.nowcast.GetStream, nc.GetStreamRequest(name=name))
        return NowcastStream(self, created)

    @rpc
    def list_streams(self):
        return [to_record(s) for s in self._call(self.nowcast.ListStreams, nc.ListStreamsRequest()).streams]
