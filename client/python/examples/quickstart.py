#!/usr/bin/python3
"""Loads a TorchScript model into attune, runs inference, and checks it against PyTorch.

    /usr/bin/python3 client/python/examples/quickstart.py --server localhost:50051 \
        --model build/models/cnn_bn/1/model.pt
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from attune_client import Client, NotFound  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default=os.environ.get("ATTUNE_SERVER", "localhost:50051"))
    ap.add_argument("--model", required=True, help="TorchScript file (torch.jit.script(m).save(path))")
    ap.add_argument("--name", default="quickstart")
    ap.add_argument("--shape", default="4,1,28,28", help="input shape to try")
    args = ap.parse_args()
    shape = [int(s) for s in args.shape.split(",")]

    with Client(args.server) as client:
        model = client.load_model(args.model, name=args.name)
        v = model.versions[-1]
        print("loaded %s version %d: %d parameters, features=%s"
              % (model.name, v.version, v.parameter_count, v.has_features))

        x = np.random.RandomState(0).rand(*shape).astype(np.float32)
        y = client.infer(args.name, x)
        reference = torch.jit.load(args.model).eval()(torch.from_numpy(x)).detach().numpy()
        diff = float(np.abs(y - reference).max())
        print("output shape %s, max |attune - pytorch| = %.3g" % (list(y.shape), diff))
        if diff > 1e-6:
            print("MISMATCH")
            return 1
        try:
            client.infer("no-such-model", x)
        except NotFound as e:
            print("unknown model ->", e.code.name, "-", e.details)
    return 0


if __name__ == "__main__":
    sys.exit(main())
