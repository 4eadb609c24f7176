// The accuracy grid of the TTA evaluation: every method on every (stream, batch size,
// corruption, severity), a fresh session per setting ("reset each shift").
#pragma once
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "eval_setup.h"
#include "tta/evaluation.h"

namespace attune::bench {

struct Cell {
  double correct = 0;  // accuracy × samples, summed
  int64_t seen = 0, n1 = 0, n2 = 0;
  double seconds = 0;
  int64_t batches = 0;
  int64_t runs = 0;
  void add(const tta::StreamResult& r, const tta::SessionStats& s) {
    correct += r.accuracy * static_cast<double>(r.samples);
    seen += r.samples;
    n1 += s.reliable;
    n2 += s.used;
    seconds += r.seconds;
    batches += r.batches;
    ++runs;
  }
  double acc() const { return seen ? correct / static_cast<double>(seen) : 0; }
};

// Keyed by stream ("iid"/"sorted"), batch size, corruption ("clean" for none), severity, method.
using Key = std::tuple<std::string, int64_t, std::string, int, std::string>;

struct Grid {
  std::map<Key, Cell> cells;
  std::vector<std::string> methods;
  std::vector<std::string> corruptions;
  std::vector<int> severities;
};

Grid run_grid(const Config& c, const torch::jit::Module& model, const Data& d,
              const tta::FisherInfo& fisher);

// Markdown: per-severity means, per-corruption details, backward share and grid timings.
void print_summary(const Grid& g);
void print_detail(const Grid& g);
void print_grid_cost(const Grid& g);

}  // namespace attune::bench
