"""Turns bench_optim's Google Benchmark JSON into bench/optim/RESULTS.md.

Each optimizer benchmark times a STREAM triad right before every step (same load on the shared
cores) and reports ratio_to_bound = t_step * 12 / (bytes_per_param * t_triad) per repetition.
Per byte vs Adam = ratio(Adam) / ratio(opt): > 1 means more of the update's minimum traffic per
second than torch::optim::Adam moves of its own (28 B/param), both measured against the triad.
"""
import argparse
import json
import platform
import subprocess

parser = argparse.ArgumentParser()
parser.add_argument("json")
parser.add_argument("--command", required=True)
parser.add_argument("--load", nargs=2, required=True)
args = parser.parse_args()

with open(args.json) as f:
    data = json.load(f)

rows = {}  # (name, threads) -> {stat: {"ms", "ratio", "triad_ms"}, "bytes"}
for b in data["benchmarks"]:
    stat = b.get("aggregate_name")
    if stat not in ("median", "min"):
        continue
    assert b["time_unit"] == "ms"
    parts = b["run_name"].split("/")  # BM_<name>/<intra-op threads>/manual_time
    row = rows.setdefault((parts[0][3:], int(parts[1])), {})
    row[stat] = {"ms": b["real_time"], "ratio": b["ratio_to_bound"], "triad_ms": b["triad_ms"]}
    row["bytes"] = b["bytes_per_param"]

ctx = data["context"]
try:
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next(l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("Model name"))
except Exception:  # no lscpu
    model = "unknown CPU"

order = ["EXAdam", "Adan", "Adan_clipped", "AdaBelief", "AdaGradNorm", "EXAdam_reference",
         "Adan_reference", "AdaBelief_reference", "AdaGradNorm_reference", "TorchAdam"]
ours = ["EXAdam", "Adan", "Adan_clipped", "AdaBelief", "AdaGradNorm"]

print("# bench/optim results\n")
print("One optimizer step over 10M float32 parameters (ten 1000×1000 tensors, gradients fixed).")
print("Every timed step is preceded by a STREAM triad a = b + 3c over the same ten tensor sizes,")
print("through the same fused loop (12 B/element in STREAM's count), timed separately: the 2 cores")
print("are shared with other engineers' jobs, and pairing keeps the step and its yardstick under")
print("the same load. `bound` = B/param × 10M ÷ triad bandwidth, where B/param is the update's")
print("minimum traffic (each buffer read and written once); `ratio` = step time ÷ bound, per")
print("repetition, then median and minimum over the repetitions. The triad's stores also pay a")
print("read-for-ownership that STREAM does not count, while an optimizer reads every buffer it")
print("writes, so ratios below 1 are possible. `per byte vs Adam` = ratio(torch::optim::Adam, charged")
print("its own minimum 28 B/param) ÷ ratio(row), medians: > 1 means more bytes per second.")
print("`_reference` rows are the tensor-op paths (`fused(false)`).\n")
print(f"Command: `{args.command}`\n")
print(f"Machine: {model}, {ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu')} MHz, "
      f"{platform.system()} {platform.release()}, LibTorch 1.13.1 (OpenMP/libgomp intra-op pool), "
      f"clang-14 -O3, kernels AVX2+FMA. Run at {ctx.get('date')}.")
print(f"Load average (1/5/15 min) before: {args.load[0]}, after: {args.load[1]} (a load above 2 means "
      "the run competed for the cores; wall times then grow, most for 2 threads, where each OpenMP "
      "region waits for its slowest thread).\n")

summary = []
for threads in (1, 2):
    triad, adam = rows.get(("Triad", threads)), rows.get(("TorchAdam", threads))
    if not triad:
        continue
    print(f"## {threads} thread{'s' if threads > 1 else ''}\n")
    t = triad["median"]["ms"], triad["min"]["ms"]
    print(f"Triad alone: {t[0]:.2f} ms median ({12e7 / t[0] / 1e9 * 1e3:.1f} GB/s), "
          f"{t[1]:.2f} ms min ({12e7 / t[1] / 1e9 * 1e3:.1f} GB/s).\n")
    print("| optimizer | ms/step median | ms/step min | B/param | paired triad ms (median) | "
          "ratio to bound median | ratio min | per byte vs Adam |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in order:
        r = rows.get((name, threads))
        if not r:
            continue
        vs_adam = adam["median"]["ratio"] / r["median"]["ratio"] if adam else float("nan")
        label = f"**{name}**" if name in ours else name
        print(f"| {label} | {r['median']['ms']:.2f} | {r['min']['ms']:.2f} | {r['bytes']:.0f} | "
              f"{r['median']['triad_ms']:.2f} | {r['median']['ratio']:.2f} | {r['min']['ratio']:.2f} | "
              f"{vs_adam:.2f}× |")
    print()
    if adam:
        worst = max((rows[(n, threads)]["median"]["ratio"], n) for n in ours if (n, threads) in rows)
        worst_min = max((rows[(n, threads)]["min"]["ratio"], n) for n in ours if (n, threads) in rows)
        slowest = min((adam["median"]["ratio"] / rows[(n, threads)]["median"]["ratio"], n)
                      for n in ours if (n, threads) in rows)
        summary.append(
            f"- {threads} thread{'s' if threads > 1 else ''}: worst ratio to bound {worst[1]} {worst[0]:.2f} "
            f"median / {worst_min[1]} {worst_min[0]:.2f} min (target ≤ 1.3: "
            f"{'met' if worst[0] <= 1.3 else 'NOT met'} on medians, "
            f"{'met' if worst_min[0] <= 1.3 else 'NOT met'} on minimums); lowest per-byte speed vs "
            f"torch::optim::Adam {slowest[1]} {slowest[0]:.2f}× ({'faster' if slowest[0] > 1 else 'NOT faster'}).")

print("## Targets (computed from the tables above)\n")
print("\n".join(summary))
