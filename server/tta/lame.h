// LAME: Laplacian-adjusted maximum-likelihood estimation (Boudiaf et al., CVPR 2022), as the
// official fiveai/LAME code computes it (tta spec §1). Pure tensor functions: no model, no state.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "tta/options.h"

namespace attune::tta {

struct LameSolution {
  torch::Tensor Z;               // [N, K] float64, rows on the simplex
  int64_t iterations = 0;        // fixed-point iterations run (= energies.size())
  bool converged = false;        // stopped by the relative-energy rule before the 100-step cap
  std::vector<double> energies;  // surrogate energy after each iteration
};

// Squared Euclidean distances between the rows of x [N, d] from the Gram matrix
// ‖a‖² + ‖b‖² − 2aᵀb (no N×N×d tensor), clamped at 0, diagonal exactly 0.
torch::Tensor squared_distances(const torch::Tensor& x);

// W [N, N] for L2-normalised features x [N, d]. kNN: binary, directed, row sums min(k, N−1).
// rbf: exp(−D²/2σ²) with σ the batch mean of the distance to the k-th nearest point counting
// the point itself (official; the configured sigma is never used). If σ = 0 (N = 1, or every
// such distance is 0) the official code divides 0 by 0 and returns NaN; here W = 0, so LAME
// returns p, as kNN does for N = 1. linear: x xᵀ.
torch::Tensor lame_affinity(const torch::Tensor& x, const LameOptions& options);

// Concave-convex fixed point z_i ← softmax(−u_i + λ Σ_j w_ij z_j) from Z⁰ = softmax(−u), λ = 1,
// at most 100 iterations, stopping once t > 1 and |E_t − E_{t−1}| ≤ 1e−8·|E_{t−1}|.
LameSolution laplacian_optimization(const torch::Tensor& unary, const torch::Tensor& W);

// Corrected probabilities for source probabilities p [N, K] and features f [N, d]; computed
// in float64 whatever the inputs' dtype (in float32 the 1e−8 relative stopping rule lies below
// machine precision and the loop would always run all 100 iterations).
LameSolution lame(const torch::Tensor& probs, const torch::Tensor& features,
                  const LameOptions& options);

}  // namespace attune::tta
