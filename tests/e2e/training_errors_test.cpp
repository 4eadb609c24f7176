// Bad input to DatasetService and TrainingService: each case gets its exact status code and a
// message naming the field, and the server keeps working afterwards.
#include <gtest/gtest.h>

#include "training_helpers.h"

namespace attune::test {
namespace {

using grpc::StatusCode;

class TrainingErrorsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    std::filesystem::create_directories(dir_->path() / "imports");
    server_ = new ServerProcess(dir_->path() / "data", {"--load-model", "mlp", "--load-model", "cnn_bn",
                                                        "--datasets-dir", (dir_->path() / "imports").string()});
    server_->start();
    TrainingClient c(*server_);
    auto [x, y] = synthetic_classes(64, torch::kFloat32);
    ASSERT_TRUE(c.upload("syn", x, y).ok());
    ASSERT_TRUE(c.upload("reg", x, torch::ones({64, 1})).ok());  // float labels
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  void SetUp() override { c_ = std::make_unique<TrainingClient>(*server_); }

  v1::JobSpec base() {
    v1::JobSpec s;
    s.mutable_model()->set_name("mlp");
    s.set_dataset("syn");
    s.mutable_optimizer()->set_name("adam");
    s.set_max_steps(2);
    return s;
  }
  static void expect(const grpc::Status& s, StatusCode code, const std::vector<std::string>& parts) {
    EXPECT_EQ(s.error_code(), code) << s.error_message();
    for (const auto& p : parts)
      EXPECT_NE(s.error_message().find(p), std::string::npos) << "'" << s.error_message() << "' lacks '" << p << "'";
  }
  grpc::Status start(const v1::JobSpec& s) {
    v1::Job job;
    return c_->start(s, &job);
  }

