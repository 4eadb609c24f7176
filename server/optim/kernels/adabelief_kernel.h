// AdaBelief single-pass update (spec §3, steps 2-6). Torch-free; see elementwise.h.
#pragma once
#include "optim/kernels/elementwise.h"

namespace attune::optim::kernels {

// Which update rule step t takes (spec §3 steps 5-6).
enum class AdaBeliefRule : uint8_t {
  kAdaptive,   // rectify off: θ − (η/bc₁)·m/(√ŝ/√bc₂ + ε)
  kRectified,  // ρ_t ≥ 5: θ − η·r·m/(√s + ε)
  kSgd,        // ρ_t < 5 and degenerated_to_sgd: θ − (η/bc₁)·m
  kNone,       // ρ_t < 5 otherwise: moments move, θ does not
};

struct AdaBeliefCoeffs {
  bool decoupled = true;
  double decay_factor = 1;  // decoupled: θ·(1 − ηλ) or θ·(1 − λ) (fixed_decay)
  bool l2 = false;          // coupled decay: g ← g + λθ, written into p.grad
  double weight_decay = 0;
  double beta1 = 0, one_minus_beta1 = 0, beta2 = 0, one_minus_beta2 = 0, eps = 0;
  double bias_correction2_sqrt = 1;
  AdaBeliefRule rule = AdaBeliefRule::kAdaptive;
  double neg_step = 0;  // the rule's negated step: −η/bc₁ or −η·r
  bool amsgrad = false;
};

// Operands: 0 param, 1 grad, 2 exp_avg, 3 exp_avg_var, 4 max_exp_avg_var (only with amsgrad).
void adabelief_update(const AdaBeliefCoeffs& c, c10::ScalarType param_type, const Chunk& chunk,
                      Arith arith);

}  // namespace attune::optim::kernels
