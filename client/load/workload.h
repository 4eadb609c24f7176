// The mixed workload of attune-load: each client thread repeatedly picks an operation by weight
// (infer, adapt, ingest, job status) and times it. Setup creates what the operations need
// (an adaptation session per client, a few nowcast streams, a training job to poll) and
// cleanup removes it.
#pragma once
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "attune/v1/adaptation_service.grpc.pb.h"
#include "attune/v1/dataset_service.grpc.pb.h"
#include "attune/v1/nowcast_service.grpc.pb.h"
#include "attune/v1/training_service.grpc.pb.h"
#include "inference/open_inference_grpc.grpc.pb.h"
#include "stats.h"

namespace attune::load {

enum class Op { kInfer, kAdapt, kIngest, kJob };
const char* op_name(Op op);

struct Options {
  std::string server = "127.0.0.1:50051";
  int metrics_port = 0;  // 0: no RSS readings
  int clients = 8;
  double seconds = 10;
  double warmup_seconds = 5;
  std::map<Op, int> weights{{Op::kInfer, 70}, {Op::kAdapt, 10}, {Op::kIngest, 10}, {Op::kJob, 10}};
  std::string infer_model = "mlp";
  std::string adapt_model = "cnn_bn";
  std::string adapt_method = "tent";
  int batch = 8;           // rows per infer / adapt batch
  int streams = 8;         // nowcast streams shared by the clients
  int observations = 10;   // per Ingest message
  uint64_t seed = 1;
  double deadline_seconds = 30;
  bool train = true;       // start a training job whose status the job operations poll
};

// Shared state the clients use (sessions, streams, the job).
class Workload {
 public:
  explicit Workload(Options o);
  // Creates sessions, streams, the dataset and the job; throws std::runtime_error on failure.
  void setup();
  void cleanup();
  // One client thread: runs operations until `stop`; `measure` says whether to record them.
  void client(int index, const std::atomic<bool>& stop, const std::atomic<bool>& measure, std::map<Op, OpStats>* out);

  const Options& options() const { return o_; }

 private:
  struct Stream {
    std::string name;
    std::mutex mu;  // one message in flight per stream keeps its times increasing
    int64_t next = 0;
  };
  struct Client;  // per-thread stubs and open bidi calls

  grpc::Status infer(Client& c);
  grpc::Status adapt(Client& c);
  grpc::Status ingest(Client& c);
  grpc::Status job(Client& c);
  std::shared_ptr<grpc::Channel> channel(int index);

  Options o_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<int64_t> infer_shape_;
  std::vector<int64_t> adapt_shape_;
  std::vector<std::string> sessions_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::string job_, dataset_, prefix_;
};

}  // namespace attune::load
