#!/usr/bin/python3
"""Exports the small TorchScript models attune's tests, benchmarks and demo use.

Run with Debian's interpreter (python3-torch lives there):
    /usr/bin/python3 scripts/export_models.py --out build/models

Writes a model repository in attune's layout, <out>/<name>/<version>/model.pt plus
<out>/<name>/config.json naming inputs/outputs, shapes and dtypes:
  mlp     Linear(8->32) ReLU Linear(32->4); no `features` method (LAME falls back to logits)
  mlp64   the same MLP in float64 (FP64 inputs and outputs)
  bag     INT64 token ids [-1, 6] -> Embedding(50, 8) -> mean -> Linear(8 -> 3)
  cnn_bn  the Fashion-MNIST CNN with BatchNorm used by the TTA recipe (tta spec section 5):
          conv(1->16)+BN+ReLU+pool, conv(16->32)+BN+ReLU+pool, conv(32->64)+BN+ReLU, GAP
          (= `features`, 64-d), Linear(64->10)
Weights come from torch.manual_seed(0), so every export is byte-for-byte reproducible.
"""
import argparse
import json
import os

import torch
import torch.nn as nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 32)
        self.fc2 = nn.Linear(32, 4)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class Bag(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(50, 8)
        self.fc = nn.Linear(8, 3)

    def forward(self, ids):
        return self.fc(self.embed(ids).mean(dim=1))


class CnnBn(nn.Module):
    def __init__(self, classes: int = 10):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        )
        self.fc = nn.Linear(64, classes)

    @torch.jit.export
    def features(self, x):
        return self.body(x).mean(dim=[2, 3])

    def forward(self, x):
        return self.fc(self.features(x))


MODELS = {
    "mlp": (MLP, {"inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 8]}],
                  "outputs": [{"name": "output", "datatype": "FP32", "shape": [-1, 4]}]}),
    "mlp64": (lambda: MLP().double(),
              {"inputs": [{"name": "input", "datatype": "FP64", "shape": [-1, 8]}],
               "outputs": [{"name": "output", "datatype": "FP64", "shape": [-1, 4]}]}),
    "bag": (Bag, {"inputs": [{"name": "ids", "datatype": "INT64", "shape": [-1, 6]}],
                  "outputs": [{"name": "scores", "datatype": "FP32", "shape": [-1, 3]}]}),
    "cnn_bn": (CnnBn, {"inputs": [{"name": "image", "datatype": "FP32", "shape": [-1, 1, 28, 28]}],
                       "outputs": [{"name": "logits", "datatype": "FP32", "shape": [-1, 10]}]}),
}


def export(out: str, name: str) -> str:
    cls, config = MODELS[name]
    torch.manual_seed(0)
    model = cls().eval()
    scripted = torch.jit.script(model)
    vdir = os.path.join(out, name, "1")
    os.makedirs(vdir, exist_ok=True)
    path = os.path.join(vdir, "model.pt")
    tmp = path + ".tmp"
    scripted.save(tmp)
    os.replace(tmp, path)
    with open(os.path.join(out, name, "config.json"), "w") as f:
        json.dump(dict(config, name=name), f, indent=2)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="model repository folder to write")
    ap.add_argument("names", nargs="*", default=sorted(MODELS), help="models to export (default: all)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    for name in args.names:
        print(export(args.out, name))


if __name__ == "__main__":
    main()