  static TempDir* dir_;
  static ServerProcess* server_;
  std::unique_ptr<TrainingClient> c_;
};
TempDir* TrainingErrorsTest::dir_ = nullptr;
ServerProcess* TrainingErrorsTest::server_ = nullptr;

TEST_F(TrainingErrorsTest, UnknownDatasetIsNotFound) {
  auto s = base();
  s.set_dataset("nope");
  expect(start(s), StatusCode::NOT_FOUND, {"dataset 'nope' not found"});
}

TEST_F(TrainingErrorsTest, UnknownModelIsNotFound) {
  auto s = base();
  s.mutable_model()->set_name("ghost");
  expect(start(s), StatusCode::NOT_FOUND, {"model 'ghost' not found"});
}

TEST_F(TrainingErrorsTest, FeatureShapeNotMatchingTheModel) {
  auto s = base();
  s.mutable_model()->set_name("cnn_bn");
  expect(start(s), StatusCode::INVALID_ARGUMENT, {"features [8]", "model input [-1,1,28,28]"});
}

TEST_F(TrainingErrorsTest, UnknownOptimizer) {
  auto s = base();
  s.mutable_optimizer()->set_name("lion");
  expect(start(s), StatusCode::INVALID_ARGUMENT, {"optimizer.", "lion"});
}

TEST_F(TrainingErrorsTest, NegativeLearningRate) {
  auto s = base();
  s.mutable_optimizer()->set_lr(-0.1);
  expect(start(s), StatusCode::INVALID_ARGUMENT, {"lr", "-0.1"});
}

TEST_F(TrainingErrorsTest, BetasOutOfRange) {
  auto s = base();
  s.mutable_optimizer()->add_betas(0.9);
  s.mutable_optimizer()->add_betas(1.5);
  expect(start(s), StatusCode::INVALID_ARGUMENT, {"betas"});
}

TEST_F(TrainingErrorsTest, UnknownOptimizerOption) {
  auto s = base();
  (*s.mutable_optimizer()->mutable_options())["warp_speed"] = 1;
  expect(start(s), StatusCode::INVALID_ARGUMENT, {"warp_speed"});
}

TEST_F(TrainingErrorsTest, CrossEntropyOnFloatLabels) {
  auto s = base();
  s.set_dataset("reg");
  s.set_loss(v1::CROSS_ENTROPY);
  expect(start(s), StatusCode::INVALID_ARGUMENT, {"CROSS_ENTROPY", "float32"});
}

TEST_F(TrainingErrorsTest, ArchitectureWithoutPublishName) {
  auto s = base();
  s.mutable_architecture()->mutable_mlp()->set_in_features(8);
  s.mutable_architecture()->mutable_mlp()->set_out_features(4);
  expect(start(s), StatusCode::INVALID_ARGUMENT, {"publish_name"});
}

TEST_F(TrainingErrorsTest, BadArchitectureField) {
  auto s = base();
  s.set_publish_name("x");
  s.mutable_architecture()->mutable_transformer()->set_in_features(8);
  s.mutable_architecture()->mutable_transformer()->set_out_features(1);
  s.mutable_architecture()->mutable_transformer()->set_d_model(30);
  s.mutable_architecture()->mutable_transformer()->set_heads(4);
  expect(start(s), StatusCode::INVALID_ARGUMENT, {"transformer.heads", "divisor of d_model 30"});
}

TEST_F(TrainingErrorsTest, ValidationSplitOutOfRange) {
  auto s = base();
  s.set_validation_split(1.5);
  expect(start(s), StatusCode::INVALID_ARGUMENT, {"validation_split", "[0, 1)"});
}

TEST_F(TrainingErrorsTest, UnknownJobIsNotFound) {
  v1::GetJobRequest req;
  req.set_name("jobs/j0000000000");
  v1::Job job;
  grpc::ClientContext ctx;
  expect(c_->training->GetJob(with_deadline(&ctx), req, &job), StatusCode::NOT_FOUND, {"j0000000000"});
}

TEST_F(TrainingErrorsTest, NanLossFailsTheJobWithAReason) {
  auto s = base();
  s.mutable_optimizer()->set_name("sgd");
  s.mutable_optimizer()->set_lr(1e30);
  s.set_max_steps(50);
  v1::Job job;
  ASSERT_TRUE(c_->start(s, &job).ok());
  const auto done = c_->wait_until(job.name(), [](const v1::Job& j) { return j.done(); });
  EXPECT_EQ(done.metadata().state(), v1::JOB_FAILED);
  EXPECT_EQ(done.error().code(), static_cast<int>(StatusCode::FAILED_PRECONDITION));
  EXPECT_NE(done.error().message().find("loss became"), std::string::npos) << done.error().message();
  // The server is fine: a sane job still succeeds.
  ASSERT_TRUE(c_->start(base(), &job).ok());
  EXPECT_EQ(c_->wait_until(job.name(), [](const v1::Job& j) { return j.done(); }).metadata().state(),
            v1::JOB_SUCCEEDED);
}

TEST_F(TrainingErrorsTest, UploadWithMismatchedRows) {
  auto [x, y] = synthetic_classes(16, torch::kFloat32);
  v1::Dataset d;
  grpc::ClientContext ctx;
  auto w = c_->datasets->UploadDataset(with_deadline(&ctx), &d);
  v1::UploadDatasetChunk head;
  head.mutable_header()->set_name("bad");
  head.mutable_header()->set_feature_dtype(v1::FLOAT32);
  head.mutable_header()->add_feature_shape(8);
  head.mutable_header()->set_label_dtype(v1::INT64);
  w->Write(head);
  v1::UploadDatasetChunk c;
  fill_tensor(x, c.mutable_batch()->mutable_features());
  fill_tensor(y.narrow(0, 0, 10), c.mutable_batch()->mutable_labels());
  w->Write(c);
  w->WritesDone();
  expect(w->Finish(), StatusCode::INVALID_ARGUMENT, {"batch[0]", "16 rows", "labels 10"});
}

TEST_F(TrainingErrorsTest, UploadWithWrongFeatureShape) {
  auto [x, y] = synthetic_classes(16, torch::kFloat32);
  v1::Dataset d;
  grpc::ClientContext ctx;
  auto w = c_->datasets->UploadDataset(with_deadline(&ctx), &d);
  v1::UploadDatasetChunk head;
  head.mutable_header()->set_name("bad2");
  head.mutable_header()->set_feature_dtype(v1::FLOAT32);
  head.mutable_header()->add_feature_shape(9);
  head.mutable_header()->set_label_dtype(v1::INT64);
  w->Write(head);
  v1::UploadDatasetChunk c;
  fill_tensor(x, c.mutable_batch()->mutable_features());
  fill_tensor(y, c.mutable_batch()->mutable_labels());
  w->Write(c);
  w->WritesDone();
  expect(w->Finish(), StatusCode::INVALID_ARGUMENT, {"batch[0].features", "shape expected [-1,9]", "received [16,8]"});
}

TEST_F(TrainingErrorsTest, UploadWithNanFeatures) {
  auto [x, y] = synthetic_classes(16, torch::kFloat32);
  x[3][2] = std::numeric_limits<float>::quiet_NaN();
  expect(c_->upload("nan", x, y), StatusCode::INVALID_ARGUMENT, {"non-finite"});
}

TEST_F(TrainingErrorsTest, DuplicateDatasetIsAlreadyExists) {
  auto [x, y] = synthetic_classes(16, torch::kFloat32);
  expect(c_->upload("syn", x, y), StatusCode::ALREADY_EXISTS, {"dataset 'syn' already exists"});
}

TEST_F(TrainingErrorsTest, ImportOutsideTheDatasetsFolderIsDenied) {
  v1::ImportDatasetRequest req;
  req.set_name("escape");
  req.set_format(v1::ImportDatasetRequest::CSV);
  req.set_path("../data/models");
  v1::Dataset d;
  grpc::ClientContext ctx;
  expect(c_->datasets->ImportDataset(with_deadline(&ctx), req, &d), StatusCode::PERMISSION_DENIED, {"'..'"});
}

TEST_F(TrainingErrorsTest, ImportMissingFileIsNotFound) {
  v1::ImportDatasetRequest req;
  req.set_name("missing");
  req.set_format(v1::ImportDatasetRequest::IDX);
  req.set_path("fashion-mnist");
  v1::Dataset d;
  grpc::ClientContext ctx;
  expect(c_->datasets->ImportDataset(with_deadline(&ctx), req, &d), StatusCode::NOT_FOUND, {"fashion-mnist"});
}

TEST_F(TrainingErrorsTest, DeletingADatasetInUseIsAPreconditionFailure) {
  auto s = base();
  s.set_max_steps(0);
  s.set_epochs(100000);
  v1::Job job;
  ASSERT_TRUE(c_->start(s, &job).ok());
  v1::DeleteDatasetRequest req;
  req.set_name("syn");
  v1::DeleteDatasetResponse r;
  grpc::ClientContext ctx;
  expect(c_->datasets->DeleteDataset(with_deadline(&ctx), req, &r), StatusCode::FAILED_PRECONDITION,
         {"used by a queued or running training job"});
  v1::CancelJobRequest cancel;
  cancel.set_name(job.name());
  grpc::ClientContext ctx2;
  ASSERT_TRUE(c_->training->CancelJob(with_deadline(&ctx2), cancel, &job).ok());
  c_->wait_until(job.name(), [](const v1::Job& j) { return j.done(); });
}

}  // namespace
}  // namespace attune::test
