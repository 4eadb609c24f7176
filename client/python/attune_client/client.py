"""The Client: one channel, typed methods, NumPy in and out, typed errors."""
import functools
import os

import grpc

from attune.v1 import model_service_pb2 as ms
from attune.v1 import model_service_pb2_grpc as ms_grpc
from attune.v1 import tensor_pb2
from inference import open_inference_grpc_pb2 as oip
from inference import open_inference_grpc_pb2_grpc as oip_grpc

from .errors import from_rpc_error
from .tensors import from_raw, kserve_datatype, to_raw

_CHUNK = 3 << 20  # files above this go through LoadModelStream

_DTYPES = {"FP32": tensor_pb2.FLOAT32, "FP64": tensor_pb2.FLOAT64, "INT64": tensor_pb2.INT64,
           "INT32": tensor_pb2.INT32, "UINT8": tensor_pb2.UINT8, "INT8": tensor_pb2.INT8,
           "FP16": tensor_pb2.FLOAT16, "BF16": tensor_pb2.BFLOAT16, "BOOL": tensor_pb2.BOOL}


def _rpc(fn):
    """Re-raises grpc.RpcError as the matching attune_client exception."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None
    return wrapper


def _spec(name, datatype, shape):
    return tensor_pb2.TensorSpec(name=name, dtype=_DTYPES[datatype], shape=list(shape))


class Client:
    """Connects to attune-server.

    address: "host:port" (default $ATTUNE_SERVER or localhost:50051)
    token:   bearer token sent as `authorization` metadata (servers started with --tokens-file)
    tls:     None for plaintext, or a dict {"ca": path, "cert": path, "key": path} (cert/key for mTLS)
    timeout: seconds for unary calls
    """

    def __init__(self, address=None, token=None, tls=None, timeout=60.0):
        self.address = address or os.environ.get("ATTUNE_SERVER", "localhost:50051")
        self.timeout = timeout
        self._metadata = (("authorization", "Bearer " + token),) if token else ()
        options = [("grpc.max_receive_message_length", 1 << 30),
                   ("grpc.max_send_message_length", 1 << 30)]
        if tls:
            def read(p):
                with open(p, "rb") as f:
                    return f.read()
            creds = grpc.ssl_channel_credentials(
                root_certificates=read(tls["ca"]),
                private_key=read(tls["key"]) if tls.get("key") else None,
                certificate_chain=read(tls["cert"]) if tls.get("cert") else None)
            self.channel = grpc.secure_channel(self.address, creds, options=options)
        else:
            self.channel = grpc.insecure_channel(self.address, options=options)
        self.models = ms_grpc.ModelServiceStub(self.channel)
        self.inference = oip_grpc.GRPCInferenceServiceStub(self.channel)

    def close(self):
        self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method, request):
        return method(request, timeout=self.timeout, metadata=self._metadata)

    # ---- models -------------------------------------------------------------------------
    @_rpc
    def load_model(self, path_or_bytes, name, inputs=None, outputs=None, version=0):
        """Loads a TorchScript model from a file path or bytes. inputs/outputs are optional
        lists of (name, datatype, shape) like ("image", "FP32", [-1, 1, 28, 28])."""
        data = path_or_bytes
        if isinstance(path_or_bytes, (str, os.PathLike)):
            with open(path_or_bytes, "rb") as f:
                data = f.read()
        req = ms.LoadModelRequest(name=name, version=version,
                                  inputs=[_spec(*s) for s in inputs or []],
                                  outputs=[_spec(*s) for s in outputs or []])
        if len(data) <= _CHUNK:
            req.torchscript = data
            return self._call(self.models.LoadModel, req)

        def chunks():
            yield ms.LoadModelChunk(request=req)
            for off in range(0, len(data), _CHUNK):
                yield ms.LoadModelChunk(data=data[off:off + _CHUNK])
        return self.models.LoadModelStream(chunks(), metadata=self._metadata)

    @_rpc
    def load_from_repository(self, repository_path, name="", version=0):
        return self._call(self.models.LoadModel, ms.LoadModelRequest(
            name=name, repository_path=repository_path, version=version))

    @_rpc
    def list_models(self):
        return list(self._call(self.models.ListModels, ms.ListModelsRequest()).models)

    @_rpc
    def get_model(self, name):
        return self._call(self.models.GetModel, ms.GetModelRequest(name=name))

    @_rpc
    def unload_model(self, name, version=0):
        return list(self._call(self.models.UnloadModel,
                               ms.UnloadModelRequest(name=name, version=version)).unloaded_versions)

    @_rpc
    def export_model(self, name, version=0):
        """Returns the TorchScript bytes of a version (0 = serving)."""
        return b"".join(c.data for c in self.models.ExportModel(
            ms.ExportModelRequest(name=name, version=version), metadata=self._metadata))

    # ---- inference (KServe v2) -----------------------------------------------------------
    @_rpc
    def infer(self, model, array, version=None, input_name=None):
        """Runs ModelInfer on one input array; returns the first output as a NumPy array
        (use infer_all for every output)."""
        return next(iter(self.infer_all(model, {input_name: array}, version).values()))

    @_rpc
    def infer_all(self, model, inputs, version=None):
        """inputs: {name: array} (name None = the model's single input). Returns {name: array}."""
        req = oip.ModelInferRequest(model_name=model, model_version=str(version or ""))
        names = [n for n in inputs]
        if None in names:
            meta = self._call(self.inference.ModelMetadata, oip.ModelMetadataRequest(name=model))
            default = meta.inputs[0].name if meta.inputs else "input"
        for name, array in inputs.items():
            req.inputs.add(name=name or default, datatype=kserve_datatype(array), shape=list(array.shape))
            req.raw_input_contents.append(to_raw(array))
        resp = self._call(self.inference.ModelInfer, req)
        return {o.name: from_raw(o.datatype, o.shape, raw)
                for o, raw in zip(resp.outputs, resp.raw_output_contents)}

    @_rpc
    def server_ready(self):
        return self._call(self.inference.ServerReady, oip.ServerReadyRequest()).ready
