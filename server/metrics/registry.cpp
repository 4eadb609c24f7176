#include "metrics/registry.h"

#include "metrics/process_collector.h"

namespace attune::metrics {

std::shared_ptr<prometheus::Registry> registry_ptr() {
  static auto r = std::make_shared<prometheus::Registry>();
  return r;
}

namespace buckets {
const prometheus::Histogram::BucketBoundaries& rpc_seconds() {
  static const prometheus::Histogram::BucketBoundaries b{.001, .0025, .005, .01, .025, .05,
                                                         .1,   .25,   .5,   1,   2.5,  5, 10};
  return b;
}
const prometheus::Histogram::BucketBoundaries& load_seconds() {
  static const prometheus::Histogram::BucketBoundaries b{.1, .5, 1, 2.5, 5, 10, 30, 60, 120};
  return b;
}
const prometheus::Histogram::BucketBoundaries& step_seconds() {
  static const prometheus::Histogram::BucketBoundaries b{.005, .01, .025, .05, .1, .25,
                                                         .5,   1,   2.5,  5,   10, 30};
  return b;
}
const prometheus::Histogram::BucketBoundaries& entropy_nats() {
  static const prometheus::Histogram::BucketBoundaries b{.1, .25, .5, 1, 2, 3, 4, 5, 7};
  return b;
}
const prometheus::Histogram::BucketBoundaries& abs_error() {
  static const prometheus::Histogram::BucketBoundaries b{.1, .25, .5, 1, 2, 3, 5, 10, 20, 50};
  return b;
}
}  // namespace buckets

std::unique_ptr<prometheus::Exposer> start_exposer(const std::string& address) {
  auto exposer = std::make_unique<prometheus::Exposer>(address);
  exposer->RegisterCollectable(registry_ptr());
  static auto process = std::make_shared<ProcessCollector>();
  exposer->RegisterCollectable(process);
  return exposer;
}

}  // namespace attune::metrics
