// The process-wide Prometheus registry and its HTTP exposer. Naming follows Prometheus
// conventions: base units (seconds, bytes), counters end in _total, histograms not summaries.
#pragma once
#include <prometheus/exposer.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace attune::metrics {

std::shared_ptr<prometheus::Registry> registry_ptr();
inline prometheus::Registry& registry() { return *registry_ptr(); }

// Bucket boundaries shared by dashboards (service spec section 4).
namespace buckets {
const prometheus::Histogram::BucketBoundaries& rpc_seconds();    // .001 .. 10
const prometheus::Histogram::BucketBoundaries& load_seconds();   // .1 .. 120
const prometheus::Histogram::BucketBoundaries& step_seconds();   // .005 .. 30
const prometheus::Histogram::BucketBoundaries& entropy_nats();   // .1 .. 7
const prometheus::Histogram::BucketBoundaries& abs_error();      // .1 .. 50
}  // namespace buckets

// Serves /metrics at `address` ("host:port"; port 0 = any) with the registry and process
// metrics. Returns the exposer; its GetListeningPorts() gives the bound port.
std::unique_ptr<prometheus::Exposer> start_exposer(const std::string& address);

}  // namespace attune::metrics
