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


def train_workload(w):
    """Row Training. Must produce: attune_train_jobs{state=...} including state="failed" and
    state="running" children (AttuneTrainJobFailed / AttuneCheckpointStale probe them),
    attune_train_steps_total, attune_train_samples_total, attune_train_step_seconds,
    attune_train_loss, attune_train_learning_rate, attune_train_batch_size,
    attune_checkpoint_seconds, attune_checkpoint_last_success_timestamp_seconds,
    attune_train_queue_depth, attune_train_world_size, attune_train_allreduce_seconds.

    To write (lead): import a small dataset, start a short job on cnn_bn or mlp with checkpoints
    every few steps, watch it to completion; start one job that fails (e.g. a dataset whose
    shape does not match the model) so the failed gauge exists; for the distributed families run
    a 2-rank job or have the server register those series at start."""
    raise NotImplementedError("train_workload: TrainingService workload not written yet")


def adapt_workload(w):
    """Row Adaptation. Must produce: attune_adapt_sessions, attune_adapt_samples_total{model,
    method, decision} (EATA with both used and filtered decisions, and LAME), attune_adapt_entropy,
    attune_adapt_batch_seconds, attune_adapt_resets_total (one manual reset),
    attune_adapt_fisher_penalty (EATA with a Fisher regulariser).

    To write (lead): open an EATA session and a LAME session on cnn_bn, stream a few corrupted
    batches through each, reset one session, close them."""
    raise NotImplementedError("adapt_workload: AdaptationService workload not written yet")


def nowcast_workload(w):
    """Row Nowcasting. Must produce: attune_nowcast_observations_total, attune_nowcast_abs_error
    (a few horizons), attune_drift_statistic, attune_drift_threshold, attune_drift_events_total
    (at least one drift), attune_retrain_total, attune_nowcast_window_samples,
    attune_nowcast_train_cpu_seconds_total.

    To write (lead): create a stream with a drift detector and performance-based retraining, push
    observations with a level shift half-way (so a drift and a retrain happen), let forecasts
    mature."""
    raise NotImplementedError("nowcast_workload: NowcastService workload not written yet")


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
