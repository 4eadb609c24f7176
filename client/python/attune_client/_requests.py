"""Request messages from plain Python values (keyword arguments, dicts, NumPy, datetimes)."""
import calendar
import datetime
import math
import re

import numpy as np
from google.protobuf import json_format

from attune.v1 import adaptation_service_pb2 as ad
from attune.v1 import model_service_pb2 as ms
from attune.v1 import nowcast_service_pb2 as nc
from attune.v1 import tensor_pb2
from attune.v1 import training_service_pb2 as tr

from .tensors import KSERVE_TO_ENUM, datatype_name


def parse_dict(d, message, what):
    """Fills `message` from a dict in the proto's JSON form (snake_case or camelCase field names,
    enum names as strings); raises ValueError naming `what` and the field on a mismatch."""
    try:
        return json_format.ParseDict(d, message)
    except json_format.ParseError as e:
        raise ValueError("%s: %s" % (what, e)) from None


def _fields(message_cls):
    return list(message_cls.DESCRIPTOR.fields_by_name)


def _reject_unknown(what, given, allowed):
    unknown = set(given) - set(allowed)
    if unknown:
        raise TypeError("%s: unknown argument(s) %s (expected %s)"
                        % (what, ", ".join(sorted(unknown)), ", ".join(sorted(allowed))))


# ---- models --------------------------------------------------------------------------------

def tensor_spec(s):
    """("image", "FP32", [-1, 1, 28, 28]) or {"name":, "datatype" (or "dtype"):, "shape":}."""
    if isinstance(s, dict):
        name, dtype, shape = s["name"], s.get("datatype", s.get("dtype")), s["shape"]
    else:
        name, dtype, shape = s
    return tensor_pb2.TensorSpec(name=name, dtype=KSERVE_TO_ENUM[datatype_name(dtype)], shape=list(shape))


def model_ref(model, version=0):
    """"name", "name:3" or ("name", 3) -> ModelRef (version 0 = the serving version)."""
    if isinstance(model, tuple):
        model, version = model
    elif isinstance(model, str) and ":" in model and not version:
        model, v = model.rsplit(":", 1)
        version = int(v)
    if not isinstance(model, str):
        raise TypeError("model: expected a model name, received %r" % (model,))
    return ms.ModelRef(name=model, version=int(version or 0))


def architecture_spec(kind, **params):
    """("cnn", in_channels=1, ...) or a dict in the proto's JSON form, e.g.
    {"mlp": {"in_features": 8, "out_features": 4}} -> ArchitectureSpec."""
    if isinstance(kind, dict):
        if params:
            raise TypeError("architecture: pass either a dict or a kind with keyword parameters")
        return parse_dict(kind, ms.ArchitectureSpec(), "architecture")
    kinds = [f.name for f in ms.ArchitectureSpec.DESCRIPTOR.oneofs_by_name["kind"].fields]
    if kind not in kinds:
        raise ValueError("architecture: expected one of %s, received %r" % (", ".join(kinds), kind))
    return parse_dict({kind: params}, ms.ArchitectureSpec(), "architecture " + kind)


# ---- training ------------------------------------------------------------------------------

def _upper(d, key):
    if isinstance(d.get(key), str):
        d[key] = d[key].upper()
    return d


def optimizer_spec(optimizer, **options):
    """"adan" or {"name": "adan", "betas": [...], "options": {"no_prox": 1}} plus keyword
    fields of OptimizerSpec (lr, weight_decay, betas, eps, momentum, nesterov,
    exclude_bias_and_norm_from_decay); other keywords go to the optimizer's `options` map."""
    d = {"name": optimizer} if isinstance(optimizer, str) else dict(optimizer or {})
    extra = {}
    for k, v in options.items():
        if v is None:
            continue
        if k in tr.OptimizerSpec.DESCRIPTOR.fields_by_name:
            d[k] = v
        else:
            extra[k] = float(v)
    if extra:
        d["options"] = dict(d.get("options", {}), **extra)
    return parse_dict(d, tr.OptimizerSpec(), "optimizer")


def job_spec(dataset, model=None, version=0, architecture=None, optimizer="adam", lr=None, weight_decay=None,
             schedule=None, warmup_steps=None, batch_size=None, batch=None, loss=None, early_stopping=None,
             optimizer_options=None, **fields):
    """JobSpec from keywords: `model` (name, "name:version" or (name, version)) to fine-tune or
    `architecture` (kind dict, see architecture_spec) to train from scratch; optimizer (name or
    dict) with lr/weight_decay/optimizer_options; schedule ("warmup_cosine" or a dict) with
    warmup_steps; batch_size (or batch, a BatchSpec dict such as {"size": 2, "policy":
    "ADADAGRAD"}); loss ("cross_entropy", "mse", "l1"); early_stopping (patience or a dict); and
    any other JobSpec field: epochs, max_steps, validation_split, validation_dataset,
    clip_grad_norm, eval_every_steps, checkpoint_every_steps, seed, deterministic, publish_name,
    world_size."""
    if (model is None) == (architecture is None):
        raise TypeError("train: pass `model` (a hosted model to fine-tune) or `architecture` (to train "
                        "from scratch), exactly one")
    allowed = set(_fields(tr.JobSpec)) - {"model", "architecture", "dataset", "optimizer", "schedule", "batch",
                                          "loss", "early_stopping"}
    _reject_unknown("train", fields, allowed)
    spec = parse_dict({k: v for k, v in fields.items() if v is not None}, tr.JobSpec(), "train")
    spec.dataset = dataset
    if model is not None:
        spec.model.CopyFrom(model_ref(model, version))
    else:
        spec.architecture.CopyFrom(architecture_spec(architecture))
    spec.optimizer.CopyFrom(optimizer_spec(optimizer, lr=lr, weight_decay=weight_decay, **(optimizer_options or {})))
    if schedule is not None or warmup_steps is not None:
        s = {"kind": schedule} if isinstance(schedule, str) else dict(schedule or {})
        if warmup_steps is not None:
            s["warmup_steps"] = warmup_steps
        parse_dict(_upper(s, "kind"), spec.schedule, "schedule")
    if batch is not None or batch_size is not None:
        b = dict(batch or {})
        if batch_size is not None:
            b["size"] = batch_size
        parse_dict(_upper(_upper(b, "policy"), "test"), spec.batch, "batch")
    if loss is not None:
        spec.loss = tr.Loss.Value(loss.upper())
    if early_stopping is not None:
        e = {"patience": early_stopping} if isinstance(early_stopping, int) else early_stopping
        parse_dict(e, spec.early_stopping, "early_stopping")
    return spec


