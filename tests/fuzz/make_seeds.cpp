// Writes the seed corpus of the fuzz targets: valid (and a few typically invalid) messages of
// every kind they read, so fuzzing starts from the structure real clients send.
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "attune/v1/nowcast_service.pb.h"
#include "attune/v1/tensor.pb.h"
#include "attune/v1/training_service.pb.h"
#include "inference/open_inference_grpc.pb.h"
#include "rpc/convert.h"

namespace fs = std::filesystem;
using namespace attune;

namespace {

fs::path root;

void write(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(root / target);
  std::ofstream(root / target / name, std::ios::binary) << bytes;
}

void write_msg(const std::string& target, const std::string& name, char selector,
               const google::protobuf::Message& m) {
  write(target, name, std::string(1, selector) + m.SerializeAsString());
}

void tensors() {
  const std::vector<std::pair<std::string, torch::Tensor>> xs = {
      {"f32_2x8", torch::rand({2, 8})},
      {"f64_3", torch::rand({3}, torch::kFloat64)},
      {"i64_2x2", torch::arange(4, torch::kInt64).reshape({2, 2})},
      {"u8_4x3", torch::arange(12, torch::kInt64).to(torch::kUInt8).reshape({4, 3})},
      {"i8_3", torch::tensor({-1, 0, 1}, torch::kInt8)},
      {"i32_2", torch::tensor({7, -7}, torch::kInt32)},
      {"bool_2x2", torch::tensor({1, 0, 1, 1}, torch::kBool).reshape({2, 2})},
      {"f16_5", torch::rand({5}).to(torch::kFloat16)},
      {"bf16_2", torch::rand({2}).to(torch::kBFloat16)},
      {"f32_nan", torch::tensor({1.0f, NAN, INFINITY, 2.0f}).reshape({2, 2})},
      {"f32_empty_batch", torch::rand({0, 8})},
      {"f32_scalar", torch::tensor(3.5f)},
  };
  for (const auto& [name, x] : xs) {
    v1::Tensor t;
    rpc::encode(x, &t);
    write_msg("fuzz_tensor", "tensor_" + name, 0, t);
  }
  v1::Tensor bad;
  bad.set_dtype(v1::FLOAT32);
  bad.add_shape(2);
  bad.add_shape(8);
  bad.set_data(std::string(60, '\0'));
  write_msg("fuzz_tensor", "tensor_short_bytes", 0, bad);
  bad.set_dtype(v1::DATA_TYPE_UNSPECIFIED);
  write_msg("fuzz_tensor", "tensor_no_dtype", 0, bad);

  auto raw = [](const std::string& name, const std::string& datatype, const torch::Tensor& x,
                inference::ModelInferRequest& req) {
    auto* in = req.add_inputs();
    in->set_name(name);
    in->set_datatype(datatype);
    for (auto d : x.sizes()) in->add_shape(d);
    req.add_raw_input_contents(encode_tensor(x));
  };
  {
    inference::ModelInferRequest req;
    req.set_model_name("mlp");
    raw("input", "FP32", torch::rand({2, 8}), req);
    write_msg("fuzz_tensor", "infer_raw_mlp", 1, req);
    req.add_outputs()->set_name("output");
    req.set_id("42");
    write_msg("fuzz_tensor", "infer_raw_mlp_outputs", 1, req);
  }
  {
    inference::ModelInferRequest req;
    raw("image", "FP32", torch::rand({1, 1, 28, 28}), req);
    write_msg("fuzz_tensor", "infer_raw_image", 1, req);
  }
  {
    inference::ModelInferRequest req;
    auto* in = req.add_inputs();
    in->set_name("input");
    in->set_datatype("FP32");
    in->add_shape(1);
    in->add_shape(8);
    for (int i = 0; i < 8; ++i) in->mutable_contents()->add_fp32_contents(0.5f * i);
    write_msg("fuzz_tensor", "infer_typed_fp32", 1, req);
  }
  {
    inference::ModelInferRequest req;
    auto* ids = req.add_inputs();
    ids->set_name("ids");
    ids->set_datatype("INT64");
    ids->add_shape(1);
    ids->add_shape(3);
    for (int i = 0; i < 3; ++i) ids->mutable_contents()->add_int64_contents(i * 1000);
    auto* mask = req.add_inputs();
    mask->set_name("mask");
    mask->set_datatype("BOOL");
    mask->add_shape(1);
    mask->add_shape(3);
    for (int i = 0; i < 3; ++i) mask->mutable_contents()->add_bool_contents(i != 1);
    write_msg("fuzz_tensor", "infer_typed_two_inputs", 1, req);
  }
  {
    inference::ModelInferRequest req;
    auto* in = req.add_inputs();
    in->set_name("u8");
    in->set_datatype("UINT8");
    in->add_shape(1);
    in->add_shape(3);
    for (int i = 0; i < 3; ++i) in->mutable_contents()->add_uint_contents(250 + i);
    write_msg("fuzz_tensor", "infer_typed_uint8", 1, req);
  }
  {
    inference::ModelInferRequest req;
    raw("x", "FP64", torch::rand({2, 3}, torch::kFloat64), req);
    write_msg("fuzz_tensor", "infer_raw_fp64_any_rank", 1, req);
    inference::ModelInferRequest h;
    raw("h", "FP16", torch::rand({4}).to(torch::kFloat16), h);
    write_msg("fuzz_tensor", "infer_raw_fp16", 1, h);
  }
}

void model_configs() {
  write("fuzz_model_config", "mlp.json",
        R"({"inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 8]}],
 "outputs": [{"name": "output", "datatype": "FP32", "shape": [-1, 4]}]})");
  write("fuzz_model_config", "cnn.json",
        R"({"inputs": [{"name": "image", "dtype": "float32", "shape": [-1, 1, 28, 28]}],
 "outputs": [{"name": "logits", "shape": [-1, 10]}]})");
  write("fuzz_model_config", "two_inputs.json",
        R"({"inputs": [{"name": "ids", "datatype": "INT64", "shape": [-1, -1]},
                {"name": "mask", "datatype": "BOOL", "shape": [-1, -1]}]})");
  write("fuzz_model_config", "empty.json", "{}");
  write("fuzz_model_config", "null_inputs.json", R"({"inputs": null, "outputs": []})");
  write("fuzz_model_config", "wrong_types.json", R"({"inputs": [{"name": 5, "datatype": 1, "shape": "x"}]})");
  write("fuzz_model_config", "float_dims.json", R"({"inputs": [{"shape": [1.5, -2]}]})");
  write("fuzz_model_config", "array.json", R"([{"inputs": []}])");
  write("fuzz_model_config", "truncated.json", R"({"inputs": [{"name": "a", )");
}

