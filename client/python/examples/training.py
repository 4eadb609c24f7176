#!/usr/bin/python3
"""Uploads a labelled dataset, fine-tunes a hosted model with a training job, watches its progress
and serves the new version.

    /usr/bin/python3 client/python/examples/training.py --server localhost:50051 --model mlp

`mlp` (8 features -> 4 classes) is one of the models scripts/run.sh hosts. The dataset is
synthetic: the class is given by the signs of the first two features.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from attune_client import AlreadyExists, Client, JobFailed  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default=os.environ.get("ATTUNE_SERVER", "localhost:50051"))
    ap.add_argument("--model", default="mlp", help="a hosted model taking [n, 8] FP32 with 4 outputs")
    ap.add_argument("--dataset", default="quadrants")
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args()

    rng = np.random.RandomState(0)
    x = rng.randn(1024, 8).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) * 2 + (x[:, 1] > 0)

    with Client(args.server) as client:
        try:
            d = client.upload_dataset(args.dataset, x, y)
            print("uploaded dataset %s: %d samples, %d classes" % (d.name, d.samples, d.classes))
        except AlreadyExists:
            print("dataset %s already uploaded" % args.dataset)

        before = (client.infer(args.model, x[:256]).argmax(axis=1) == y[:256]).mean()
        job = client.train(args.dataset, model=args.model, optimizer="adan", lr=0.01, batch_size=64,
                           epochs=args.epochs, validation_split=0.2, schedule="warmup_cosine", warmup_steps=5)
        print("started", job.name)
        for ev in job.watch():
            m = ev.metadata
            if ev.kind == "PROGRESS" and m.step % 10 == 0:
                print("  step %4d/%d  epoch %d  loss %.4f  lr %.2e  %.0f samples/s"
                      % (m.step, m.total_steps, m.epoch, m.loss, m.learning_rate, m.samples_per_second))
            elif ev.kind == "VALIDATION":
                print("  validation: loss %.4f, accuracy %.3f" % (m.validation_loss, m.validation_accuracy))
        try:
            r = job.result()
        except JobFailed as e:
            print("training failed:", e.code.name, e.details)
            return 1
        print("%s version %d: %d steps (%s), final loss %.4f, validation accuracy %.3f"
              % (r.model_name, r.model_version, r.steps, r.stop_reason, r.final_loss, r.validation_accuracy))
        after = (client.infer(args.model, x[:256]).argmax(axis=1) == y[:256]).mean()
        print("accuracy of the serving version on 256 training samples: %.3f before, %.3f after" % (before, after))
    return 0


if __name__ == "__main__":
    sys.exit(main())
