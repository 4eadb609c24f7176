// Leftovers of interrupted writes: atomic_write() killed mid-write leaves no file behind, and a
// restarted server removes the temporary files a kill can still leave (models/.versions.json,
// stream snapshots).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "attune/v1/nowcast_service.grpc.pb.h"
#include "core/storage.h"
#include "server_process.h"

namespace attune::test {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) out.push_back(fs::relative(e.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

void touch(const fs::path& p) { std::ofstream(p) << "partial"; }

TEST(TempFiles, NamesWrittenByAtomicWriteAreRecognised) {
  EXPECT_TRUE(is_temp_file_name("job.json.tmp.1234.9f3a"));
  EXPECT_TRUE(is_temp_file_name(".versions.json.tmp.7.0"));
  EXPECT_FALSE(is_temp_file_name("job.json"));
  EXPECT_FALSE(is_temp_file_name("data.tmp.csv"));
  EXPECT_FALSE(is_temp_file_name("x.tmp.12.zz"));
  EXPECT_FALSE(is_temp_file_name("x.tmp.12."));
  EXPECT_FALSE(is_temp_file_name(".tmp.1.a"));
}

TEST(TempFiles, SweepRemovesOnlyTemporaryFiles) {
  TempDir d;
  fs::create_directories(d.path() / "s1");
  touch(d.path() / "keep.json");
  touch(d.path() / "keep.json.tmp.99.abc");
  touch(d.path() / "s1" / "snapshot.bin");
  touch(d.path() / "s1" / "snapshot.bin.tmp.5.ff");
  EXPECT_EQ(remove_stale_temp_files(d.path(), /*recursive=*/false), 1);
  EXPECT_EQ(entries(d.path()), (std::vector<std::string>{"keep.json", "s1", "s1/snapshot.bin", "s1/snapshot.bin.tmp.5.ff"}));
  EXPECT_EQ(remove_stale_temp_files(d.path(), /*recursive=*/true), 1);
  EXPECT_EQ(entries(d.path()), (std::vector<std::string>{"keep.json", "s1", "s1/snapshot.bin"}));
}

// A child process writes a large file with atomic_write() and is SIGKILLed as soon as it has the
// file open: nothing named may be left in the directory (the bytes went to an unnamed inode).
TEST(TempFiles, AtomicWriteKilledMidWriteLeavesNothing) {
  TempDir d;
  const fs::path target = d.path() / "big.bin";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string bytes(size_t{512} << 20, 'x');
    atomic_write(target, bytes);
    _exit(0);
  }
  // Wait until the child holds a file descriptor inside the directory, then kill it.
  bool open_seen = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!open_seen && std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
      const auto link = fs::read_symlink(fd.path(), ec).string();
      if (link.rfind(d.path().string() + "/", 0) == 0) open_seen = true;
    }
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(open_seen) << "the child never opened its file";
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child finished writing before it could be killed";
  EXPECT_EQ(entries(d.path()), std::vector<std::string>{}) << "a killed atomic_write left a file behind";
}

// Temporary files a kill left where the server writes with atomic_write() are gone after a
// restart, and the real files next to them are untouched.
TEST(TempFiles, RestartRemovesTemporaryFilesOfInterruptedWrites) {
  TempDir d;
  const fs::path data = d.path() / "data";
  {
    ServerProcess s(data, {"--load-model", "mlp"});
    s.start();
    auto nowcast = v1::NowcastService::NewStub(s.channel());
    v1::CreateStreamRequest req;
    req.mutable_config()->set_name("s");
    req.mutable_config()->add_variables("a");
    req.mutable_config()->add_targets("a");
    v1::NowcastStream out;
    grpc::ClientContext ctx;
    ASSERT_TRUE(nowcast->CreateStream(with_deadline(&ctx), req, &out).ok());
    ASSERT_EQ(s.stop(SIGTERM), 0);
  }
  const std::vector<fs::path> planted = {data / "models" / ".versions.json.tmp.4242.1f2e",
                                         data / "streams" / "s" / "snapshot.bin.tmp.4242.abcd",
                                         data / "streams" / "s" / "config.json.tmp.17.0"};
  for (const auto& p : planted) touch(p);
  ServerProcess s(data, {"--load-model", "mlp"});
  s.start();
  for (const auto& p : planted) EXPECT_FALSE(fs::exists(p)) << p << " survived the restart";
  EXPECT_TRUE(fs::exists(data / "models" / ".versions.json"));
  EXPECT_TRUE(fs::exists(data / "streams" / "s" / "config.json"));
  auto nowcast = v1::NowcastService::NewStub(s.channel());
  v1::GetStreamRequest get;
  get.set_name("s");
  v1::NowcastStream stream;
  grpc::ClientContext ctx;
  EXPECT_TRUE(nowcast->GetStream(with_deadline(&ctx), get, &stream).ok());
}

}  // namespace
}  // namespace attune::test
