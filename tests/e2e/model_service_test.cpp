// ModelService over gRPC against a live attune-server: load (inline, streamed, repository),
// list, get, export, unload, version numbering, and failed loads that leave serving intact.
#include <gtest/gtest.h>
#include <torch/script.h>

#include "attune/v1/model_service.grpc.pb.h"
#include "kserve_helpers.h"
#include "server_process.h"

namespace attune::test {
namespace {

class ModelServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(dir_.path() / "data");
    server_->start();
    models_ = v1::ModelService::NewStub(server_->channel());
    infer_ = inference::GRPCInferenceService::NewStub(server_->channel());
  }

  grpc::Status load_bytes(const std::string& name, const std::string& bytes, v1::Model* out,
                          int64_t version = 0) {
    v1::LoadModelRequest req;
    req.set_name(name);
    req.set_torchscript(bytes);
    req.set_version(version);
    grpc::ClientContext ctx;
    return models_->LoadModel(with_deadline(&ctx), req, out);
  }

  v1::Model get(const std::string& name, grpc::Status* status = nullptr) {
    v1::GetModelRequest req;
    req.set_name(name);
    v1::Model m;
    grpc::ClientContext ctx;
    auto s = models_->GetModel(with_deadline(&ctx), req, &m);
    if (status) *status = s;
    else EXPECT_TRUE(s.ok()) << s.error_message();
    return m;
  }

  std::string export_bytes(const std::string& name, int64_t version, int64_t chunk,
                           int* chunks = nullptr) {
    v1::ExportModelRequest req;
    req.set_name(name);
    req.set_version(version);
    req.set_chunk_bytes(chunk);
    grpc::ClientContext ctx;
    auto reader = models_->ExportModel(with_deadline(&ctx), req);
    v1::ExportModelChunk c;
    std::string out;
    int n = 0;
    while (reader->Read(&c)) {
      EXPECT_EQ(c.offset(), static_cast<int64_t>(out.size()));
      out += c.data();
      ++n;
    }
    auto s = reader->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (chunks) *chunks = n;
    return out;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::ModelService::Stub> models_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> infer_;
};

TEST_F(ModelServiceTest, LoadListGetExportUnloadRoundTrip) {
  const std::string mlp = read_bytes(models_dir() / "mlp/1/model.pt");
  v1::Model m;
  {
    v1::LoadModelRequest req;
    req.set_name("mlp");
    req.set_torchscript(mlp);
    auto* in = req.add_inputs();
    in->set_name("input");
    in->set_dtype(v1::FLOAT32);
    in->add_shape(-1);
    in->add_shape(8);
    grpc::ClientContext ctx;
    auto s = models_->LoadModel(with_deadline(&ctx), req, &m);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  ASSERT_EQ(m.versions_size(), 1);
  EXPECT_EQ(m.serving_version(), 1);
  EXPECT_EQ(m.versions(0).state(), v1::READY);
  EXPECT_EQ(m.versions(0).parameter_count(), 8 * 32 + 32 + 32 * 4 + 4);
  EXPECT_FALSE(m.versions(0).has_features());
  EXPECT_EQ(m.versions(0).origin(), "upload");
  ASSERT_EQ(m.versions(0).outputs_size(), 1);  // derived by the probe forward
  EXPECT_EQ(m.versions(0).outputs(0).shape(0), -1);
  EXPECT_EQ(m.versions(0).outputs(0).shape(1), 4);

  v1::Model cnn;
  {
    v1::LoadModelRequest req;
    req.set_name("cnn");
    req.set_repository_path("cnn_bn");
    grpc::ClientContext ctx;
    auto s = models_->LoadModel(with_deadline(&ctx), req, &cnn);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_TRUE(cnn.versions(0).has_features());
  EXPECT_EQ(cnn.versions(0).batchnorm_layers(), 3);
  EXPECT_EQ(cnn.versions(0).inputs(0).name(), "image");  // from the repository's config.json
  EXPECT_EQ(cnn.versions(0).outputs(0).name(), "logits");
  EXPECT_EQ(cnn.versions(0).origin(), "repository:cnn_bn");

  ASSERT_TRUE(load_bytes("mlp", mlp, &m).ok());
  EXPECT_EQ(m.serving_version(), 2);

  v1::ListModelsResponse list;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(models_->ListModels(with_deadline(&ctx), {}, &list).ok());
  }
  ASSERT_EQ(list.models_size(), 2);
  EXPECT_EQ(list.models(0).name(), "cnn");
  EXPECT_EQ(list.models(1).name(), "mlp");
  EXPECT_EQ(list.models(1).versions_size(), 2);

  int chunks = 0;
  EXPECT_EQ(export_bytes("mlp", 1, 1000, &chunks), mlp);
  EXPECT_EQ(chunks, static_cast<int>((mlp.size() + 999) / 1000));
  EXPECT_EQ(export_bytes("cnn", 0, 0), read_bytes(models_dir() / "cnn_bn/1/model.pt"));

  v1::UnloadModelResponse un;
  {
    v1::UnloadModelRequest req;
    req.set_name("mlp");
    req.set_version(1);
    grpc::ClientContext ctx;
    ASSERT_TRUE(models_->UnloadModel(with_deadline(&ctx), req, &un).ok());
  }
  ASSERT_EQ(un.unloaded_versions_size(), 1);
  EXPECT_EQ(get("mlp").versions_size(), 1);
  {
    v1::UnloadModelRequest req;
    req.set_name("mlp");
    grpc::ClientContext ctx;
    ASSERT_TRUE(models_->UnloadModel(with_deadline(&ctx), req, &un).ok());
  }
  grpc::Status s;
  get("mlp", &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  // Versions are never reused, even after the model was removed entirely.
  ASSERT_TRUE(load_bytes("mlp", mlp, &m).ok());
  EXPECT_EQ(m.serving_version(), 3);
}

TEST_F(ModelServiceTest, LoadModelStreamAssemblesChunks) {
  const std::string bytes = read_bytes(models_dir() / "cnn_bn/1/model.pt");
  v1::Model m;
  grpc::ClientContext ctx;
  auto writer = models_->LoadModelStream(with_deadline(&ctx), &m);
  v1::LoadModelChunk first;
  first.mutable_request()->set_name("streamed");
  ASSERT_TRUE(writer->Write(first));
  for (size_t off = 0; off < bytes.size(); off += 10000) {
    v1::LoadModelChunk c;
    c.set_data(bytes.substr(off, 10000));
    ASSERT_TRUE(writer->Write(c));
  }
  writer->WritesDone();
  auto s = writer->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(m.versions(0).state(), v1::READY);
  EXPECT_EQ(export_bytes("streamed", 0, 0), bytes);
}

TEST_F(ModelServiceTest, FailedLoadLeavesServingVersionUntouched) {
  const std::string mlp = read_bytes(models_dir() / "mlp/1/model.pt");
  v1::Model m;
  ASSERT_TRUE(load_bytes("mlp", mlp, &m).ok());
  auto x = torch::randn({3, 8});
  inference::ModelInferResponse before;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(infer_->ModelInfer(with_deadline(&ctx), infer_request("mlp", "input", x), &before).ok());
  }

  auto s = load_bytes("mlp", "definitely not a zip archive", &m);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("TorchScript"), std::string::npos) << s.error_message();

  // A loadable module whose declared input does not fit fails its probe forward.
  v1::LoadModelRequest req;
  req.set_name("mlp");
  req.set_torchscript(mlp);
  auto* in = req.add_inputs();
  in->set_name("input");
  in->set_dtype(v1::FLOAT32);
  in->add_shape(-1);
  in->add_shape(9);
  grpc::ClientContext ctx;
  s = models_->LoadModel(with_deadline(&ctx), req, &m);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("probe forward"), std::string::npos) << s.error_message();

