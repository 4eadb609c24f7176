// Built-in architectures for users without Python, built directly as TorchScript modules
// (parameters registered from C++, methods compiled from TorchScript source) so they are
// hosted, trained, adapted and exported exactly like uploaded models.
#pragma once
#include <torch/script.h>

#include <string>
#include <vector>

#include "core/tensor_codec.h"

namespace attune {

struct ArchitectureSpec {
  std::string kind;  // "mlp" | "cnn" | "lstm" | "transformer"
  int64_t in_features = 0, out_features = 0;        // mlp, lstm, transformer
  std::vector<int64_t> hidden;                      // mlp (default {64})
  int64_t in_channels = 0, height = 0, width = 0;   // cnn
  std::vector<int64_t> channels;                    // cnn (default {16, 32, 64})
  int64_t classes = 0;                              // cnn
  int64_t hidden_size = 0, layers = 0;              // lstm (32, 1); transformer layers (2)
  int64_t d_model = 0, heads = 0, feedforward = 0;  // transformer (32, 4, 64)
  int64_t time_steps = 0;                           // lstm, transformer (8)
};

struct BuiltModel {
  torch::jit::Module module;
  std::vector<TensorSpec> inputs, outputs;
};

// Fills defaults and validates; throws attune::Error(kInvalidArgument) naming the field.
ArchitectureSpec normalized(ArchitectureSpec spec);
// Weights are initialised like PyTorch's defaults from a generator seeded with `seed`.
BuiltModel build_architecture(const ArchitectureSpec& spec, uint64_t seed);

}  // namespace attune
