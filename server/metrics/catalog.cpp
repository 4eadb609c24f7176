#include "metrics/catalog.h"

#include "metrics/registry.h"

namespace attune::metrics {
namespace {

CounterFamily& counter(const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry());
}
GaugeFamily& gauge(const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry());
}
HistogramFamily& histogram(const char* name, const char* help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry());
}

}  // namespace

const Catalog& catalog() {
  static const Catalog c{
      gauge("attune_build_info", "Build information; the value is always 1."),
      counter("grpc_server_started_total", "RPCs started on the server."),
      counter("grpc_server_handled_total", "RPCs completed on the server, by status code."),
      histogram("grpc_server_handling_seconds", "Time from RPC start to status sent."),
      gauge("attune_models", "Hosted model versions by state."),
      histogram("attune_model_load_seconds", "Time to load and validate a model version."),
      counter("attune_model_loads_total", "Model version loads by result."),
      counter("attune_inference_samples_total", "Samples inferred (a batch of n counts n)."),
      histogram("attune_inference_seconds", "Forward-pass time of an inference request."),
      gauge("attune_train_jobs", "Training jobs by state."),
      counter("attune_train_steps_total", "Optimizer steps taken by training jobs."),
      counter("attune_train_samples_total", "Samples processed by training jobs."),
      histogram("attune_train_step_seconds", "Time of one training step."),
      gauge("attune_train_loss", "Most recent training loss."),
      gauge("attune_train_learning_rate", "Current learning rate of the first parameter group."),
      gauge("attune_train_batch_size", "Current training batch size."),
      histogram("attune_checkpoint_seconds", "Time to write a checkpoint durably."),
      gauge("attune_checkpoint_last_success_timestamp_seconds",
            "Unix time of the last checkpoint written successfully."),
      gauge("attune_train_queue_depth", "Training jobs waiting for a worker."),
      histogram("attune_train_allreduce_seconds", "Time of one gradient all-reduce."),
      gauge("attune_train_world_size", "Ranks in the running distributed training job."),
      gauge("attune_adapt_sessions", "Open test-time adaptation sessions."),
      counter("attune_adapt_samples_total",
              "Samples seen by adaptation sessions, by decision (used or filtered)."),
      histogram("attune_adapt_entropy", "Prediction entropy of adapted samples in nats."),
      histogram("attune_adapt_batch_seconds", "Time to adapt one batch."),
      counter("attune_adapt_resets_total", "Adaptation session resets by reason."),
      gauge("attune_adapt_fisher_penalty", "Latest EATA Fisher penalty of a session's model."),
      counter("attune_nowcast_observations_total", "Observations ingested by nowcasting streams."),
      histogram("attune_nowcast_abs_error", "Absolute error of matured forecasts."),
      gauge("attune_drift_statistic", "Current drift detector statistic."),
      gauge("attune_drift_threshold", "Threshold the drift statistic is compared with."),
      counter("attune_drift_events_total", "Drift detections."),
      counter("attune_retrain_total", "Forecaster retrains by trigger."),
      gauge("attune_nowcast_window_samples", "Training window of the current forecaster."),
      counter("attune_nowcast_train_cpu_seconds_total", "CPU time spent retraining forecasters (window choice, sample assembly, scaling, fit, holdout scoring)."),
  };
  return c;
}

}  // namespace attune::metrics