  const auto info = get("mlp");
  EXPECT_EQ(info.serving_version(), 1);
  ASSERT_EQ(info.versions_size(), 3);
  EXPECT_EQ(info.versions(1).state(), v1::FAILED);
  EXPECT_FALSE(info.versions(1).error().empty());
  EXPECT_EQ(info.versions(2).state(), v1::FAILED);

  inference::ModelInferResponse after;
  grpc::ClientContext ctx2;
  ASSERT_TRUE(infer_->ModelInfer(with_deadline(&ctx2), infer_request("mlp", "input", x), &after).ok());
  EXPECT_EQ(after.model_version(), "1");
  EXPECT_TRUE(torch::equal(output_tensor(before), output_tensor(after)));
}

TEST_F(ModelServiceTest, ReloadKeepsServingDuringSwap) {
  const std::string mlp = read_bytes(models_dir() / "mlp/1/model.pt");
  v1::Model m;
  ASSERT_TRUE(load_bytes("mlp", mlp, &m).ok());
  std::atomic<bool> done{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c)
    clients.emplace_back([&] {
      auto stub = inference::GRPCInferenceService::NewStub(server_->channel());
      int64_t last_version = 0;
      const auto req = infer_request("mlp", "input", torch::randn({4, 8}));
      while (!done) {
        inference::ModelInferResponse r;
        grpc::ClientContext ctx;
        if (stub->ModelInfer(with_deadline(&ctx), req, &r).ok()) {
          const int64_t v = std::stoll(r.model_version());
          if (v < last_version) ++failed;  // serving version must never go backwards
          last_version = v;
          ++ok;
        } else {
          ++failed;
        }
      }
    });
  // Each swap must interleave with live traffic: wait until clients complete more requests.
  auto wait_for_traffic = [&](int more) {
    const int target = ok.load() + failed.load() + more;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (ok.load() + failed.load() < target && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  };
  wait_for_traffic(3);
  for (int v = 2; v <= 6; ++v) {
    ASSERT_TRUE(load_bytes("mlp", mlp, &m).ok());
    wait_for_traffic(3);
    v1::UnloadModelRequest req;
    req.set_name("mlp");
    req.set_version(v - 1);
    v1::UnloadModelResponse un;
    grpc::ClientContext ctx;
    ASSERT_TRUE(models_->UnloadModel(with_deadline(&ctx), req, &un).ok());
    wait_for_traffic(3);
  }
  done = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GE(ok.load(), 33);
  EXPECT_EQ(get("mlp").serving_version(), 6);
}

}  // namespace
}  // namespace attune::test
