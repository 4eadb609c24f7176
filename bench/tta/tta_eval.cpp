// Real-data evaluation of test-time adaptation on Fashion-MNIST (tta spec §5; issue 5):
// accuracy of source, BN-adapt, Tent, ETA, EATA and LAME on corrupted test streams (i.i.d. and
// label-sorted, batch 64 and 16), EATA's back-propagated share, forgetting after a continual
// run, and cost ratios (EATA vs Tent per batch, LAME vs the forward pass at batch 128).
// Prints Markdown tables on stdout, progress on stderr. Command: bench/tta/run_eval.sh.
#include <iostream>
#include <string>

#include "eval_setup.h"
#include "eval_util.h"
#include "grid.h"
#include "sections.h"
#include "tta/evaluation.h"

namespace attune::bench {
namespace {

Config parse(int argc, char** argv) {
  Config c;
  c.model_path = std::string(ATTUNE_BINARY_DIR) + "/models/cnn_bn/1/model.pt";
  c.cache_dir = std::string(ATTUNE_BINARY_DIR) + "/bench/tta";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + ": missing value");
      return argv[++i];
    };
    if (a == "--model")
      c.model_path = value();
    else if (a == "--cache-dir")
      c.cache_dir = value();
    else if (a == "--train-size")
      c.train_size = std::stoll(value());
    else if (a == "--epochs")
      c.epochs = std::stoll(value());
    else if (a == "--decayed-epochs")
      c.decayed_epochs = std::stoll(value());
    else if (a == "--per-setting")
      c.per_setting = std::stoll(value());
    else if (a == "--per-setting-bs16")
      c.per_setting_bs16 = std::stoll(value());
    else if (a == "--continual-segment")
      c.continual_segment = std::stoll(value());
    else if (a == "--threads")
      c.threads = std::stoi(value());
    else if (a == "--quick")
      c.quick = true;
    else if (a == "--sections")
      c.sections = value();
    else
      throw std::invalid_argument("unknown argument " + a);
  }
  if (c.quick) {
    c.per_setting = c.per_setting_bs16 = 512;
    c.continual_segment = 256;
  }
  return c;
}

}  // namespace
}  // namespace attune::bench

int main(int argc, char** argv) {
  using namespace attune::bench;
  const auto c = parse(argc, argv);
  torch::set_num_threads(c.threads);
  const auto start = Clock::now();
  const auto d = load_data(c);
  double train_seconds = 0;
  const auto model = source_model(c, d, &train_seconds);
  const auto fisher = clean_fisher(model, d, c.fisher_size);
  auto eval_copy = model.deepcopy();
  const double clean = attune::tta::eval_accuracy(eval_copy, d.test_x, d.test_y);

  std::cout << "## Setup\n\nFashion-MNIST (Debian dataset-fashion-mnist): source cnn_bn trained in "
               "C++ on "
            << d.train_x.size(0) << " training images, " << c.epochs
            << " epochs (Adam 1e-3, the last " << c.decayed_epochs << " at 1e-4; batch 64, seed 0)"
            << (train_seconds > 0 ? ", " + fixed(train_seconds, 0) + " s"
                                  : std::string(" (cached)"))
            << "; clean accuracy on all 10,000 test images (eval mode): " << pct(clean, 2)
            << " %. Test subsets per setting: " << c.per_setting << " images at batch 64, "
            << c.per_setting_bs16 << " at batch 16 (the same random subset for every method and "
            << "corruption). Fisher: " << fisher.samples << " clean training images in "
            << fisher.batches << " batches. Threads: " << c.threads << ".\n";
  auto wanted = [&](const char* section) { return c.sections.find(section) != std::string::npos; };
  Grid grid;
  if (wanted("grid")) {
    grid = run_grid(c, model, d, fisher);
    print_summary(grid);
    print_grid_cost(grid);
  }
  if (wanted("continual")) run_continual(c, model, d, fisher);
  if (wanted("cost")) run_cost(c, model, d, fisher);
  if (wanted("grid")) print_detail(grid);
  std::cout << "\nTotal wall time: " << fixed(seconds_since(start) / 60.0, 1) << " min.\n";
  return 0;
}
