// LibTorch forecasters (spec §1.4, §4 (ii)): FC-MLP, LSTM and Transformer encoder, trained with
// Adam on a weighted MSE, early-stopped on the held-out tail with the best state restored.
// Each model owns a CPU generator seeded per fit, used for initialisation, shuffling and
// dropout: LibTorch's nn::Dropout draws from the global generator, which concurrent fits of
// other streams would interleave, so the LSTM/Transformer internals run without dropout and
// the heads apply their own generator-driven mask.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>

#include "nowcast/regressor.h"

namespace attune::nowcast {
namespace {

class Net : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  virtual double macs_per_sample() const = 0;  // multiply-adds of one forward pass
  at::Generator* generator = nullptr;
  double dropout = 0.0;

 protected:
  torch::Tensor drop(const torch::Tensor& h) {
    if (!is_training() || dropout <= 0.0 || !generator) return h;
    return h * torch::empty_like(h).bernoulli_(1.0 - dropout, *generator) / (1.0 - dropout);
  }
};

// hidden → hidden/2 → hidden/4 → outputs, as flowml's sequence heads.
class Head : public torch::nn::Module {
 public:
  Head(int64_t in, int64_t hidden, int64_t out) {
    const int64_t h2 = std::max<int64_t>(1, hidden / 2), h4 = std::max<int64_t>(1, hidden / 4);
    dims_ = {in, hidden, h2, h4, out};
    for (size_t i = 0; i + 1 < dims_.size(); ++i)
      layers_.push_back(register_module("fc" + std::to_string(i),
                                        torch::nn::Linear(dims_[i], dims_[i + 1])));
  }
  template <typename Drop>
  torch::Tensor forward(torch::Tensor h, Drop&& drop) {
    for (size_t i = 0; i < layers_.size(); ++i) {
      h = layers_[i]->forward(h);
      if (i + 1 < layers_.size()) h = drop(torch::relu(h));
    }
    return h;
  }
  double macs() const {
    double m = 0;
    for (size_t i = 0; i + 1 < dims_.size(); ++i) m += static_cast<double>(dims_[i] * dims_[i + 1]);
    return m;
  }

 private:
  std::vector<int64_t> dims_;
  std::vector<torch::nn::Linear> layers_;
};

class Mlp : public Net {
 public:
  Mlp(const ModelConfig& c, const FeatureLayout& f, int64_t out) {
    int64_t in = f.size();
    for (int64_t i = 0; i <= c.layers; ++i) {
      const int64_t o = i == c.layers ? out : c.hidden;
      layers_.push_back(register_module("fc" + std::to_string(i), torch::nn::Linear(in, o)));
      macs_ += static_cast<double>(in * o);
      in = o;
    }
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor h = x;
    for (size_t i = 0; i < layers_.size(); ++i) {
      h = layers_[i]->forward(h);
      if (i + 1 < layers_.size()) h = drop(torch::relu(h));
    }
    return h;
  }
  double macs_per_sample() const override { return macs_; }

 private:
  std::vector<torch::nn::Linear> layers_;
  double macs_ = 0;
};

// Splits a feature row into the [L, variables] sequence and the calendar tail.
struct SequenceView {
  FeatureLayout f;
  torch::Tensor sequence(const torch::Tensor& x) const {
    return x.narrow(1, 0, f.lags * f.n_vars).reshape({x.size(0), f.lags, f.n_vars});
  }
  torch::Tensor calendar(const torch::Tensor& x) const {
    return x.narrow(1, f.lags * f.n_vars, f.n_calendar);
  }
};

class Lstm : public Net {
 public:
  Lstm(const ModelConfig& c, const FeatureLayout& f, int64_t out)
      : view_{f},
        lstm_(register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(f.n_vars, c.hidden)
                                                          .num_layers(c.layers)
                                                          .batch_first(true)))),
        head_(register_module("head", std::make_shared<Head>(f.lags * c.hidden + f.n_calendar,
                                                             c.hidden, out))) {
    double per_step = 0;
    for (int64_t l = 0; l < c.layers; ++l)
      per_step += 4.0 * c.hidden * ((l == 0 ? f.n_vars : c.hidden) + c.hidden);
    macs_ = per_step * static_cast<double>(f.lags) + head_->macs();
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    auto seq = std::get<0>(lstm_->forward(view_.sequence(x)));
    auto h = torch::cat({seq.reshape({x.size(0), -1}), view_.calendar(x)}, 1);
    return head_->forward(h, [this](const torch::Tensor& t) { return drop(t); });
  }
  double macs_per_sample() const override { return macs_; }

 private:
  SequenceView view_;
  torch::nn::LSTM lstm_;
  std::shared_ptr<Head> head_;
  double macs_ = 0;
};

class Transformer : public Net {
 public:
  Transformer(const ModelConfig& c, const FeatureLayout& f, int64_t out)
      : view_{f},
        input_(register_module("input", torch::nn::Linear(f.n_vars, c.hidden))),
        encoder_(register_module(
            "encoder", torch::nn::TransformerEncoder(torch::nn::TransformerEncoderOptions(
                           torch::nn::TransformerEncoderLayerOptions(c.hidden, c.heads)
                               .dim_feedforward(c.hidden)
                               .dropout(0.0),
                           c.layers)))),
        head_(register_module("head", std::make_shared<Head>(f.lags * c.hidden + f.n_calendar,
                                                             c.hidden, out))) {
    // Sinusoidal positional encoding (Vaswani et al. 2017, §3.5).
    auto pe = torch::zeros({f.lags, c.hidden}, torch::kFloat32);
    for (int64_t pos = 0; pos < f.lags; ++pos)
      for (int64_t i = 0; i < c.hidden; ++i) {
        const double angle = pos / std::pow(10000.0, 2.0 * static_cast<double>(i / 2) / c.hidden);
        pe[pos][i] = i % 2 == 0 ? std::sin(angle) : std::cos(angle);
      }
    positional_ = register_buffer("positional", pe);
    const double d = static_cast<double>(c.hidden), L = static_cast<double>(f.lags);
    macs_ = L * f.n_vars * d + c.layers * (L * (4 * d * d + 2 * d * d) + 2 * L * L * d) + head_->macs();
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    auto h = input_->forward(view_.sequence(x)) + positional_;  // [B, L, d]
    h = encoder_->forward(h.transpose(0, 1)).transpose(0, 1);   // encoder wants [L, B, d]
    h = torch::cat({h.reshape({x.size(0), -1}), view_.calendar(x)}, 1);
    return head_->forward(h, [this](const torch::Tensor& t) { return drop(t); });
  }
  double macs_per_sample() const override { return macs_; }

