// `attune demo --short` runs end to end against a live server on real data (Fashion-MNIST from
// Debian's package, the vendored NOAA weather) and prints every step.
#include <gtest/gtest.h>

#include "server_process.h"

namespace attune::test {
namespace {

TEST(Demo, ShortModeRunsEndToEnd) {
  TempDir dir;
  ServerProcess server(dir.path() / "data");
  server.start();
  std::string out;
  const int rc = run_command((binary_dir() / "client/cli/attune").string() + " --server " + server.address() +
                                 " demo --short --weather-csv " +
                                 (source_dir() / "tests/fixtures/noaa/weather.csv").string(),
                             &out);
  ASSERT_EQ(rc, 0) << out << server.log();
  for (const std::string expected :
       {"[1/5] Fashion-MNIST", "dataset demo-fmnist: 2000 images of 10 classes", "[2/5] Fine-tuning a CNN with EXAdam",
        "published demo-cnn version 2", "[3/5] Test-time adaptation", "CORRUPTION", "label-sorted",
        "[4/5] Nowcasting NOAA", "drift detected by performance", "PERSISTENCE MAE", "[5/5] Where to look"})
    EXPECT_NE(out.find(expected), std::string::npos) << "missing '" << expected << "' in:\n" << out;
  // A second run reuses the dataset and replaces the stream.
  ASSERT_EQ(run_command((binary_dir() / "client/cli/attune").string() + " --server " + server.address() +
                            " demo --short --weather-csv " +
                            (source_dir() / "tests/fixtures/noaa/weather.csv").string(),
                        &out), 0) << out;
  EXPECT_NE(out.find("already exists; reusing it"), std::string::npos) << out;
}

}  // namespace
}  // namespace attune::test
