#!/usr/bin/python3
"""Summarises bench_train_optimizers' CSV: a table (mean ± std over seeds) and two gnuplot PNGs."""
import csv
import os
import statistics
import subprocess
import sys
from collections import defaultdict

rows = list(csv.DictReader(open(sys.argv[1])))
out_dir = sys.argv[2]
runs = defaultdict(list)
for r in rows:
    runs[(r["optimizer"], int(r["seed"]))].append(r)

final = defaultdict(list)
for (opt, seed), rs in runs.items():
    last = rs[-1]
    final[opt].append((float(last["test_accuracy"]), float(last["test_loss"]), float(last["seconds"]),
                       int(last["step"])))

def ms(xs):
    return "%.4f ± %.4f" % (statistics.mean(xs), statistics.pstdev(xs)) if len(xs) > 1 else "%.4f" % xs[0]

order = sorted(final, key=lambda o: -statistics.mean(a for a, *_ in final[o]))
print("| optimizer | seeds | steps | final test accuracy | final test loss | train seconds | accuracy at 25% of steps |")
print("|---|---|---|---|---|---|---|")
for opt in order:
    f = final[opt]
    quarter = []
    for (o, seed), rs in runs.items():
        if o != opt:
            continue
        target = rs[-1]["step"] and int(rs[-1]["step"]) // 4
        quarter.append(float(min(rs, key=lambda r: abs(int(r["step"]) - target))["test_accuracy"]))
    print("| %s | %d | %d | %s | %s | %s | %s |" % (opt, len(f), f[0][3], ms([a for a, *_ in f]),
          ms([l for _, l, *_ in f]), ms([s for *_, s, _ in f]), ms(quarter)))
print()
print("Ranking by mean final test accuracy: " + " > ".join(order) + ".")

# Curves averaged over seeds (step-aligned: every optimizer evaluates at the same steps).
def write_series(key, path):
    with open(path, "w") as f:
        for opt in order:
            per_step = defaultdict(list)
            for (o, seed), rs in runs.items():
                if o == opt:
                    for r in rs:
                        per_step[int(r["step"])].append((float(r[key]), float(r["seconds"])))
            f.write("# %s\n" % opt)
            for step in sorted(per_step):
                vals = per_step[step]
                f.write("%d %.6f %.4f\n" % (step, statistics.mean(v for v, _ in vals), statistics.mean(s for _, s in vals)))
            f.write("\n\n")

acc = os.path.join(out_dir, "accuracy.dat")
loss = os.path.join(out_dir, "loss.dat")
write_series("test_accuracy", acc)
write_series("test_loss", loss)


def plot(path, x):
    return ", ".join("'%s' index %d using %d:2 with lines lw 2 title '%s'" % (path, i, x, opt)
                     for i, opt in enumerate(order))


script = """
set terminal pngcairo size 1100,800 font 'DejaVu Sans,10'
set output '%s'
set multiplot layout 2,2 title 'Fashion-MNIST, CNN+BN, batch 64, mean over seeds'
set grid
set key bottom right; set ylabel 'test accuracy'
set xlabel 'step'; plot %s
set xlabel 'training wall time (s)'; plot %s
set key top right; set ylabel 'test loss'; set yrange [0.3:1.5]
set xlabel 'step'; plot %s
set xlabel 'training wall time (s)'; plot %s
unset multiplot
""" % (os.path.join(out_dir, "optimizers.png"), plot(acc, 1), plot(acc, 3), plot(loss, 1), plot(loss, 3))
if subprocess.run(["gnuplot"], input=script, text=True).returncode == 0:
    print()
    print("![test accuracy and test loss vs step and vs wall time](optimizers.png)")