# ---- adaptation ----------------------------------------------------------------------------

def adaptation_options(method, **options):
    _reject_unknown("adapt_session", options, set(_fields(ad.AdaptationOptions)) - {"method"})
    d = {k: v for k, v in options.items() if v is not None}
    d["method"] = method
    return parse_dict(d, ad.AdaptationOptions(), "adapt_session")


# ---- nowcasting ----------------------------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def resolution_seconds(r):
    """86400, "1d", "1h", "15m", "30s" or a datetime.timedelta -> seconds."""
    if isinstance(r, datetime.timedelta):
        return int(r.total_seconds())
    if isinstance(r, (int, np.integer)):
        return int(r)
    m = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", str(r))
    if not m or int(m.group(1)) <= 0:
        raise ValueError("resolution: expected seconds or a count with s/m/h/d such as '1d' or '15m', "
                         "received %r" % (r,))
    return int(m.group(1)) * _UNITS.get(m.group(2) or "s")


def stream_config(name, variables, targets, resolution=None, lags=None, horizons=None, calendar_features=None,
                  model=None, window=None, retrain=None, retrain_mode=None):
    if targets is None:
        raise TypeError("nowcast_stream: name the `targets` to forecast (a subset of the variables)")
    if isinstance(variables, str) or isinstance(targets, str):
        raise TypeError("nowcast_stream: `variables` and `targets` are lists of names")
    c = nc.NowcastStreamConfig(name=name, variables=list(variables), targets=list(targets))
    if resolution is not None:
        c.resolution_seconds = resolution_seconds(resolution)
    if lags is not None:
        c.lags = lags
    if horizons is not None:
        c.horizons.extend(int(h) for h in horizons)
    if calendar_features is not None:
        c.calendar_features = bool(calendar_features)
    for field, value, key in (("model", model, "kind"), ("window", window, "kind"), ("retrain", retrain, "trigger")):
        if value is not None:
            parse_dict({key: value} if isinstance(value, str) else value, getattr(c, field), field)
    if retrain_mode is not None:
        c.retrain_mode = retrain_mode
    return c


def unix_seconds(t):
    """Unix seconds (int), datetime/date (naive = UTC), numpy.datetime64, or an ISO string
    "YYYY-MM-DD[THH:MM[:SS]][Z]" (UTC unless it has an offset)."""
    if isinstance(t, (bool, np.bool_)):
        raise ValueError("time: expected seconds, a date or a datetime, received %r" % (t,))
    if isinstance(t, (int, np.integer)):
        return int(t)
    if isinstance(t, (float, np.floating)):
        if not math.isfinite(t) or t != int(t):
            raise ValueError("time: expected whole seconds, received %r" % (t,))
        return int(t)
    if isinstance(t, np.datetime64):
        return int(t.astype("datetime64[s]").astype(np.int64))
    if isinstance(t, str):
        s = t.strip()
        if re.fullmatch(r"-?\d+", s):
            return int(s)
        try:
            t = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("time: expected unix seconds or YYYY-MM-DD[THH:MM[:SS]], received %r" % (t,)) from None
    if isinstance(t, datetime.datetime):
        if t.tzinfo is not None:
            return int(t.timestamp())
        return calendar.timegm(t.timetuple())
    if isinstance(t, datetime.date):
        return calendar.timegm(t.timetuple())
    raise ValueError("time: expected seconds, a date or a datetime, received %r" % (t,))


_TIME_KEYS = ("time", "date", "timestamp", "datetime")


def _number(v):
    if v is None or (isinstance(v, str) and not v.strip()):
        return math.nan  # the server names the variable in its INVALID_ARGUMENT
    return float(v)


def observation(row, variables, index):
    """(time, {var: value}) or a dict with a time key ("time", "date", "timestamp" or "datetime")
    and the stream's variables (other keys are ignored) -> Observation."""
    try:
        if isinstance(row, dict):
            key = next((k for k in _TIME_KEYS if k in row), None)
            if key is None:
                raise ValueError("no time: name it one of %s" % ", ".join(_TIME_KEYS))
            missing = [v for v in variables if v not in row]
            if missing:
                raise ValueError("no value for variable(s) %s" % ", ".join(missing))
            time, values = row[key], {v: row[v] for v in variables}
        else:
            time, values = row
            if not isinstance(values, dict):
                raise ValueError("expected (time, {variable: value}), received %r" % (row,))
        return nc.Observation(time=unix_seconds(time), values={k: _number(v) for k, v in values.items()})
    except (ValueError, TypeError) as e:
        raise ValueError("rows[%d]: %s" % (index, e)) from None
