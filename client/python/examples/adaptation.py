#!/usr/bin/python3
"""Adapts a BatchNorm model at test time, without labels: Tent and EATA sessions on a stream of
shifted images, then publishes the adapted weights as a new version.

    /usr/bin/python3 client/python/examples/adaptation.py --server localhost:50051 --model cnn_bn

`cnn_bn` (Fashion-MNIST CNN, [n, 1, 28, 28]) is one of the models scripts/run.sh hosts. The images
are synthetic (the example needs no dataset): each batch draws from the same shifted
distribution, so entropy minimisation (Tent) makes the predictions steadily more confident.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from attune_client import Client  # noqa: E402


def batches(n, size, seed):
    rng = np.random.RandomState(seed)
    for _ in range(n):
        # Blobs on a bright, noisy background: a distribution shift for a Fashion-MNIST model.
        yield (0.6 + 0.4 * rng.rand(size, 1, 28, 28)).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default=os.environ.get("ATTUNE_SERVER", "localhost:50051"))
    ap.add_argument("--model", default="cnn_bn")
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.01, help="Tent learning rate (Adam)")
    ap.add_argument("--publish", default="", help="publish the Tent-adapted weights under this name")
    args = ap.parse_args()

    with Client(args.server) as client:
        with client.adapt_session(args.model, method="tent", optimizer="adam", lr=args.lr) as session:
            print("session", session.id, "(tent)")
            for b in batches(args.batches, 32, seed=0):
                out = session.adapt(b)
                print("  batch %2d: mean entropy %.4f, loss %.4f, classes %s"
                      % (out.sequence, out.stats.mean_entropy, out.stats.loss,
                         np.bincount(out.predictions, minlength=10).tolist()))
            stats = session.refresh().stats
            print("  %d samples, %d updates, |theta - theta0| = %.5f" % (stats.samples, stats.updates,
                                                                          stats.param_distance))
            if args.publish:
                m = session.publish(args.publish)
                print("published %s version %d" % (m.name, m.serving_version))

        with client.adapt_session(args.model, method="eata", e_margin_factor=0.4, d_margin=0.05) as session:
            clean = next(batches(1, 128, seed=1))
            info = session.compute_fisher(samples=clean)
            print("session", session.id, "(eata): Fisher information from %d samples" % info.fisher_samples)
            for b in batches(args.batches, 32, seed=2):
                s = session.adapt(b).stats
                print("  batch: %d reliable, %d used, %d filtered (entropy), %d filtered (redundant)"
                      % (s.reliable, s.used, s.filtered_entropy, s.filtered_redundant))
    return 0


if __name__ == "__main__":
    sys.exit(main())
