#!/usr/bin/python3
"""Scripted workload that makes a live attune-server export every metric the dashboard and the
alert rules query. tests/deploy/prometheus_proof.py runs it while Prometheus scrapes the server.

    /usr/bin/python3 tests/deploy/workload.py --server 127.0.0.1:50051 --build build \
        --parts models,train,adapt,nowcast

One function per part; each gets a Workload context (client, channel, paths) and must leave the
families listed in its docstring with at least one series. The proof's --rows decide which parts
run (prometheus_proof.ROW_PARTS). A part raising NotImplementedError is reported as "not
written yet"; any other exception fails the run.
"""
import argparse
import os
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class Workload:
    def __init__(self, server, build):
        os.environ.setdefault("ATTUNE_PYTHON_STUBS", os.path.join(build, "python"))
        sys.path.insert(0, os.path.join(REPO, "client", "python"))
        import attune_client  # noqa: E402  (needs the stubs path above)
        import grpc
        import numpy as np
        self.grpc, self.np, self.ac = grpc, np, attune_client
        self.server, self.build = server, build
        self.models_dir = os.path.join(build, "models")
        self.client = attune_client.Client(server, timeout=120)
        self.channel = self.client.channel

    def log(self, msg):
        print("workload: " + msg, flush=True)

    def expect_error(self, exc_type, fn, *args, **kw):
        """Runs fn and requires it to fail with exc_type (a non-OK grpc_code for the dashboards)."""
        try:
            fn(*args, **kw)
        except exc_type as e:
            self.log("  expected %s: %s" % (exc_type.__name__, str(e).splitlines()[0][:100]))
            return
        raise AssertionError("%s should have failed with %s" % (fn.__name__, exc_type.__name__))

    def health(self, service):
        """grpc.health.v1.Health/Check with hand-encoded messages: the generated health stubs live
        in a package named `grpc`, which Python resolves to grpcio instead."""
        encoded = service.encode()
        req = (b"\x0a" + bytes([len(encoded)]) + encoded) if encoded else b""
        check = self.channel.unary_unary("/grpc.health.v1.Health/Check",
                                         request_serializer=lambda b: b, response_deserializer=lambda b: b)
        resp = check(req, timeout=30)
        status = resp[1] if len(resp) >= 2 and resp[0] == 0x08 else 0
        return {1: "SERVING", 2: "NOT_SERVING"}.get(status, "UNKNOWN(%d)" % status)


# ---- parts --------------------------------------------------------------------------------------
def models_workload(w):
    """Rows Overview, Models, Resources. Produces: attune_build_info, grpc_server_* (OK and
    non-OK codes, unary and streaming), attune_models{state=ready|failed},
    attune_model_load_seconds, attune_model_loads_total{result=ok|error},
    attune_inference_samples_total, attune_inference_seconds; process_* are always there."""
    np, ac = w.np, w.ac
    w.log("models: load mlp from the repository, upload cnn_bn")
    w.client.load_from_repository("mlp")
    cnn_path = os.path.join(w.models_dir, "cnn_bn", "1", "model.pt")
    w.client.load_model(cnn_path, name="cnn_bn", inputs=[("image", "FP32", [-1, 1, 28, 28])])
    w.client.list_models()
    w.client.get_model("cnn_bn")
    w.client.server_ready()

    w.log("models: inference")
    rng = np.random.RandomState(0)
    for batch in (1, 4, 16):
        w.client.infer("mlp", rng.rand(batch, 8).astype(np.float32))
        w.client.infer("cnn_bn", rng.rand(batch, 1, 28, 28).astype(np.float32))

    w.log("models: errors (non-OK grpc codes, a failed load)")
    w.expect_error(ac.InvalidArgument, w.client.infer, "mlp", rng.rand(2, 5).astype(np.float32))
    w.expect_error(ac.NotFound, w.client.infer, "no-such-model", rng.rand(2, 8).astype(np.float32))
    w.expect_error(ac.NotFound, w.client.get_model, "no-such-model")
    w.expect_error(ac.InvalidArgument, w.client.load_model, b"this is not TorchScript", name="broken")

    w.log("models: export (server streaming) and load/unload churn")
    data = w.client.export_model("mlp")
    w.client.load_model(data, name="mlp_copy")
    w.client.unload_model("mlp_copy")

    w.log("models: health")
    for service in ("", "liveness", "attune.v1.ModelService", "inference.GRPCInferenceService"):
        status = w.health(service)
        if status != "SERVING":
            raise AssertionError("health %r is %s" % (service, status))


