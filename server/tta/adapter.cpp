#include "tta/adapter.h"

#include <sstream>

#include "tta/adapter_internal.h"
#include "tta/errors.h"

namespace attune::tta {

const FisherInfo& Adapter::compute_fisher(const std::vector<torch::Tensor>&) {
  throw FailedPrecondition("compute_fisher: method '" + std::string(method_name(options_.method)) +
                           "' has no Fisher information (only tent, eta and eata do)");
}

void Adapter::set_fisher(FisherInfo) {
  throw FailedPrecondition("set_fisher: method '" + std::string(method_name(options_.method)) +
                           "' has no Fisher information (only tent, eta and eata do)");
}

const FisherInfo& Adapter::compute_fisher(const torch::Tensor& samples, int64_t batch_size) {
  if (batch_size < 2) {
    throw std::invalid_argument("fisher batch_size: expected an integer >= 2, received " +
                                std::to_string(batch_size));
  }
  if (!samples.defined() || samples.dim() < 1 || samples.size(0) < 2) {
    throw InvalidBatch("fisher samples: expected a tensor [M, ...] with M >= 2, received " +
                       (samples.defined() ? "shape " + c10::str(samples.sizes())
                                          : std::string("an undefined tensor")));
  }
  const int64_t M = samples.size(0);
  if (M % batch_size == 1) {
    throw InvalidBatch("fisher samples: " + std::to_string(M) + " samples in batches of " +
                       std::to_string(batch_size) +
                       " leave a last batch of 1, and BatchNorm needs at least 2");
  }
  const auto slices = samples.split(batch_size);
  return compute_fisher(std::vector<torch::Tensor>(slices.begin(), slices.end()));
}

std::unique_ptr<Adapter> make_adapter(const torch::jit::Module& source, const Options& options) {
  validate(options);
  if (options.method == Method::kSource || options.method == Method::kLame) {
    return detail::make_frozen_adapter(source, options);
  }
  return detail::make_bn_adapter(source, options);
}

namespace detail {

void check_batch(const torch::Tensor& x, torch::ScalarType dtype, int64_t min_samples,
                 Method method, std::string_view what) {
  std::ostringstream msg;
  msg << what << ": ";
  if (!x.defined()) {
    msg << "expected a tensor [N, ...], received an undefined tensor";
    throw InvalidBatch(msg.str());
  }
  if (x.dim() < 1 || x.size(0) < min_samples) {
    msg << "expected at least " << min_samples << " sample" << (min_samples > 1 ? "s" : "")
        << " [N, ...]";
    if (min_samples > 1) {
      msg << " (method '" << method_name(method)
          << "' normalises with the batch's statistics; send larger batches)";
    }
    msg << ", received shape " << x.sizes();
    throw InvalidBatch(msg.str());
  }
  if (x.scalar_type() != dtype) {
    msg << "expected dtype " << dtype << " (the model's), received " << x.scalar_type();
    throw InvalidBatch(msg.str());
  }
  if (!torch::isfinite(x).all().item<bool>()) {
    msg << "expected finite values, received NaN or infinity";
    throw InvalidBatch(msg.str());
  }
}

}  // namespace detail
}  // namespace attune::tta
