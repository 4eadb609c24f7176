"""NumPy arrays <-> KServe v2 tensors (raw little-endian bytes)."""
import numpy as np

KSERVE_TO_NUMPY = {
    "FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32,
    "UINT8": np.uint8, "INT8": np.int8, "FP16": np.float16, "BOOL": np.bool_,
}
NUMPY_TO_KSERVE = {np.dtype(v): k for k, v in KSERVE_TO_NUMPY.items()}


def kserve_datatype(array):
    try:
        return NUMPY_TO_KSERVE[array.dtype]
    except KeyError:
        raise TypeError("unsupported dtype %s (use float32/64, int32/64, uint8, int8, bool)" % array.dtype)


def to_raw(array):
    return np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()


def from_raw(datatype, shape, raw):
    return np.frombuffer(raw, dtype=np.dtype(KSERVE_TO_NUMPY[datatype]).newbyteorder("<")).reshape(tuple(shape)).copy()