def _tensor(w, array):
    from attune.v1 import tensor_pb2
    kinds = {"float32": tensor_pb2.FLOAT32, "float64": tensor_pb2.FLOAT64, "int64": tensor_pb2.INT64}
    a = w.np.ascontiguousarray(array)
    return tensor_pb2.Tensor(dtype=kinds[str(a.dtype)], shape=list(a.shape), data=a.tobytes())


def train_workload(w):
    """Row Training. Must produce: attune_train_jobs{state=...} including state="failed" and
    state="running" children (AttuneTrainJobFailed / AttuneCheckpointStale probe them),
    attune_train_steps_total, attune_train_samples_total, attune_train_step_seconds,
    attune_train_loss, attune_train_learning_rate, attune_train_batch_size,
    attune_checkpoint_seconds, attune_checkpoint_last_success_timestamp_seconds,
    attune_train_queue_depth, attune_train_world_size, attune_train_allreduce_seconds.

    Uploads a small learnable dataset, trains mlp with checkpoints every few steps and watches it
    to completion, then runs a job that fails (NaN loss) so the failed gauge counts one."""
    from attune.v1 import dataset_service_pb2 as ds, dataset_service_pb2_grpc as ds_grpc
    from attune.v1 import training_service_pb2 as ts, training_service_pb2_grpc as ts_grpc
    from attune.v1 import model_service_pb2 as ms
    np = w.np
    i = np.arange(1, 257)[:, None]
    x = np.sin(0.37 * i + 0.91 * np.arange(1, 9)[None, :]).astype(np.float32)
    y = np.argmax(x @ np.cos(0.7 * np.arange(8)[:, None] + 1.3 * np.arange(4)[None, :]), axis=1).astype(np.int64)

    def chunks():
        yield ds.UploadDatasetChunk(header=ds.UploadDatasetHeader(
            name="syn", feature_dtype=1, feature_shape=[8], label_dtype=3))
        for b in range(0, 256, 64):
            yield ds.UploadDatasetChunk(batch=ds.DatasetBatch(features=_tensor(w, x[b:b + 64]),
                                                              labels=_tensor(w, y[b:b + 64])))
    w.log("train: upload a dataset")
    ds_grpc.DatasetServiceStub(w.channel).UploadDataset(chunks(), timeout=60)
    stub = ts_grpc.TrainingServiceStub(w.channel)

    w.log("train: a job with checkpoints, watched to completion")
    spec = ts.JobSpec(model=ms.ModelRef(name="mlp"), dataset="syn", validation_split=0.25,
                      optimizer=ts.OptimizerSpec(name="adan", lr=0.01), batch=ts.BatchSpec(size=16),
                      epochs=4, checkpoint_every_steps=5)
    job = stub.StartTraining(ts.StartTrainingRequest(spec=spec), timeout=60)
    last = None
    for ev in stub.WatchJob(ts.WatchJobRequest(name=job.name), timeout=300):
        last = ev
        if ev.done:
            break
    if last is None or last.job.metadata.state != ts.JOB_SUCCEEDED:
        raise AssertionError("training job did not succeed: %s" % (last.job.error.message if last else "no events"))
    w.log("  %s: %d steps, published %s v%d" % (job.name, last.job.response.steps,
                                                 last.job.response.model_name, last.job.response.model_version))

    w.log("train: a job that fails (NaN loss)")
    bad = ts.JobSpec(model=ms.ModelRef(name="mlp"), dataset="syn",
                     optimizer=ts.OptimizerSpec(name="sgd", lr=1e30), max_steps=20)
    job = stub.StartTraining(ts.StartTrainingRequest(spec=bad), timeout=60)
    for ev in stub.WatchJob(ts.WatchJobRequest(name=job.name), timeout=120):
        if ev.done:
            if ev.job.metadata.state != ts.JOB_FAILED:
                raise AssertionError("the NaN job should fail")
            break


def _shifted_images(np, n, seed):
    idx = np.arange(n * 28 * 28, dtype=np.float64).reshape(n, 1, 28, 28)
    return (0.6 * np.sin(idx * 0.013 + seed) + 0.25 * np.cos(idx * 0.21 + 2 * seed) + 0.3).astype(np.float32)


