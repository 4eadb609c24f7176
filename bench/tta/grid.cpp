#include "grid.h"

#include <iostream>

#include "eval_util.h"
#include "tta/corruptions.h"

namespace attune::bench {

Grid run_grid(const Config& c, const torch::jit::Module& model, const Data& d,
              const tta::FisherInfo& fisher) {
  Grid g;
  const auto specs = compared_methods();
  for (const auto& s : specs) g.methods.push_back(s.label);
  std::vector<tta::Corruption> corruptions = tta::all_corruptions();
  g.severities = {1, 2, 3, 4, 5};
  if (c.quick) {
    corruptions = {tta::Corruption::kGaussianNoise, tta::Corruption::kContrast};
    g.severities = {3, 5};
  }
  for (const auto cor : corruptions) g.corruptions.emplace_back(tta::corruption_name(cor));
  const auto perm = tta::iid_order(d.test_x.size(0), /*seed=*/7);
  for (const int64_t bs : {int64_t{64}, int64_t{16}}) {
    const int64_t M = bs == 64 ? c.per_setting : c.per_setting_bs16;
    const auto subset = perm.slice(0, 0, M);
    const auto clean_x = d.test_x.index_select(0, subset);
    const auto y = d.test_y.index_select(0, subset);
    std::vector<std::pair<std::string, int>> shifts{{"clean", 0}};
    for (const auto& name : g.corruptions) {
      for (const int s : g.severities) shifts.emplace_back(name, s);
    }
    for (const auto& [name, severity] : shifts) {
      const auto t0 = Clock::now();
      const auto x = severity == 0 ? clean_x
                                   : tta::corrupt(clean_x, tta::parse_corruption(name), severity,
                                                  /*seed=*/1000 * static_cast<uint64_t>(severity) +
                                                      static_cast<uint64_t>(name.size()));
      for (const std::string stream : {"iid", "sorted"}) {
        const auto order = stream == "iid" ? tta::iid_order(M, 11) : tta::label_sorted_order(y);
        for (const auto& spec : specs) {
          auto a = session(model, spec, fisher);
          const auto r = tta::run_stream(*a, x, y, order, bs);
          g.cells[{stream, bs, name, severity, spec.label}].add(r, a->stats());
        }
      }
      std::cerr << "bs " << bs << " " << name << " s" << severity << ": "
                << fixed(seconds_since(t0), 1) << " s\n";
    }
  }
  return g;
}

namespace {

// Mean over corruptions of one (stream, bs, severity, method).
Cell mean_over(const Grid& g, const std::string& stream, int64_t bs, int severity,
               const std::string& method) {
  Cell m;
  for (const auto& cor : g.corruptions) {
    const auto& c = g.cells.at({stream, bs, cor, severity, method});
    m.correct += c.correct;
    m.seen += c.seen;
    m.n1 += c.n1;
    m.n2 += c.n2;
    m.seconds += c.seconds;
    m.batches += c.batches;
  }
  return m;
}

}  // namespace

void print_summary(const Grid& g) {
  std::cout << "\n### Accuracy (%), mean over the " << g.corruptions.size()
            << " corruptions, per severity\n\n";
  std::cout << "| stream | batch | severity |";
  for (const auto& m : g.methods) std::cout << ' ' << m << " |";
  std::cout << " EATA n1/seen | EATA n2/seen |\n|---|---|---|";
  for (size_t i = 0; i < g.methods.size() + 2; ++i) std::cout << "---|";
  std::cout << "\n";
  for (const std::string stream : {"iid", "sorted"}) {
    for (const int64_t bs : {int64_t{64}, int64_t{16}}) {
      std::vector<int> rows{0};
      rows.insert(rows.end(), g.severities.begin(), g.severities.end());
      for (const int s : rows) {
        std::cout << "| " << stream << " | " << bs << " | "
                  << (s == 0 ? "clean" : std::to_string(s)) << " |";
        for (const auto& m : g.methods) {
          const auto cell =
              s == 0 ? g.cells.at({stream, bs, "clean", 0, m}) : mean_over(g, stream, bs, s, m);
          std::cout << ' ' << pct(cell.acc()) << " |";
        }
        const auto e = s == 0 ? g.cells.at({stream, bs, "clean", 0, "EATA"})
                              : mean_over(g, stream, bs, s, "EATA");
        std::cout << ' ' << pct(double(e.n1) / double(e.seen)) << " | "
                  << pct(double(e.n2) / double(e.seen)) << " |\n";
      }
    }
  }
}

void print_detail(const Grid& g) {
  for (const std::string stream : {"iid", "sorted"}) {
    for (const int64_t bs : {int64_t{64}, int64_t{16}}) {
      std::cout << "\n### Accuracy (%), " << stream << " stream, batch " << bs
                << "\n\n| corruption | sev |";
      for (const auto& m : g.methods) std::cout << ' ' << m << " |";
      std::cout << " EATA n2/seen |\n|---|---|";
      for (size_t i = 0; i <= g.methods.size(); ++i) std::cout << "---|";
      std::cout << "\n";
      for (const auto& cor : g.corruptions) {
        for (const int s : g.severities) {
          std::cout << "| " << cor << " | " << s << " |";
          for (const auto& m : g.methods)
            std::cout << ' ' << pct(g.cells.at({stream, bs, cor, s, m}).acc()) << " |";
          const auto& e = g.cells.at({stream, bs, cor, s, "EATA"});
          std::cout << ' ' << pct(double(e.n2) / double(e.seen)) << " |\n";
        }
      }
    }
  }
}

// Backward share and time per batch from the grid: every (stream, bs) setting, same data for
// every method.
void print_grid_cost(const Grid& g) {
  std::cout << "\n### Samples back-propagated and adapt() time per batch over the grid\n\n"
               "| stream | batch | Tent used/seen | ETA used/seen | EATA used/seen | EATA "
               "reliable/seen | "
               "Tent ms/batch | EATA ms/batch | EATA/Tent time "
               "|\n|---|---|---|---|---|---|---|---|---|\n";
  for (const std::string stream : {"iid", "sorted"}) {
    for (const int64_t bs : {int64_t{64}, int64_t{16}}) {
      std::map<std::string, Cell> sum;
      for (const auto& [k, c] : g.cells) {
        if (std::get<0>(k) != stream || std::get<1>(k) != bs) continue;
        auto& s = sum[std::get<4>(k)];
        s.seen += c.seen;
        s.n1 += c.n1;
        s.n2 += c.n2;
        s.seconds += c.seconds;
        s.batches += c.batches;
      }
      auto share = [&](const std::string& m, bool used) {
        return pct(double(used ? sum[m].n2 : sum[m].n1) / double(sum[m].seen));
      };
      const double tent_ms = 1e3 * sum["Tent"].seconds / double(sum["Tent"].batches);
      const double eata_ms = 1e3 * sum["EATA"].seconds / double(sum["EATA"].batches);
      std::cout << "| " << stream << " | " << bs << " | " << share("Tent", true) << " | "
                << share("ETA", true) << " | " << share("EATA", true) << " | "
                << share("EATA", false) << " | " << fixed(tent_ms, 2) << " | " << fixed(eata_ms, 2)
                << " | " << fixed(eata_ms / tent_ms, 3) << " |\n";
    }
  }
}

}  // namespace attune::bench