void job_specs() {
  v1::JobSpec base;
  base.mutable_model()->set_name("mlp");
  base.set_dataset("syn");
  base.mutable_optimizer()->set_name("adam");
  base.mutable_optimizer()->set_lr(1e-3);
  base.set_max_steps(100);
  base.set_checkpoint_every_steps(10);
  write("fuzz_job_spec", "adam", base.SerializeAsString());

  auto s = base;
  s.mutable_optimizer()->set_name("adan");
  s.mutable_optimizer()->add_betas(0.98);
  s.mutable_optimizer()->add_betas(0.92);
  s.mutable_optimizer()->add_betas(0.99);
  (*s.mutable_optimizer()->mutable_options())["no_prox"] = 1;
  s.mutable_schedule()->set_kind(v1::ScheduleSpec::WARMUP_COSINE);
  s.mutable_schedule()->set_warmup_steps(10);
  s.set_validation_split(0.1);
  s.mutable_early_stopping()->set_patience(3);
  write("fuzz_job_spec", "adan_cosine", s.SerializeAsString());

  s = base;
  s.mutable_optimizer()->set_name("sgd");
  s.mutable_optimizer()->set_momentum(0.9);
  s.mutable_optimizer()->set_nesterov(true);
  s.mutable_schedule()->set_kind(v1::ScheduleSpec::STEP);
  s.mutable_schedule()->set_step_size(10);
  s.mutable_schedule()->set_gamma(0.5);
  s.mutable_batch()->set_size(8);
  s.mutable_batch()->set_policy(v1::BatchSpec::ADADAGRAD);
  s.mutable_batch()->set_test(v1::BatchSpec::INNER_PRODUCT_ORTHOGONALITY);
  s.mutable_batch()->set_max_batch_size(256);
  s.mutable_batch()->set_scale_lr(true);
  s.set_deterministic(true);
  s.set_clip_grad_norm(1.0);
  write("fuzz_job_spec", "sgd_adadagrad", s.SerializeAsString());

  s = base;
  s.clear_model();
  auto* cnn = s.mutable_architecture()->mutable_cnn();
  cnn->set_in_channels(1);
  cnn->set_height(28);
  cnn->set_width(28);
  cnn->add_channels(8);
  cnn->add_channels(16);
  cnn->set_classes(10);
  s.set_publish_name("fresh");
  s.mutable_optimizer()->set_name("exadam");
  write("fuzz_job_spec", "arch_cnn", s.SerializeAsString());

  s = base;
  s.clear_model();
  auto* mlp = s.mutable_architecture()->mutable_mlp();
  mlp->set_in_features(8);
  mlp->add_hidden(16);
  mlp->set_out_features(4);
  s.set_publish_name("m");
  s.mutable_optimizer()->set_name("adabelief");
  s.set_loss(v1::MSE);
  write("fuzz_job_spec", "arch_mlp", s.SerializeAsString());

  s = base;
  s.clear_model();
  auto* lstm = s.mutable_architecture()->mutable_lstm();
  lstm->set_in_features(4);
  lstm->set_out_features(1);
  lstm->set_time_steps(8);
  s.set_publish_name("l");
  s.mutable_optimizer()->set_name("adamw");
  s.mutable_optimizer()->set_weight_decay(0.01);
  write("fuzz_job_spec", "arch_lstm", s.SerializeAsString());

  s = base;
  s.clear_model();
  auto* tr = s.mutable_architecture()->mutable_transformer();
  tr->set_in_features(4);
  tr->set_out_features(2);
  tr->set_d_model(16);
  tr->set_heads(2);
  s.set_publish_name("t");
  s.mutable_optimizer()->set_name("adagradnorm");
  write("fuzz_job_spec", "arch_transformer", s.SerializeAsString());

  s = base;
  s.mutable_optimizer()->set_lr(-1);
  s.set_validation_split(1.5);
  write("fuzz_job_spec", "invalid", s.SerializeAsString());
}