def adapt_workload(w):
    """Row Adaptation. Must produce: attune_adapt_sessions, attune_adapt_samples_total{model,
    method, decision} (EATA with both used and filtered decisions, and LAME), attune_adapt_entropy,
    attune_adapt_batch_seconds, attune_adapt_resets_total (one manual reset),
    attune_adapt_fisher_penalty (EATA with a Fisher regulariser).

    Opens an EATA session (Fisher from streamed clean samples) and a LAME session on cnn_bn,
    streams shifted batches through each, resets one, closes both."""
    from attune.v1 import adaptation_service_pb2 as ad, adaptation_service_pb2_grpc as ad_grpc
    from attune.v1 import model_service_pb2 as ms
    np = w.np
    stub = ad_grpc.AdaptationServiceStub(w.channel)
    ref = ms.ModelRef(name="cnn_bn")
    eata = stub.CreateSession(ad.CreateSessionRequest(model=ref, options=ad.AdaptationOptions(
        method="eata", e_margin_factor=1.0, d_margin=0.4, fisher_alpha=1.0, lr=0.01)), timeout=60)
    lame = stub.CreateSession(ad.CreateSessionRequest(model=ref, options=ad.AdaptationOptions(
        method="lame", affinity="knn")), timeout=60)
    w.log("adapt: Fisher for %s from streamed clean samples" % eata.id)
    clean = np.random.RandomState(1).rand(64, 1, 28, 28).astype(np.float32)

    def fisher():
        yield ad.ComputeFisherRequest(header=ad.FisherHeader(session=eata.id, size=64, batch_size=32))
        yield ad.ComputeFisherRequest(samples=_tensor(w, clean))
    stub.ComputeFisher(fisher(), timeout=120)
    for session in (eata, lame):
        reqs = [ad.AdaptRequest(session=session.id if k == 0 else "", batch=_tensor(w, _shifted_images(np, 16, k)))
                for k in range(4)]
        n = sum(1 for _ in stub.Adapt(iter(reqs), timeout=120))
        w.log("adapt: %s (%s) adapted %d batches" % (session.id, session.options.method, n))
    stub.ResetSession(ad.ResetSessionRequest(session=eata.id), timeout=30)
    for session in (eata, lame):
        stub.CloseSession(ad.CloseSessionRequest(session=session.id), timeout=30)


def nowcast_workload(w):
    """Row Nowcasting. Must produce: attune_nowcast_observations_total, attune_nowcast_abs_error
    (a few horizons), attune_drift_statistic, attune_drift_threshold, attune_drift_events_total
    (at least one drift), attune_retrain_total, attune_nowcast_window_samples,
    attune_nowcast_train_cpu_seconds_total.

    Streams the vendored NOAA splice (Seattle 2012-2013, then New York 2014-2015) into a stream
    with performance-based retraining, which detects the change and retrains."""
    import csv
    import datetime
    from attune.v1 import nowcast_service_pb2 as nc, nowcast_service_pb2_grpc as nc_grpc
    stub = nc_grpc.NowcastServiceStub(w.channel)
    variables = ["precipitation", "temp_max", "temp_min", "wind"]
    stub.CreateStream(nc.CreateStreamRequest(config=nc.NowcastStreamConfig(
        name="weather", variables=variables, targets=["temp_max", "wind"],
        retrain=nc.NowcastRetrainConfig(trigger="performance"))), timeout=60)
    rows = list(csv.DictReader(open(os.path.join(REPO, "tests", "fixtures", "noaa", "weather.csv"))))
    splice = [r for r in rows if r["location"] == "Seattle" and r["date"] < "2014"] + \
             [r for r in rows if r["location"] == "New York" and r["date"] >= "2014"]

    def day(s):
        return int(datetime.datetime.fromisoformat(s).replace(tzinfo=datetime.timezone.utc).timestamp())
    observations = [nc.Observation(time=day(r["date"]), values={v: float(r[v]) for v in variables}) for r in splice]
    reqs = (nc.IngestRequest(stream="weather", observations=observations[b:b + 32])
            for b in range(0, len(observations), 32))
    replies = sum(1 for _ in stub.Ingest(reqs, timeout=300))
    w.log("nowcast: ingested %d observations in %d messages" % (len(observations), replies))


PARTS = {"models": models_workload, "train": train_workload, "adapt": adapt_workload,
         "nowcast": nowcast_workload}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True)
    ap.add_argument("--build", default=os.environ.get("ATTUNE_BUILD_DIR", os.path.join(REPO, "build")))
    ap.add_argument("--parts", default=",".join(PARTS))
    args = ap.parse_args()
    parts = [p for p in args.parts.split(",") if p]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        ap.error("unknown parts %s (known: %s)" % (unknown, ", ".join(PARTS)))
    w = Workload(args.server, os.path.abspath(args.build))
    missing = []
    for p in parts:
        start = time.monotonic()
        try:
            PARTS[p](w)
        except NotImplementedError as e:
            w.log("%s: NOT WRITTEN YET (%s)" % (p, e))
            missing.append(p)
            continue
        w.log("%s: done in %.1f s" % (p, time.monotonic() - start))
    w.client.close()
    if missing:
        w.log("parts not written yet: %s" % ", ".join(missing))
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
