"""bench/distributed/RESULTS.md from results.jsonl (bench_distributed output lines).
usage: report.py results.jsonl CORES SECONDS [LOAD5]"""
import json
import statistics
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cores, seconds = sys.argv[2], sys.argv[3]
load = sys.argv[4] if len(sys.argv) > 4 else None
train = [r for r in rows if r["mode"] == "train"]
sweep = [r for r in rows if r["mode"] == "allreduce"][-1]


def runs(world, batch):
    return [r for r in train if r["world"] == world and r["global_batch"] == batch]


def med(world, batch, key):
    return statistics.median(r[key] for r in runs(world, batch))


def fit(points):
    """Least squares t = a + b*n."""
    xs = [p["elements"] for p in points]
    ys = [p["seconds"] for p in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return my - b * mx, b


P = train[0]["parameters"]
sps1, sps2 = med(1, 64, "steps_per_second"), med(2, 64, "steps_per_second")
sps1_32 = med(1, 32, "steps_per_second")
sps2_weak = med(2, 128, "steps_per_second")
strong_speedup = sps2 / sps1
strong_eff = strong_speedup / 2
weak_eff = sps2_weak / sps1
share_strong = med(2, 64, "allreduce_share")
share_weak = med(2, 128, "allreduce_share")
ar_strong = med(2, 64, "allreduce_seconds_mean")
ar_weak = med(2, 128, "allreduce_seconds_mean")
alpha, beta = fit(sweep["points"])
ar_model = next(p["seconds"] for p in sweep["points"] if p["elements"] == P) if any(
    p["elements"] == P for p in sweep["points"]) else alpha + beta * P
identical = all(r["replicas_identical"] for r in train)
compute64 = med(1, 64, "step_seconds_mean")
compute32 = med(1, 32, "step_seconds_mean")

out = []
w = out.append
w("# Distributed training: data-parallel scaling (c10d + Gloo)")
w("")
w("Command: `bench/distributed/run.sh` (%s cores%s; %s s). Each rank is a process"
  " with one LibTorch thread; ranks meet through a TCPStore on loopback and all-reduce with Gloo,"
  " with the code the server runs (server/dist: `Group`, `GradientReducer`, one 25 MiB bucket)."
  % (cores, ", shared with other work: 5-minute load average %s at the end" % load if load else "", seconds))
w("Model: the built-in BatchNorm CNN (%s parameters) with Adam on Fashion-MNIST (first 12,800 training"
  " images); %d measured steps after %d warm-up steps per run, %d interleaved repeats per"
  " configuration, medians reported. Replicas bit-identical at the end of every run: %s."
  % (format(P, ","), train[0]["steps"], train[0]["warmup"], len(runs(1, 64)), "yes" if identical else "NO"))
w("")
w("| ranks | global batch | per-rank batch | steps/s | step (ms) | all-reduce (ms) | all-reduce share |")
w("|---:|---:|---:|---:|---:|---:|---:|")
for world, batch in ((1, 64), (1, 32), (2, 64), (2, 128)):
    w("| %d | %d | %d | %.2f | %.1f | %.1f | %.0f %% |" % (
        world, batch, batch // world, med(world, batch, "steps_per_second"),
        1e3 * med(world, batch, "step_seconds_mean"), 1e3 * med(world, batch, "allreduce_seconds_mean"),
        100 * med(world, batch, "allreduce_share")))
w("")
w("- **Strong scaling** (global batch 64, 32 per rank at 2 ranks): speed-up %.2f×, efficiency"
  " %.0f %% (steps/s at 2 ranks ÷ (2 × steps/s at 1 rank)). The ideal would be the 1-rank step at"
  " batch 32, %.2f steps/s at 1 rank (its step takes %.0f %% of the batch-64 step), i.e. a"
  " speed-up near 2×." % (strong_speedup, 100 * strong_eff, sps1_32,
                                                   100 * compute32 / compute64))
w("- **Weak scaling** (64 per rank, global batch 128 at 2 ranks): efficiency %.0f %% (steps/s at 2"
  " ranks ÷ steps/s at 1 rank; each step does twice the work), i.e. %.2f× the samples/s." % (
      100 * weak_eff, 2 * weak_eff))
w("- **All-reduce share of the step**: %.0f %% (strong), %.0f %% (weak). The time measured around the"
  " all-reduce (%.1f / %.1f ms) is mostly waiting for the slower rank: a bare all-reduce of the"
  " model's %s gradients takes %.2f ms (below). The two ranks share the cores with the OS and any"
  " other work, so any delay of one rank stalls both at the next collective; on a loaded machine"
  " the ratios are lower bounds (the 1-rank runs, alone, lose less to the load)."
  % (100 * share_strong, 100 * share_weak, 1e3 * ar_strong, 1e3 * ar_weak, format(P, ","), 1e3 * ar_model))
w("")
w("## All-reduce cost per parameter (2 ranks, loopback, float32, median of 50)")
w("")
w("| elements | time (ms) | ns / element |")
w("|---:|---:|---:|")
for p in sweep["points"]:
    w("| %s | %.3f | %.2f |" % (format(p["elements"], ","), 1e3 * p["seconds"], 1e9 * p["seconds"] / p["elements"]))
w("")
w("Least-squares fit: t(N) = α + β·N with α = %.0f µs (latency: Gloo pair round trips and thread"
  " hand-offs) and β = %.2f ns per parameter (%.1f GB/s of float32 through loopback, which"
  " is memory copies, not a network)." % (1e6 * alpha, 1e9 * beta, 4 / beta / 1e9 if beta > 0 else float("nan")))
w("")
w("## On paper: larger clusters")
w("")
w("Gloo's CPU all-reduce is a ring (reduce-scatter then all-gather): each rank sends and receives"
  " 2(W−1)/W·N values in 2(W−1) rounds, so t(W) ≈ 2(W−1)·α₁ + 2(W−1)/W · N · β₁, where α₁, β₁"
  " are per-round latency and per-value transfer cost of one link. At W = 2 that is 2α₁ + N·β₁, so"
  " the fit gives α₁ ≈ α/2 and β₁ ≈ β. attune's reducer does not overlap the all-reduce with the"
  " backward pass (it runs after it, like DDP with one bucket), so the step is compute + t(W) and"
  " the weak-scaling efficiency is E(W) = T_c / (T_c + t(W)), with T_c = %.1f ms, the measured"
  " 1-rank step at batch 64." % (1e3 * compute64))
w("")
links = [("loopback (measured α, β)", alpha / 2, beta),
         ("10 GbE (α₁ = 50 µs, β₁ = 3.2 ns)", 50e-6, 4 / 1.25e9),
         ("100 Gb/s (α₁ = 10 µs, β₁ = 0.32 ns)", 10e-6, 4 / 12.5e9)]
models = [("this CNN", P), ("ResNet-18", 11_700_000), ("ResNet-50", 25_600_000), ("BERT-base", 110_000_000)]
w("| link | model (parameters) | t(8) ms | t(64) ms | E(8) | E(64) |")
w("|---|---|---:|---:|---:|---:|")


def t(W, N, a1, b1):
    return 2 * (W - 1) * a1 + 2 * (W - 1) / W * N * b1


# Per-parameter compute scales roughly with parameters for a fixed architecture family; we keep
# the CNN's measured step for it and, for the larger models, assume a per-rank step of 1 s on CPU
# (the order of a ResNet-50 batch of 32 on a few cores) so that the ratio stays meaningful.
for lname, a1, b1 in links:
    for mname, N in models:
        tc = compute64 if N == P else 1.0
        t8, t64 = t(8, N, a1, b1), t(64, N, a1, b1)
        w("| %s | %s (%s) | %.2f | %.2f | %.0f %% | %.0f %% |" % (
            lname, mname, format(N, ","), 1e3 * t8, 1e3 * t64, 100 * tc / (tc + t8), 100 * tc / (tc + t64)))
w("")
w("E uses T_c = %.1f ms for the CNN and T_c = 1 s per step for the larger models (CPU ranks)."
  " Reading: for small models the all-reduce is latency-bound (2(W−1)·α₁ grows linearly in W"
  " while the data term saturates at 2·N·β₁), so a 24k-parameter CNN stops scaling after a few"
  " ranks on a real network; for large models the data term 2·N·β₁ dominates and is nearly"
  " independent of W, so weak scaling stays high as long as T_c ≫ 2·N·β₁. Strong scaling"
  " additionally shrinks T_c by W, so its efficiency falls W times faster. Overlapping the"
  " all-reduce with the backward pass (DDP's autograd hooks, several buckets) would hide up to"
  " min(T_backward, t(W)); attune does not do that yet." % (1e3 * compute64))
print("\n".join(out))