 private:
  SequenceView view_;
  torch::nn::Linear input_;
  torch::nn::TransformerEncoder encoder_;
  std::shared_ptr<Head> head_;
  torch::Tensor positional_;
  double macs_ = 0;
};

std::shared_ptr<Net> make_net(const ModelConfig& c, const FeatureLayout& f, int64_t out) {
  switch (c.kind) {
    case ModelKind::mlp: return std::make_shared<Mlp>(c, f, out);
    case ModelKind::lstm: return std::make_shared<Lstm>(c, f, out);
    case ModelKind::transformer: return std::make_shared<Transformer>(c, f, out);
    default: break;
  }
  throw std::invalid_argument("model.kind: not a neural model");
}

class NeuralRegressor : public Regressor {
 public:
  NeuralRegressor(const ModelConfig& c, const FeatureLayout& f, int64_t out, uint64_t seed)
      : c_(c), net_(make_net(c, f, out)), generator_(at::detail::createCPUGenerator(seed)) {
    net_->dropout = c.dropout;
    net_->generator = &generator_;
  }

  FitStats fit(const FitData& d) override {
    initialise();
    const auto x = d.x.to(torch::kFloat32), y = d.y.to(torch::kFloat32);
    const auto w = (d.w / d.w.mean()).to(torch::kFloat32);
    const auto x_val = d.x_val.to(torch::kFloat32), y_val = d.y_val.to(torch::kFloat32);
    torch::optim::Adam opt(net_->parameters(),
                           torch::optim::AdamOptions(c_.lr).weight_decay(c_.weight_decay));
    const int64_t n = x.size(0);
    double best = std::numeric_limits<double>::infinity();
    std::vector<torch::Tensor> best_state;
    int64_t epochs = 0, stale = 0;
    for (int64_t e = 0; e < c_.max_epochs && stale < c_.patience; ++e, ++epochs) {
      net_->train();
      const auto order = torch::randperm(n, generator_, torch::kLong);
      for (int64_t b = 0; b < n; b += c_.batch_size) {
        const auto idx = order.narrow(0, b, std::min(c_.batch_size, n - b));
        const auto err = (net_->forward(x.index_select(0, idx)) - y.index_select(0, idx)).pow(2);
        const auto wb = w.index_select(0, idx);
        const auto loss = (err.mean(1) * wb).sum() / wb.sum();
        opt.zero_grad();
        loss.backward();
        opt.step();
      }
      const double val = holdout_mse(x_val, y_val);
      if (val < best) {
        best = val;
        stale = 0;
        best_state = snapshot_parameters();
      } else {
        ++stale;
      }
    }
    restore_parameters(best_state);
    net_->eval();
    return {epochs, 3.0 * 2.0 * net_->macs_per_sample() * static_cast<double>(n * epochs)};
  }

  torch::Tensor predict(const torch::Tensor& x) override {
    torch::NoGradGuard no_grad;
    net_->eval();
    return net_->forward(x.to(torch::kFloat32)).to(torch::kFloat64);
  }

  void save(torch::serialize::OutputArchive& a) const override { net_->save(a); }
  void load(torch::serialize::InputArchive& a) override {
    net_->load(a);
    net_->eval();
  }

 private:
  // U(±1/sqrt(fan_in)) for every weight matrix (PyTorch's Linear default bound), zero biases,
  // LayerNorm left at identity; all drawn from this model's generator.
  void initialise() {
    torch::NoGradGuard no_grad;
    for (auto& p : net_->named_parameters()) {
      auto& t = p.value();
      if (t.dim() >= 2) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(t.size(1)));
        t.uniform_(-bound, bound, generator_);
      } else if (p.key().find("norm") == std::string::npos) {
        t.zero_();
      }
    }
  }

  double holdout_mse(const torch::Tensor& x, const torch::Tensor& y) {
    torch::NoGradGuard no_grad;
    net_->eval();
    return (net_->forward(x) - y).pow(2).mean().item<double>();
  }

  std::vector<torch::Tensor> snapshot_parameters() const {
    std::vector<torch::Tensor> s;
    for (const auto& p : net_->parameters()) s.push_back(p.detach().clone());
    return s;
  }
  void restore_parameters(const std::vector<torch::Tensor>& s) {
    if (s.empty()) return;
    torch::NoGradGuard no_grad;
    auto params = net_->parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(s[i]);
  }

  ModelConfig c_;
  std::shared_ptr<Net> net_;
  at::Generator generator_;
};

}  // namespace

std::unique_ptr<Regressor> make_neural(const ModelConfig& c, const FeatureLayout& layout,
                                       int64_t n_outputs, uint64_t seed) {
  return std::make_unique<NeuralRegressor>(c, layout, n_outputs, seed);
}

}  // namespace attune::nowcast
