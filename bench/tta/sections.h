// The continual (forgetting) and cost sections of the TTA evaluation; each prints Markdown.
#pragma once
#include "eval_setup.h"

namespace attune::bench {

// Continual run without reset (EATA's protocol, EATA#9): each severity-5 corruption followed by
// the clean test images, two rounds, batch 64, i.i.d. within segments.
void run_continual(const Config& c, const torch::jit::Module& model, const Data& d,
                   const tta::FisherInfo& fisher);

// Interleaved on the same batches, one intra-op thread so that the calling thread's CPU time
// is the whole cost: the machine is shared, and CPU time is far less sensitive to other
// processes than wall time (both are reported).
void run_cost(const Config& c, const torch::jit::Module& model, const Data& d,
              const tta::FisherInfo& fisher);

}  // namespace attune::bench
