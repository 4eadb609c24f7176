"""Protobuf replies as plain Python values.

Every reply the client returns is a Record: an object whose attributes are the proto's fields
(snake_case names) holding plain values: int, float, str, bool, bytes, lists, dicts (proto maps),
enum values as their names ("READY", "JOB_SUCCEEDED"), attune.v1.Tensor fields as NumPy arrays.
Fields with presence (sub-messages, oneof members, `optional` scalars) are None when unset,
e.g. a job's `error` while it runs or a nowcast stream's `ratio` before W errors matured.

    model = client.get_model("cnn")
    model.serving_version, model.versions[-1].state        # 1, 'READY'
    model["serving_version"]                               # item access works too
    model.to_dict()                                        # nested plain dicts (e.g. for JSON)
"""
import types

from google.protobuf.descriptor import FieldDescriptor

from .tensors import from_tensor

_TENSOR = "attune.v1.Tensor"


class Record(types.SimpleNamespace):
    """Attribute access to a reply's fields, plus record["field"], "field" in record, fields()
    and to_dict(). (Not a dict: proto fields such as `values` would clash with dict methods.)"""

    def __getattr__(self, key):  # only called for missing attributes
        if key.startswith("__"):
            raise AttributeError(key)
        raise AttributeError("record has no field %r (fields: %s)" % (key, ", ".join(self.__dict__)))

    def __getitem__(self, key):
        return self.__dict__[key]

    def __setitem__(self, key, value):
        self.__dict__[key] = value

    def __contains__(self, key):
        return key in self.__dict__

    def fields(self):
        return list(self.__dict__)

    def to_dict(self):
        """Nested plain dicts and lists (NumPy arrays stay arrays)."""
        def plain(v):
            if isinstance(v, Record):
                return v.to_dict()
            if isinstance(v, list):
                return [plain(x) for x in v]
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            return v
        return {k: plain(v) for k, v in self.__dict__.items()}


def _value(field, value):
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return to_record(value)
    if field.type == FieldDescriptor.TYPE_ENUM:
        ev = field.enum_type.values_by_number.get(value)
        return ev.name if ev is not None else value
    return value


def to_record(msg):
    """Converts a protobuf message (recursively) into a Record; attune.v1.Tensor -> NumPy."""
    if msg.DESCRIPTOR.full_name == _TENSOR:
        return from_tensor(msg)
    out = {}
    for field in msg.DESCRIPTOR.fields:
        value = getattr(msg, field.name)
        if field.label == FieldDescriptor.LABEL_REPEATED:
            mt = field.message_type
            if mt is not None and mt.GetOptions().map_entry:
                vf = mt.fields_by_name["value"]
                out[field.name] = {k: _value(vf, v) for k, v in value.items()}
            else:
                out[field.name] = [_value(field, v) for v in value]
        elif field.has_presence and not msg.HasField(field.name):
            out[field.name] = None
        else:
            out[field.name] = _value(field, value)
    return Record(**out)

