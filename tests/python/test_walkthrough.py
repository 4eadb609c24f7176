"""The Python client's walkthrough against one live attune-server: models and inference compared
with PyTorch, datasets, a training job watched to completion (and one cancelled), online
training, adaptation sessions compared with PyTorch, and a nowcasting stream fed from the NOAA
fixture."""
import io
import math
import os
import shutil
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "client", "python"))
from attune_test_server import MODELS, AttuneServer, weather_rows  # noqa: E402

import attune_client  # noqa: E402
from attune_client import (Client, FailedPrecondition, InvalidArgument, JobCancelled, NotFound,  # noqa: E402
                           Record)

torch.set_num_threads(1)
CNN = os.path.join(MODELS, "cnn_bn", "1", "model.pt")
MLP = os.path.join(MODELS, "mlp", "1", "model.pt")
WEATHER = ["precipitation", "temp_max", "temp_min", "wind"]


def torch_forward(path_or_bytes, x, train_mode=False):
    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    m = torch.jit.load(src)
    m.train(train_mode)
    with torch.no_grad():
        return m(torch.from_numpy(x)).numpy()


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def synthetic_classes(n, seed=0):
    """8 features, 4 classes separable by two linear rules (learnable by the mlp model)."""
    rng = np.random.RandomState(seed)
    x = rng.randn(n, 8).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) * 2 + (x[:, 1] > 0).astype(np.int64)
    return x, y


