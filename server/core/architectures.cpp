#include "core/architectures.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace attune {
namespace {

using torch::jit::Module;
using CU = std::shared_ptr<torch::jit::CompilationUnit>;

// PyTorch's nn.Module defaults are in train mode; BatchNorm reads self.training.
Module new_module(const std::string& cls, const CU& cu) {
  Module m("__torch__.attune.builtin." + cls, cu, /*shouldMangle=*/true);
  m.register_attribute("training", c10::BoolType::get(), true);
  return m;
}

// Trainable like nn.Parameter (register_parameter alone does not set requires_grad).
torch::Tensor param(torch::Tensor t) { return t.requires_grad_(true); }

torch::Tensor uniform(at::IntArrayRef shape, double bound, at::Generator& gen) {
  return param(torch::empty(shape).uniform_(-bound, bound, gen));
}

// nn.Linear's default init (kaiming_uniform with a = √5): U(±1/√fan_in) for weight and bias.
Module linear(const CU& cu, int64_t in, int64_t out, at::Generator& gen) {
  Module m = new_module("Linear", cu);
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  m.register_parameter("weight", uniform({out, in}, bound, gen), false);
  m.register_parameter("bias", uniform({out}, bound, gen), false);
  m.define("def forward(self, x):\n    return torch.linear(x, self.weight, self.bias)\n");
  return m;
}

Module conv3x3(const CU& cu, int64_t in, int64_t out, at::Generator& gen) {
  Module m = new_module("Conv2d", cu);
  const double bound = 1.0 / std::sqrt(static_cast<double>(in * 9));
  m.register_parameter("weight", uniform({out, in, 3, 3}, bound, gen), false);
  m.register_parameter("bias", uniform({out}, bound, gen), false);
  m.define(
      "def forward(self, x):\n"
      "    return torch.conv2d(x, self.weight, self.bias, [1, 1], [1, 1], [1, 1], 1)\n");
  return m;
}

// The type name contains "BatchNorm2d", which is how test-time adaptation finds it.
Module batchnorm2d(const CU& cu, int64_t channels) {
  Module m = new_module("BatchNorm2d", cu);
  m.register_parameter("weight", param(torch::ones({channels})), false);
  m.register_parameter("bias", param(torch::zeros({channels})), false);
  m.register_buffer("running_mean", torch::zeros({channels}));
  m.register_buffer("running_var", torch::ones({channels}));
  m.define(
      "def forward(self, x):\n"
      "    return torch.batch_norm(x, self.weight, self.bias, self.running_mean, "
      "self.running_var, self.training, 0.1, 1e-05, False)\n");
  return m;
}

Module layernorm(const CU& cu, int64_t dim) {
  Module m = new_module("LayerNorm", cu);
  m.register_parameter("weight", param(torch::ones({dim})), false);
  m.register_parameter("bias", param(torch::zeros({dim})), false);
  m.register_attribute("dim", c10::IntType::get(), dim);
  m.define(
      "def forward(self, x):\n"
      "    return torch.layer_norm(x, [self.dim], self.weight, self.bias, 1e-05, True)\n");
  return m;
}

void require(bool ok, const std::string& field, const std::string& expected, int64_t received) {
  if (!ok)
    throw InvalidArgument("architecture." + field + ": expected " + expected + ", received " +
                          std::to_string(received));
}

BuiltModel mlp(const ArchitectureSpec& s, at::Generator& gen) {
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  Module m = new_module("MLP", cu);
  int64_t in = s.in_features;
  std::ostringstream features;
  features << "def features(self, x):\n";
  for (size_t i = 0; i < s.hidden.size(); ++i) {
    m.register_module("fc" + std::to_string(i), linear(cu, in, s.hidden[i], gen));
    features << "    x = torch.relu(self.fc" << i << ".forward(x))\n";
    in = s.hidden[i];
  }
  features << "    return x\n";
  m.register_module("head", linear(cu, in, s.out_features, gen));
  m.define(features.str() + "def forward(self, x):\n    return self.head.forward(self.features(x))\n");
  return {m, {{"input", DType::kFloat32, {-1, s.in_features}}},
          {{"output", DType::kFloat32, {-1, s.out_features}}}};
}

BuiltModel cnn(const ArchitectureSpec& s, at::Generator& gen) {
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  Module m = new_module("CNN", cu);
  std::ostringstream features;
  features << "def features(self, x):\n";
  int64_t in = s.in_channels;
  for (size_t i = 0; i < s.channels.size(); ++i) {
    const std::string k = std::to_string(i);
    m.register_module("conv" + k, conv3x3(cu, in, s.channels[i], gen));
    m.register_module("bn" + k, batchnorm2d(cu, s.channels[i]));
    features << "    x = torch.relu(self.bn" << k << ".forward(self.conv" << k << ".forward(x)))\n";
    if (i + 1 < s.channels.size())
      features << "    x = torch.max_pool2d(x, [2, 2], [2, 2], [0, 0], [1, 1], False)\n";
    in = s.channels[i];
  }
  features << "    return torch.mean(x, [2, 3])\n";
  m.register_module("fc", linear(cu, in, s.classes, gen));
  m.define(features.str() + "def forward(self, x):\n    return self.fc.forward(self.features(x))\n");
  return {m, {{"image", DType::kFloat32, {-1, s.in_channels, s.height, s.width}}},
          {{"logits", DType::kFloat32, {-1, s.classes}}}};
}

BuiltModel lstm(const ArchitectureSpec& s, at::Generator& gen) {
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  Module m = new_module("LSTM", cu);
  const int64_t h = s.hidden_size;
  const double bound = 1.0 / std::sqrt(static_cast<double>(h));
  std::ostringstream params;
  for (int64_t l = 0; l < s.layers; ++l) {
    const std::string k = std::to_string(l);
    const int64_t in = l == 0 ? s.in_features : h;
    m.register_parameter("weight_ih_l" + k, uniform({4 * h, in}, bound, gen), false);
    m.register_parameter("weight_hh_l" + k, uniform({4 * h, h}, bound, gen), false);
    m.register_parameter("bias_ih_l" + k, uniform({4 * h}, bound, gen), false);
    m.register_parameter("bias_hh_l" + k, uniform({4 * h}, bound, gen), false);
    params << (l ? ", " : "") << "self.weight_ih_l" << k << ", self.weight_hh_l" << k
           << ", self.bias_ih_l" << k << ", self.bias_hh_l" << k;
  }
  m.register_module("head", linear(cu, h, s.out_features, gen));
  std::ostringstream src;
  src << "def features(self, x):\n"
      << "    h0 = torch.zeros([" << s.layers << ", x.size(0), " << h
      << "], dtype=x.dtype, device=x.device)\n"
      << "    out, hn, cn = torch.lstm(x, [h0, h0], [" << params.str() << "], True, " << s.layers
      << ", 0.0, self.training, False, True)\n"
      << "    return hn[" << s.layers - 1 << "]\n"
      << "def forward(self, x):\n    return self.head.forward(self.features(x))\n";
  m.define(src.str());
  return {m, {{"sequence", DType::kFloat32, {-1, s.time_steps, s.in_features}}},
          {{"output", DType::kFloat32, {-1, s.out_features}}}};
}

// Post-norm encoder layer as torch.nn.TransformerEncoderLayer(norm_first=False, ReLU, no dropout).
Module encoder_layer(const CU& cu, const ArchitectureSpec& s, at::Generator& gen) {
  Module m = new_module("TransformerEncoderLayer", cu);
  const int64_t d = s.d_model;
  m.register_attribute("heads", c10::IntType::get(), s.heads);
  m.register_attribute("head_dim", c10::IntType::get(), d / s.heads);
  m.register_attribute("scale", c10::FloatType::get(), 1.0 / std::sqrt(static_cast<double>(d / s.heads)));
  m.register_module("in_proj", linear(cu, d, 3 * d, gen));
  m.register_module("out_proj", linear(cu, d, d, gen));
  m.register_module("linear1", linear(cu, d, s.feedforward, gen));
  m.register_module("linear2", linear(cu, s.feedforward, d, gen));
  m.register_module("norm1", layernorm(cu, d));
  m.register_module("norm2", layernorm(cu, d));
  m.define(R"(
def forward(self, x):
    b = x.size(0)
    t = x.size(1)
    d = x.size(2)
    q, k, v = self.in_proj.forward(x).chunk(3, -1)
    q = q.reshape([b, t, self.heads, self.head_dim]).transpose(1, 2)
    k = k.reshape([b, t, self.heads, self.head_dim]).transpose(1, 2)
    v = v.reshape([b, t, self.heads, self.head_dim]).transpose(1, 2)
    att = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * self.scale, -1)
    y = torch.matmul(att, v).transpose(1, 2).reshape([b, t, d])
    x = self.norm1.forward(x + self.out_proj.forward(y))
    f = self.linear2.forward(torch.relu(self.linear1.forward(x)))
    return self.norm2.forward(x + f)
)");
  return m;
}

