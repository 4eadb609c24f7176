"""NumPy arrays <-> tensors on the wire (raw little-endian, row-major bytes).

Two encodings carry the same bytes: KServe v2 (datatype strings such as "FP32", used by
ModelInfer) and attune.v1.Tensor (a DataType enum, used by datasets, training and adaptation).
"""
import numpy as np

from attune.v1 import tensor_pb2

KSERVE_TO_NUMPY = {
    "FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32,
    "UINT8": np.uint8, "INT8": np.int8, "FP16": np.float16, "BOOL": np.bool_,
}
NUMPY_TO_KSERVE = {np.dtype(v): k for k, v in KSERVE_TO_NUMPY.items()}

# attune.v1.DataType <-> KServe datatype names (BF16 has no NumPy dtype: raw bytes only).
KSERVE_TO_ENUM = {"FP32": tensor_pb2.FLOAT32, "FP64": tensor_pb2.FLOAT64, "INT64": tensor_pb2.INT64,
                  "INT32": tensor_pb2.INT32, "UINT8": tensor_pb2.UINT8, "INT8": tensor_pb2.INT8,
                  "FP16": tensor_pb2.FLOAT16, "BF16": tensor_pb2.BFLOAT16, "BOOL": tensor_pb2.BOOL}
ENUM_TO_KSERVE = {v: k for k, v in KSERVE_TO_ENUM.items()}

_SUPPORTED = "float32, float64, int64, int32, uint8, int8, float16 or bool"


def kserve_datatype(array):
    try:
        return NUMPY_TO_KSERVE[array.dtype]
    except KeyError:
        raise TypeError("unsupported dtype %s (use %s)" % (array.dtype, _SUPPORTED)) from None


def datatype_name(dtype):
    """A KServe datatype name from "FP32", a NumPy dtype (np.float32, "float32") or a
    DataType enum value."""
    if isinstance(dtype, str) and dtype.upper() in KSERVE_TO_ENUM:
        return dtype.upper()
    if isinstance(dtype, int) and dtype in ENUM_TO_KSERVE:
        return ENUM_TO_KSERVE[dtype]
    try:
        return NUMPY_TO_KSERVE[np.dtype(dtype)]
    except (TypeError, KeyError):
        raise TypeError("unsupported dtype %r (use FP32, FP64, INT64, INT32, UINT8, INT8, FP16, BF16, "
                        "BOOL or a NumPy dtype)" % (dtype,)) from None


def as_array(x):
    """Accepts NumPy arrays, nested lists and torch tensors (anything with .numpy())."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach") and hasattr(x, "numpy"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def to_raw(array):
    return np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()


def from_raw(datatype, shape, raw):
    if datatype not in KSERVE_TO_NUMPY:
        raise TypeError("the server returned %s, which NumPy cannot represent" % datatype)
    dt = np.dtype(KSERVE_TO_NUMPY[datatype]).newbyteorder("<")
    return np.frombuffer(raw, dtype=dt).astype(dt.newbyteorder("="), copy=True).reshape(tuple(shape))


def to_tensor(array):
    """NumPy array -> attune.v1.Tensor."""
    array = as_array(array)
    return tensor_pb2.Tensor(dtype=KSERVE_TO_ENUM[kserve_datatype(array)], shape=list(array.shape),
                             data=to_raw(array))


def from_tensor(t):
    """attune.v1.Tensor -> NumPy array."""
    if t.dtype not in ENUM_TO_KSERVE:
        raise TypeError("tensor with unspecified dtype")
    return from_raw(ENUM_TO_KSERVE[t.dtype], list(t.shape), t.data)
