// The `attune` CLI against a live server: tables by default, JSON with --json, the server's
// message and a non-zero exit code on errors.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/script.h>

#include "server_process.h"

namespace attune::test {
namespace {

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(dir_.path() / "data");
    server_->start();
  }
  int cli(const std::string& args, std::string* out) {
    return run_command((binary_dir() / "client/cli/attune").string() + " --server " +
                           server_->address() + " " + args,
                       out);
  }
  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(CliTest, ModelsLifecycleInferAndHealth) {
  std::string out;
  ASSERT_EQ(cli("models load " + (models_dir() / "mlp/1/model.pt").string() +
                    " --name mlp --input input:FP32:-1,8",
                &out), 0) << out;
  EXPECT_NE(out.find("READY"), std::string::npos) << out;
  ASSERT_EQ(cli("models load --repository cnn_bn --name cnn", &out), 0) << out;

  ASSERT_EQ(cli("models list", &out), 0) << out;
  EXPECT_NE(out.find("NAME"), std::string::npos);
  EXPECT_NE(out.find("cnn"), std::string::npos);
  EXPECT_NE(out.find("mlp"), std::string::npos);

  ASSERT_EQ(cli("models get cnn --json", &out), 0) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["name"], "cnn");
  EXPECT_EQ(j["versions"][0]["has_features"], true);

  ASSERT_EQ(cli("infer mlp --random 3,8 --seed 7 --json", &out), 0) << out;
  j = nlohmann::json::parse(out);
  ASSERT_EQ(j["outputs"][0]["shape"], (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(j["outputs"][0]["data"].size(), 12u);

  // An .npy round trip through --npy and --out equals PyTorch's own forward.
  const auto npy_in = dir_.path() / "x.npy", npy_out = dir_.path() / "y.npy";
  ASSERT_EQ(run_command("/usr/bin/python3 -c \"import numpy as np; np.save('" + npy_in.string() +
                        "', np.linspace(0, 1, 16, dtype=np.float32).reshape(2, 8))\"", &out), 0) << out;
  ASSERT_EQ(cli("infer mlp --npy " + npy_in.string() + " --out " + npy_out.string(), &out), 0) << out;
  EXPECT_NE(out.find("ARGMAX"), std::string::npos) << out;
  ASSERT_EQ(run_command(
      "/usr/bin/python3 -c \"import numpy as np, torch; m = torch.jit.load('" +
          (models_dir() / "mlp/1/model.pt").string() + "'); x = torch.from_numpy(np.load('" +
          npy_in.string() + "')); y = np.load('" + npy_out.string() +
          "'); assert abs(m(x).detach().numpy() - y).max() < 1e-6, 'mismatch'\"", &out), 0) << out;

  ASSERT_EQ(cli("models export cnn --out " + (dir_.path() / "cnn.pt").string(), &out), 0) << out;
  EXPECT_EQ(read_bytes(dir_.path() / "cnn.pt"), read_bytes(models_dir() / "cnn_bn/1/model.pt"));

  ASSERT_EQ(cli("health", &out), 0) << out;
  EXPECT_NE(out.find("SERVING"), std::string::npos);
  ASSERT_EQ(cli("models unload mlp", &out), 0) << out;
  EXPECT_NE(out.find("unloaded mlp"), std::string::npos);
}

TEST_F(CliTest, ErrorsPrintServerMessageAndExitNonZero) {
  std::string out;
  EXPECT_EQ(cli("models get nope", &out), 1);
  EXPECT_NE(out.find("NOT_FOUND: model 'nope' not found"), std::string::npos) << out;
  ASSERT_EQ(cli("models load --repository cnn_bn --name cnn", &out), 0) << out;
  EXPECT_EQ(cli("infer cnn --random 2,1,28,27", &out), 1);
  EXPECT_NE(out.find("INVALID_ARGUMENT"), std::string::npos) << out;
  EXPECT_NE(out.find("received [2,1,28,27]"), std::string::npos) << out;
  EXPECT_EQ(cli("models frobnicate", &out), 2);
  EXPECT_NE(out.find("usage: attune models"), std::string::npos) << out;
}

}  // namespace
}  // namespace attune::test
