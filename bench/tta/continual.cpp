#include <algorithm>
#include <iostream>

#include "eval_util.h"
#include "sections.h"
#include "tta/corruptions.h"
#include "tta/evaluation.h"

namespace attune::bench {

void run_continual(const Config& c, const torch::jit::Module& model, const Data& d,
                   const tta::FisherInfo& fisher) {
  const int64_t M = c.continual_segment;
  const auto perm = tta::iid_order(d.test_x.size(0), /*seed=*/99);
  const auto corrupt_idx = perm.slice(0, 0, M);
  const auto clean_idx = perm.slice(0, M, 2 * M);
  const auto cx = d.test_x.index_select(0, corrupt_idx), cy = d.test_y.index_select(0, corrupt_idx);
  const auto kx = d.test_x.index_select(0, clean_idx), ky = d.test_y.index_select(0, clean_idx);
  const auto corruptions = tta::all_corruptions();

  auto specs = compared_methods();
  specs.erase(
      std::remove_if(specs.begin(), specs.end(),
                     [](const MethodSpec& s) { return s.options.method == tta::Method::kLame; }),
      specs.end());
  auto strong = specs.back();  // EATA
  strong.label = "EATA (β=2000)";
  strong.options.eata.fisher_alpha = 2000;
  specs.push_back(strong);

  std::cout
      << "\n### Continual run (no reset): 5 corruptions at severity 5, each followed by clean "
         "images, two rounds; batch 64, "
      << M
      << " images per segment\n\n"
         "| method | corrupted acc. round 1 | round 2 | clean segments round 1 | round 2 | "
         "last clean segment | clean acc. of final weights (batch stats) | ‖θ−θ0‖ | "
         "Σ F(θ−θ0)² | used/seen |\n|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& spec : specs) {
    auto a = session(model, spec, fisher);
    double corrupted[2] = {0, 0}, clean[2] = {0, 0}, last_clean = 0;
    for (int round = 0; round < 2; ++round) {
      for (size_t i = 0; i < corruptions.size(); ++i) {
        const auto x = tta::corrupt(cx, corruptions[i], 5, 500 + i);
        corrupted[round] += tta::run_stream(*a, x, cy, tta::iid_order(M, 3 + i), 64).accuracy;
        last_clean = tta::run_stream(*a, kx, ky, tta::iid_order(M, 30 + i), 64).accuracy;
        clean[round] += last_clean;
      }
    }
    const auto s = a->stats();
    std::string final_clean = "–";
    if (tta::adapts_parameters(spec.options.method) || spec.options.method == tta::Method::kNorm) {
      // The final weights, normalising with clean batches' statistics and no further updates.
      tta::Options norm;
      norm.method = tta::Method::kNorm;
      auto probe = tta::make_adapter(a->export_module(), norm);
      final_clean = pct(tta::run_stream(*probe, kx, ky, tta::iid_order(M, 77), 64).accuracy);
    }
    const double n = static_cast<double>(corruptions.size());
    std::cout << "| " << spec.label << " | " << pct(corrupted[0] / n) << " | "
              << pct(corrupted[1] / n) << " | " << pct(clean[0] / n) << " | " << pct(clean[1] / n)
              << " | " << pct(last_clean) << " | " << final_clean << " | "
              << fixed(s.param_distance, 3) << " | "
              << (s.fisher_drift ? fixed(*s.fisher_drift, 6) : std::string("–")) << " | "
              << (s.samples ? pct(double(s.used) / double(s.samples)) : std::string("0")) << " |\n";
    std::cerr << "continual " << spec.label << " done\n";
  }
}

}  // namespace attune::bench