void nowcast() {
  v1::NowcastStreamConfig c;
  c.set_name("weather");
  for (const char* v : {"temp", "wind", "pressure", "humidity"}) c.add_variables(v);
  c.add_targets("temp");
  write_msg("fuzz_observations", "config_defaults", 0, c);

  auto r = c;
  r.set_resolution_seconds(3600);
  r.set_lags(6);
  r.add_horizons(1);
  r.add_horizons(6);
  r.mutable_model()->set_kind("ridge");
  r.mutable_model()->set_l2(0.5);
  r.mutable_window()->set_kind("variance_horizon");
  r.mutable_window()->set_n_max(500);
  r.mutable_retrain()->set_trigger("adwin");
  r.mutable_retrain()->mutable_adwin()->set_delta(0.002);
  r.set_retrain_mode("synchronous");
  write_msg("fuzz_observations", "config_ridge_vh_adwin", 0, r);

  auto m = c;
  m.mutable_model()->set_kind("mlp");
  m.mutable_model()->set_hidden(16);
  m.mutable_model()->set_max_epochs(5);
  m.mutable_retrain()->set_trigger("page_hinkley");
  m.mutable_retrain()->mutable_page_hinkley()->set_mode("up");
  m.mutable_window()->set_kind("fixed");
  write_msg("fuzz_observations", "config_mlp_ph", 0, m);

  auto p = c;
  p.mutable_retrain()->set_trigger("performance");
  p.mutable_retrain()->set_tau(1.5);
  p.mutable_retrain()->set_error_window(10);
  p.mutable_model()->set_kind("lstm");
  write_msg("fuzz_observations", "config_lstm_performance", 0, p);

  v1::IngestRequest ok;
  ok.set_stream("s");
  for (int i = 0; i < 5; ++i) {
    auto* o = ok.add_observations();
    o->set_time(1700000000 + 3600 * i);
    (*o->mutable_values())["temp"] = 10.0 + i;
    (*o->mutable_values())["wind"] = 3.0 - 0.5 * i;
  }
  write_msg("fuzz_observations", "ingest_ok", 1, ok);
  auto bad = ok;
  (*bad.mutable_observations(2)->mutable_values())["temp"] = NAN;
  write_msg("fuzz_observations", "ingest_nan", 1, bad);
  bad = ok;
  bad.mutable_observations(3)->set_time(1700000000);
  write_msg("fuzz_observations", "ingest_out_of_order", 1, bad);
  bad = ok;
  bad.mutable_observations(1)->mutable_values()->erase("wind");
  (*bad.mutable_observations(1)->mutable_values())["gust"] = 1;
  write_msg("fuzz_observations", "ingest_unknown_variable", 1, bad);
}

}  // namespace

int main(int argc, char** argv) {
  root = argc > 1 ? argv[1] : "corpus";
  torch::manual_seed(0);
  tensors();
  model_configs();
  job_specs();
  nowcast();
  return 0;
}
