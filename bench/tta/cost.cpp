#include <algorithm>
#include <ctime>
#include <iostream>

#include "eval_util.h"
#include "sections.h"
#include "tta/corruptions.h"
#include "tta/evaluation.h"

namespace attune::bench {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double thread_cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Per-call samples of wall time and of this thread's CPU time.
struct Timings {
  std::vector<double> wall, cpu;
  template <typename F>
  auto time(F&& f) {
    const auto w0 = Clock::now();
    const double c0 = thread_cpu_seconds();
    auto out = f();
    cpu.push_back(thread_cpu_seconds() - c0);
    wall.push_back(seconds_since(w0));
    return out;
  }
};

void print_cost_row(const std::string& what, int64_t bs, size_t batches, int reps, const Timings& a,
                    const Timings& b, const std::string& target) {
  std::cout << "| " << what << " | " << bs << " | " << batches << " × " << reps << " | "
            << fixed(1e3 * median(a.cpu), 2) << " | " << fixed(1e3 * median(b.cpu), 2) << " | "
            << fixed(median(a.cpu) / median(b.cpu), 3) << " | "
            << fixed(median(a.wall) / median(b.wall), 3) << " | " << target << " |\n";
}

}  // namespace

void run_cost(const Config& c, const torch::jit::Module& model, const Data& d,
              const tta::FisherInfo& fisher) {
  const int reps = c.quick ? 2 : 5;
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  const auto perm = tta::iid_order(d.test_x.size(0), /*seed=*/5);
  const auto x_all = tta::corrupt(d.test_x.index_select(0, perm.slice(0, 0, 2048)),
                                  tta::Corruption::kGaussianNoise, 3, 42);
  const auto y_all = d.test_y.index_select(0, perm.slice(0, 0, 2048));
  const auto specs = compared_methods();
  auto find = [&](const std::string& label) {
    for (const auto& s : specs) {
      if (s.label == label) return s;
    }
    throw std::logic_error("no method " + label);
  };

  std::cout << "\n### Cost (same run, interleaved A/B on the same batches, 1 intra-op thread; "
               "medians of per-batch Adapter::adapt time)\n\n"
               "| A vs B | batch | batches × reps | A ms (CPU) | B ms (CPU) | A/B CPU | A/B wall | "
               "target |\n|---|---|---|---|---|---|---|---|\n";
  for (const std::string stream : {"iid", "sorted"}) {
    auto tent = session(model, find("Tent"), fisher);
    auto eata = session(model, find("EATA"), fisher);
    Timings tt, te;
    int64_t used = 0, seen = 0;
    const auto order = stream == "iid" ? tta::iid_order(2048, 1) : tta::label_sorted_order(y_all);
    const auto batches = x_all.index_select(0, order).split(64);
    for (int r = 0; r < reps; ++r) {
      for (const auto& x : batches) {
        tt.time([&] { return tent->adapt(x); });
        used += te.time([&] { return eata->adapt(x); }).stats.used;
        seen += x.size(0);
      }
    }
    print_cost_row("EATA vs Tent (" + stream + ", EATA back-propagates " +
                       pct(double(used) / double(seen)) + " % of samples)",
                   64, batches.size(), reps, te, tt, "≤ 1.0");
  }
  for (const std::string label : {"LAME-kNN", "LAME-rbf"}) {
    for (const std::string stream : {"iid", "sorted"}) {
      auto source = session(model, find("source"), fisher);
      auto lame = session(model, find(label), fisher);
      const auto order = stream == "iid" ? tta::iid_order(2048, 1) : tta::label_sorted_order(y_all);
      const auto xs = x_all.index_select(0, order);
      Timings ts, tl;
      int64_t iterations = 0, calls = 0;
      lame->adapt(xs.slice(0, 0, 128));  // verifies the classifier head (one extra pass, once)
      for (int r = 0; r < reps; ++r) {
        for (const auto& x : xs.split(128)) {
          ts.time([&] { return source->adapt(x); });
          iterations += tl.time([&] { return lame->adapt(x); }).stats.lame_iterations;
          ++calls;
        }
      }
      print_cost_row(label + " vs forward (" + stream + ", mean " +
                         fixed(double(iterations) / double(calls), 1) + " iterations, inputs " +
                         lame->stats().lame_inputs + ")",
                     128, xs.split(128).size(), reps, tl, ts, "≤ 1.10");
    }
  }
  torch::set_num_threads(threads);
}

}  // namespace attune::bench
