// Options of a test-time adaptation session. Defaults are the official ones (tta spec §1-§3):
// LAME from fiveai/LAME's defaults.py, EATA/ETA/Tent from mr-eggplant/EATA's main.py (ImageNet).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace attune::tta {

enum class Method {
  kSource,  // unchanged model, eval mode
  kNorm,    // BN-adapt: BatchNorm normalises with the batch's statistics, no gradients
  kTent,    // entropy minimisation of BatchNorm affine parameters (Wang et al., ICLR 2021)
  kEta,     // EATA without the Fisher regulariser
  kEata,    // Niu et al., ICML 2022
  kLame,  // Laplacian-adjusted maximum-likelihood estimation on outputs (Boudiaf et al., CVPR 2022)
};

// "source" | "norm" | "tent" | "eta" | "eata" | "lame" (case-insensitive); throws
// std::invalid_argument naming the accepted values.
Method parse_method(std::string_view name);
std::string_view method_name(Method m);
bool adapts_parameters(Method m);  // tent, eta, eata

enum class Affinity { kKnn, kRbf, kLinear };
Affinity parse_affinity(std::string_view name);  // "knn" | "rbf" | "linear", case-insensitive
std::string_view affinity_name(Affinity a);

struct OptimizerOptions {
  enum class Kind { kSgd, kAdam };
  Kind kind = Kind::kSgd;
  double lr = 0.00025;  // EATA main.py, shared by tent/eta/eata
  double weight_decay = 0.0;
  // SGD
  double momentum = 0.9;
  double dampening = 0.0;
  bool nesterov = false;
  // Adam
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  bool amsgrad = false;
};

struct EataOptions {
  double e_margin_factor = 0.4;  // E0 = e_margin_factor · ln C (paper; main.py passes 0.4·ln 1000)
  double d_margin = 0.05;        // ε of the redundancy filter |cos(m, p_i)| < ε
  double fisher_alpha = 2000.0;  // β of β·Σ F(θ−θ0)²; ignored by ETA
};

struct LameOptions {
  Affinity affinity = Affinity::kRbf;
  int64_t knn = 5;              // neighbours of kNN; rank of the rbf σ neighbour (self included)
  bool force_symmetry = false;  // W ← (W + Wᵀ)/2
};

struct Options {
  Method method = Method::kEta;  // main.py's default --algorithm
  bool episodic = false;         // reset parameters and optimiser before every batch
  int64_t steps = 1;             // forward/update rounds per batch (tent, eta, eata)
  OptimizerOptions optimizer;
  EataOptions eata;
  LameOptions lame;
};

// Throws std::invalid_argument "<field>: expected <constraint>, received <value>".
void validate(const Options& options);

}  // namespace attune::tta