class Walkthrough(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.imports = tempfile.mkdtemp(prefix="attune-imports-")
        cls.server = AttuneServer("--datasets-dir", cls.imports).__enter__()
        cls.client = Client(cls.server.address)
        cls.client.wait_ready()

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.imports, ignore_errors=True)

    # ---- models and inference -------------------------------------------------------------
    def test_load_infer_export_unload_matches_pytorch(self):
        c = self.client
        m = c.load_model(CNN, name="cnn", inputs=[("image", "FP32", [-1, 1, 28, 28])])
        self.assertIsInstance(m, Record)
        self.assertEqual(m.name, "cnn")
        self.assertEqual(m.serving_version, 1)
        v = m.versions[-1]
        self.assertEqual(v.state, "READY")
        self.assertTrue(v.has_features)
        self.assertEqual(v.batchnorm_layers, 3)
        self.assertEqual(v.inputs[0].dtype, "FLOAT32")
        self.assertEqual(v.inputs[0].shape, [-1, 1, 28, 28])

        x = np.random.RandomState(1).rand(5, 1, 28, 28).astype(np.float32)
        y = c.infer("cnn", x)
        self.assertEqual(y.dtype, np.float32)
        self.assertEqual(y.shape, (5, 10))
        np.testing.assert_allclose(y, torch_forward(CNN, x), rtol=0, atol=1e-5)
        # A torch tensor and an explicit input name work too; infer_all names the outputs.
        out = c.infer_all("cnn", {"image": torch.from_numpy(x)})
        np.testing.assert_array_equal(next(iter(out.values())), y)

        self.assertIn("cnn", [mm.name for mm in c.list_models()])
        self.assertEqual(c.model_metadata("cnn").inputs[0].name, "image")
        exported = c.export_model("cnn")
        np.testing.assert_allclose(torch_forward(exported, x), y, rtol=0, atol=1e-5)

        # Loading bytes makes version 2; version 1 still answers when asked for.
        with open(CNN, "rb") as f:
            self.assertEqual(c.load_model(f.read(), name="cnn").serving_version, 2)
        np.testing.assert_array_equal(c.infer("cnn", x, version=1), y)
        self.assertEqual(c.unload_model("cnn", version=1), [1])
        self.assertEqual([v.version for v in c.get_model("cnn").versions], [2])
        self.assertEqual(c.unload_model("cnn"), [2])
        with self.assertRaises(NotFound) as cm:
            c.get_model("cnn")
        self.assertIn("cnn", cm.exception.details)

    def test_create_model_builtin_architecture(self):
        c = self.client
        m = c.create_model("tiny", "mlp", in_features=3, hidden=[5], out_features=2, seed=7)
        self.assertEqual(m.versions[-1].origin, "architecture:mlp")
        y = c.infer("tiny", np.ones((4, 3), np.float32))
        self.assertEqual(y.shape, (4, 2))
        # The TorchScript the server made runs in PyTorch with the same result.
        np.testing.assert_allclose(torch_forward(c.export_model("tiny"), np.ones((4, 3), np.float32)), y,
                                   rtol=0, atol=1e-6)
        with self.assertRaises(ValueError):
            c.create_model("bad", "resnet")

    # ---- datasets and training -------------------------------------------------------------
    def test_datasets_upload_import_list_delete(self):
        c = self.client
        x, y = synthetic_classes(300)
        d = c.upload_dataset("syn-up", x, y.astype(np.int32))
        self.assertEqual((d.samples, d.classes), (300, 4))
        self.assertEqual(d.features.shape, [8])
        self.assertEqual(d.labels.dtype, "INT64")
        with open(os.path.join(self.imports, "table.csv"), "w") as f:
            f.write("a,b,label\n" + "".join("%f,%f,%d\n" % (r[0], r[1], k) for r, k in zip(x, y)))
        imported = c.import_dataset("syn-csv", "table.csv")
        self.assertEqual((imported.samples, imported.classes), (300, 4))
        self.assertEqual(imported.features.shape, [2])
        names = [ds.name for ds in c.list_datasets()]
        self.assertTrue({"syn-up", "syn-csv"} <= set(names), names)
        self.assertEqual(c.get_dataset("syn-csv").samples, 300)
        c.delete_dataset("syn-csv")
        with self.assertRaises(NotFound):
            c.get_dataset("syn-csv")

    def test_training_job_watch_result_and_new_version(self):
        c = self.client
        c.load_from_repository("mlp", name="mlp-train")
        x, y = synthetic_classes(256)
        c.upload_dataset("syn-train", x, y)
        before = c.infer("mlp-train", x[:8])
        job = c.train("syn-train", model="mlp-train", optimizer="adan", lr=0.01, batch_size=32, epochs=4,
                      validation_split=0.25, checkpoint_every_steps=10, seed=3)
        self.assertTrue(job.name.startswith("jobs/"))
        self.assertIn(job.state, ("JOB_QUEUED", "JOB_RUNNING"))
        events = list(job.watch())
        self.assertEqual(events[0].kind, "STATE")
        self.assertTrue(events[-1].done)
        self.assertEqual(events[-1].job.metadata.state, "JOB_SUCCEEDED", events[-1].job.error)
        progress = [e.metadata for e in events if e.kind == "PROGRESS"]
        self.assertTrue(progress, [e.kind for e in events])
        steps = [p.step for p in progress]
        self.assertEqual(steps, sorted(steps))
        self.assertTrue(all(np.isfinite(p.loss) and p.learning_rate > 0 for p in progress))
        self.assertIn("VALIDATION", [e.kind for e in events])
        self.assertIn("CHECKPOINT", [e.kind for e in events])

        result = job.result()
        self.assertEqual(job.state, "JOB_SUCCEEDED")
        self.assertEqual(result.model_name, "mlp-train")
        self.assertEqual(result.model_version, 2)
        self.assertEqual(result.steps, 4 * 6)  # 192 training samples / 32
        self.assertEqual(result.stop_reason, "completed")
        # Below chance level (ln 4, 4 balanced classes): the job learned. The watch may attach after
        # most of these fast steps, so its first progress event is no baseline.
        self.assertLess(result.final_loss, math.log(4))
        self.assertGreater(result.validation_accuracy, 0.5)
        # The new version serves; the trained weights differ from the source version's.
        self.assertEqual(c.get_model("mlp-train").serving_version, 2)
        after = c.infer("mlp-train", x[:8])
        self.assertFalse(np.allclose(before, after))
        np.testing.assert_array_equal(c.infer("mlp-train", x[:8], version=1), before)
        self.assertIn(job.name, [j.name for j in c.list_jobs(state="succeeded")])
        self.assertEqual(c.job(job.id).info.response.steps, 24)
        self.assertIn("adan", [o.name for o in c.list_optimizers()])

    def test_training_job_cancel(self):
        c = self.client
        c.load_from_repository("mlp", name="mlp-cancel")
        x, y = synthetic_classes(256, seed=1)
        c.upload_dataset("syn-cancel", x, y)
        job = c.train("syn-cancel", model="mlp-cancel", optimizer="sgd", lr=0.01, batch_size=2, max_steps=10 ** 7)
        for ev in job.watch():
            if ev.kind == "PROGRESS":
                break  # running: leaving the loop ends the watch stream
        job.cancel()
        with self.assertRaises(JobCancelled) as cm:
            job.result(timeout=60)
        self.assertEqual(cm.exception.job.metadata.state, "JOB_CANCELLED")
        self.assertEqual(job.state, "JOB_CANCELLED")
        self.assertEqual(c.get_model("mlp-cancel").serving_version, 1)  # nothing published

    def test_train_online_publishes_a_version(self):
        c = self.client
        c.load_from_repository("mlp", name="mlp-online")
        x, y = synthetic_classes(64, seed=2)
        with c.train_online("mlp-online", optimizer="sgd", lr=0.1) as t:
            losses = [t.step(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
        self.assertEqual([r.step for r in losses], [1, 2, 3, 4])
        self.assertTrue(all(np.isfinite(r.loss) for r in losses))
        self.assertEqual(t.published.name, "mlp-online")
        self.assertEqual(t.published.serving_version, 2)
        # An exception inside the block publishes nothing.
        with self.assertRaises(ZeroDivisionError):
            with c.train_online("mlp-online", optimizer="sgd", lr=0.1) as t2:
                t2.step(x[:16], y[:16])
                1 / 0
        self.assertEqual(c.get_model("mlp-online").serving_version, 2)

    # ---- adaptation ------------------------------------------------------------------------
    def test_adapt_session_tent_matches_pytorch_and_publishes(self):
        c = self.client
        c.load_from_repository("cnn_bn", name="cnn-tent")
        rng = np.random.RandomState(4)
        b1 = rng.rand(8, 1, 28, 28).astype(np.float32)
        b2 = rng.rand(8, 1, 28, 28).astype(np.float32)
        with c.adapt_session("cnn-tent", method="tent", lr=1e-3) as s:
            self.assertEqual(s.info.options.method, "tent")
            out = s.adapt(b1, return_logits=True)
            self.assertEqual(out.sequence, 1)
            self.assertEqual(out.probabilities.shape, (8, 10))
            np.testing.assert_allclose(out.probabilities.sum(axis=1), 1, atol=1e-5)
            np.testing.assert_array_equal(out.predictions, out.probabilities.argmax(axis=1))
            # Tent's first answer is the source model with BatchNorm on the batch's statistics.
            expected = torch_forward(CNN, b1, train_mode=True)
            np.testing.assert_allclose(out.logits, expected, rtol=0, atol=1e-4)
            np.testing.assert_allclose(out.probabilities, softmax(expected), rtol=0, atol=1e-5)
            self.assertEqual(out.stats.samples, 8)
            self.assertTrue(out.stats.updated)
            out2 = s.adapt(b2)
            self.assertEqual(out2.sequence, 2)
            self.assertIsNone(out2.logits)
            info = s.refresh()
            self.assertEqual((info.stats.batches, info.stats.samples, info.stats.updates), (2, 16, 2))
            self.assertGreater(info.stats.param_distance, 0)
            published = s.publish("cnn-tent-adapted")
            self.assertEqual(published.versions[-1].origin, "adaptation:" + s.id)
            many = list(s.adapt_many([b1, b2, b1]))  # one more stream: the session counts on
            self.assertEqual([r.sequence for r in many], [3, 4, 5])
            self.assertEqual(s.refresh().stats.batches, 5)
            sid = s.id
            self.assertIn(sid, [x.id for x in c.list_sessions()])
        self.assertTrue(s.closed)
        self.assertNotIn(sid, [x.id for x in c.list_sessions()])
        with self.assertRaises(NotFound):
            c.session(sid)
        self.assertEqual(c.infer("cnn-tent-adapted", b1).shape, (8, 10))

    def test_adapt_session_eata_with_fisher_and_lame(self):
        c = self.client
        c.load_from_repository("cnn_bn", name="cnn-eata")
        rng = np.random.RandomState(5)
        clean = rng.rand(64, 1, 28, 28).astype(np.float32)
        with c.adapt_session("cnn-eata", method="eata", e_margin_factor=0.9, fisher_alpha=1.0) as s:
            info = s.compute_fisher(samples=clean, batch_size=16)
            self.assertTrue(info.has_fisher)
            self.assertEqual(info.fisher_samples, 64)
            out = s.adapt(clean[:16])
            self.assertEqual(out.probabilities.shape, (16, 10))
            self.assertEqual(out.stats.samples, 16)
            self.assertGreaterEqual(out.stats.reliable, out.stats.used)
            self.assertEqual(s.reset().stats.resets, 1)
        with c.adapt_session("cnn-eata", method="lame", affinity="knn", knn=3) as s:
            out = s.adapt(clean[:10])
            np.testing.assert_allclose(out.probabilities.sum(axis=1), 1, atol=1e-4)
            self.assertGreaterEqual(out.stats.lame_iterations, 1)
        with self.assertRaises(TypeError):
            c.adapt_session("cnn-eata", method="tent", learning_rate=1)  # not an option: lr

    # ---- nowcasting ------------------------------------------------------------------------
    def test_nowcast_stream_ingest_forecast_status_delete(self):
        c = self.client
        rows = weather_rows("Seattle", limit=80)
        stream = c.nowcast_stream("seattle", WEATHER, ["temp_max"], retrain_mode="synchronous")
        self.assertEqual(stream.info.config.horizons, [1, 2, 3])  # daily defaults filled in
        self.assertEqual(stream.info.config.resolution_seconds, 86400)
        with self.assertRaises(FailedPrecondition):
            stream.forecast()

        # dict rows straight from csv.DictReader: the date and the stream's variables are used.
        r = stream.ingest(rows[:60], batch_size=16)
        self.assertEqual((r.ingested, r.observations), (60, 60))
        self.assertEqual([x.step for x in r.results], list(range(60)))
        self.assertEqual(r.results[0].time, 1325376000)  # 2012-01-01T00:00:00Z
        # (time, {var: value}) rows.
        more = [(row["date"], {v: float(row[v]) for v in WEATHER}) for row in rows[60:70]]
        self.assertEqual(stream.ingest(more).observations, 70)

        f = stream.forecast()
        self.assertEqual(f.step, 69)
        self.assertEqual([h.horizon for h in f.horizons], [1, 2, 3])
        for h in f.horizons:
            self.assertEqual(h.valid_time, f.issued_time + 86400 * h.horizon)
            self.assertEqual(list(h.values), ["temp_max"])
            self.assertTrue(np.isfinite(h.values["temp_max"]))
        st = stream.status()
        self.assertEqual(st.observations, 70)
        self.assertEqual(st.last_time, f.issued_time)
        self.assertEqual(st.persistence.durable_observations, 70)
        self.assertEqual(c.nowcast_stream("seattle").info.observations, 70)  # opens the existing stream
        self.assertIn("seattle", [s.name for s in c.list_streams()])

        # A rejected observation: the ones before it stay, the stream is otherwise untouched.
        bad = [(row["date"], {v: float(row[v]) for v in WEATHER}) for row in rows[70:73]]
        bad[2] = ("2012-01-01", bad[2][1])  # before the stream's last observation
        with self.assertRaises(InvalidArgument) as cm:
            stream.ingest(bad, batch_size=1)
        self.assertEqual(cm.exception.acknowledged, 2)
        self.assertIn("time", cm.exception.details)
        self.assertEqual(stream.status().observations, 72)
        with self.assertRaises(ValueError):
            stream.ingest([("not a date", {v: 1.0 for v in WEATHER})])

        stream.delete()
        with self.assertRaises(NotFound):
            stream.status()

    def test_records_and_version(self):
        self.assertEqual(attune_client.__version__, "0.1.0")
        self.assertEqual(self.client.health(), "SERVING")
        self.assertEqual(self.client.health("liveness"), "SERVING")
        self.assertTrue(self.client.server_ready())


if __name__ == "__main__":
    unittest.main()
