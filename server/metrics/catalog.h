// Every metric family attune exports, in one place so the dashboard, alerts and docs have a
// single source. Label values are bounded: models and streams are few and named by the user;
// job and session ids are never labels.
#pragma once
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <string>

namespace attune::metrics {

using CounterFamily = prometheus::Family<prometheus::Counter>;
using GaugeFamily = prometheus::Family<prometheus::Gauge>;
using HistogramFamily = prometheus::Family<prometheus::Histogram>;

struct Catalog {
  GaugeFamily& build_info;  // {version, git_sha, libtorch} = 1

  // Standard gRPC server families (grpc-ecosystem/go-grpc-prometheus names).
  CounterFamily& grpc_started;            // {grpc_service, grpc_method, grpc_type}
  CounterFamily& grpc_handled;            // {..., grpc_code}
  HistogramFamily& grpc_handling_seconds;  // {grpc_service, grpc_method, grpc_type}

  // Models and inference.
  GaugeFamily& models;                   // {state}
  HistogramFamily& model_load_seconds;   // {}
  CounterFamily& model_loads;            // {result = ok|error}
  CounterFamily& inference_samples;      // {model}
  HistogramFamily& inference_seconds;    // {model}

  // Training.
  GaugeFamily& train_jobs;                 // {state}
  CounterFamily& train_steps;              // {model}
  CounterFamily& train_samples;            // {model}
  HistogramFamily& train_step_seconds;     // {}
  GaugeFamily& train_loss;                 // {model}
  GaugeFamily& train_learning_rate;        // {model}
  GaugeFamily& train_batch_size;           // {model}
  HistogramFamily& checkpoint_seconds;     // {}
  GaugeFamily& checkpoint_last_success;    // {} unix seconds
  GaugeFamily& train_queue_depth;          // {}
  HistogramFamily& train_allreduce_seconds;  // {}
  GaugeFamily& train_world_size;           // {}

  // Test-time adaptation.
  GaugeFamily& adapt_sessions;            // {}
  CounterFamily& adapt_samples;           // {model, method, decision}
  HistogramFamily& adapt_entropy;         // {method}
  HistogramFamily& adapt_batch_seconds;   // {method}
  CounterFamily& adapt_resets;            // {reason}
  GaugeFamily& adapt_fisher_penalty;      // {model}

  // Nowcasting.
  CounterFamily& nowcast_observations;    // {stream}
  HistogramFamily& nowcast_abs_error;     // {stream, target, horizon}
  GaugeFamily& drift_statistic;           // {stream, detector}
  GaugeFamily& drift_threshold;           // {stream, detector}
  CounterFamily& drift_events;            // {stream, detector}
  CounterFamily& retrain;                 // {stream, trigger}
  GaugeFamily& nowcast_window_samples;    // {stream}
  CounterFamily& nowcast_train_cpu_seconds;  // {stream}
};

const Catalog& catalog();

}  // namespace attune::metrics