BuiltModel transformer(const ArchitectureSpec& s, at::Generator& gen) {
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  Module m = new_module("TransformerRegressor", cu);
  m.register_module("embed", linear(cu, s.in_features, s.d_model, gen));
  m.register_parameter("position", param(torch::empty({s.time_steps, s.d_model}).normal_(0, 0.02, gen)), false);
  std::ostringstream src;
  src << "def features(self, x):\n"
      << "    x = self.embed.forward(x) + self.position[:x.size(1)].unsqueeze(0)\n";
  for (int64_t l = 0; l < s.layers; ++l) {
    m.register_module("layer" + std::to_string(l), encoder_layer(cu, s, gen));
    src << "    x = self.layer" << l << ".forward(x)\n";
  }
  src << "    return torch.mean(x, [1])\n"
      << "def forward(self, x):\n    return self.head.forward(self.features(x))\n";
  m.register_module("head", linear(cu, s.d_model, s.out_features, gen));
  m.define(src.str());
  return {m, {{"sequence", DType::kFloat32, {-1, s.time_steps, s.in_features}}},
          {{"output", DType::kFloat32, {-1, s.out_features}}}};
}

}  // namespace

ArchitectureSpec normalized(ArchitectureSpec s) {
  auto dflt = [](int64_t& v, int64_t d) {
    if (v == 0) v = d;
  };
  if (s.kind == "mlp") {
    if (s.hidden.empty()) s.hidden = {64};
    require(s.in_features > 0, "mlp.in_features", "> 0", s.in_features);
    require(s.out_features > 0, "mlp.out_features", "> 0", s.out_features);
    for (auto h : s.hidden) require(h > 0 && h <= 65536, "mlp.hidden", "1..65536", h);
  } else if (s.kind == "cnn") {
    if (s.channels.empty()) s.channels = {16, 32, 64};
    require(s.in_channels > 0, "cnn.in_channels", "> 0", s.in_channels);
    require(s.classes > 1, "cnn.classes", "> 1", s.classes);
    const int64_t shrink = int64_t{1} << (s.channels.size() - 1);
    require(s.height >= shrink, "cnn.height", ">= " + std::to_string(shrink) + " (one halving per pooled block)", s.height);
    require(s.width >= shrink, "cnn.width", ">= " + std::to_string(shrink), s.width);
    for (auto c : s.channels) require(c > 0 && c <= 4096, "cnn.channels", "1..4096", c);
  } else if (s.kind == "lstm") {
    dflt(s.hidden_size, 32);
    dflt(s.layers, 1);
    dflt(s.time_steps, 8);
    require(s.in_features > 0, "lstm.in_features", "> 0", s.in_features);
    require(s.out_features > 0, "lstm.out_features", "> 0", s.out_features);
    require(s.layers >= 1 && s.layers <= 16, "lstm.layers", "1..16", s.layers);
    require(s.hidden_size > 0, "lstm.hidden", "> 0", s.hidden_size);
  } else if (s.kind == "transformer") {
    dflt(s.d_model, 32);
    dflt(s.heads, 4);
    dflt(s.layers, 2);
    dflt(s.feedforward, 64);
    dflt(s.time_steps, 8);
    require(s.in_features > 0, "transformer.in_features", "> 0", s.in_features);
    require(s.out_features > 0, "transformer.out_features", "> 0", s.out_features);
    require(s.heads > 0 && s.d_model % s.heads == 0, "transformer.heads",
            "a divisor of d_model " + std::to_string(s.d_model), s.heads);
    require(s.layers >= 1 && s.layers <= 24, "transformer.layers", "1..24", s.layers);
  } else {
    throw InvalidArgument("architecture: expected one of mlp, cnn, lstm, transformer, received '" +
                          s.kind + "'");
  }
  return s;
}

BuiltModel build_architecture(const ArchitectureSpec& spec_in, uint64_t seed) {
  const ArchitectureSpec s = normalized(spec_in);
  at::Generator gen = at::detail::createCPUGenerator(seed);
  if (s.kind == "mlp") return mlp(s, gen);
  if (s.kind == "cnn") return cnn(s, gen);
  if (s.kind == "lstm") return lstm(s, gen);
  return transformer(s, gen);
}

}  // namespace attune
