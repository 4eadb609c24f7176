#include <gtest/gtest.h>

#include <cstdlib>

#include "core/config.h"

namespace attune {
namespace {

ServerConfig parse(std::vector<const char*> args) {
  args.insert(args.begin(), "attune-server");
  return parse_config(static_cast<int>(args.size()), args.data());
}

std::string error_of(std::vector<const char*> args) {
  try {
    parse(std::move(args));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(Config, DefaultsDeriveFromDataDir) {
  const auto c = parse({"--data-dir", "/srv/attune"});
  EXPECT_EQ(c.listen, "0.0.0.0:50051");
  EXPECT_EQ(c.metrics_listen, "0.0.0.0:9464");
  EXPECT_EQ(c.model_repository, "/srv/attune/repository");
  EXPECT_EQ(c.datasets_dir, "/srv/attune/imports");
}

TEST(Config, FlagWinsOverEnvironment) {
  setenv("ATTUNE_LISTEN", "127.0.0.1:7000", 1);
  setenv("ATTUNE_THREADS", "3", 1);
  EXPECT_EQ(parse({}).listen, "127.0.0.1:7000");
  EXPECT_EQ(parse({}).threads, 3);
  EXPECT_EQ(parse({"--listen=127.0.0.1:8000"}).listen, "127.0.0.1:8000");
  unsetenv("ATTUNE_LISTEN");
  unsetenv("ATTUNE_THREADS");
}

TEST(Config, LoadModelsFromFlagsReplaceEnvironment) {
  setenv("ATTUNE_LOAD_MODELS", "a,b", 1);
  EXPECT_EQ(parse({}).load_models, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parse({"--load-model", "c", "--load-model", "d"}).load_models,
            (std::vector<std::string>{"c", "d"}));
  unsetenv("ATTUNE_LOAD_MODELS");
}

TEST(Config, BadValuesSayWhatIsWrong) {
  EXPECT_NE(error_of({"--threads", "many"}).find("--threads: expected an integer, received 'many'"),
            std::string::npos);
  EXPECT_NE(error_of({"--max-message-bytes", "10"}).find("expected 1024..2147483647"), std::string::npos);
  EXPECT_NE(error_of({"--bogus", "1"}).find("unknown option '--bogus'"), std::string::npos);
  EXPECT_NE(error_of({"--listen"}).find("missing value"), std::string::npos);
  EXPECT_NE(error_of({"--tls-cert", "c.pem"}).find("give both or neither"), std::string::npos);
  EXPECT_NE(error_of({"--max-sessions", "0"}).find("expected an integer >= 1"), std::string::npos);
}

TEST(Config, UsageListsEveryEnvironmentVariable) {
  const auto u = usage();
  for (const char* v : {"ATTUNE_LISTEN", "ATTUNE_METRICS_LISTEN", "ATTUNE_DATA_DIR", "ATTUNE_THREADS",
                        "ATTUNE_MAX_MESSAGE_BYTES", "ATTUNE_LOG_LEVEL", "ATTUNE_TOKENS_FILE"})
    EXPECT_NE(u.find(v), std::string::npos) << v;
  EXPECT_GE(available_cpus(), 1);
}

}  // namespace
}  // namespace attune
