#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "core/error.h"
#include "core/storage.h"

namespace attune {
namespace {

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "attune-storage-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(StorageTest, AtomicWriteReplacesContentAndLeavesNoTempFiles) {
  atomic_write(root_ / "a.json", "first");
  atomic_write(root_ / "a.json", "second, longer");
  EXPECT_EQ(read_file(root_ / "a.json"), "second, longer");
  int entries = 0;
  for (const auto& e : fs::directory_iterator(root_)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(StorageTest, AtomicWriteIntoMissingDirectoryFailsCleanly) {
  try {
    atomic_write(root_ / "missing" / "x", "data");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInternal);
  }
}

TEST_F(StorageTest, MakeDirsCreatesChain) {
  make_dirs(root_ / "a/b/c");
  EXPECT_TRUE(fs::is_directory(root_ / "a/b/c"));
  make_dirs(root_ / "a/b/c");  // idempotent
}

TEST_F(StorageTest, ResolveUnderRejectsEscapes) {
  fs::create_directories(root_ / "repo/model/1");
  fs::create_directories(root_ / "outside");
  fs::create_symlink(root_ / "outside", root_ / "repo/link");
  EXPECT_EQ(resolve_under(root_ / "repo", "model/1", "path"), fs::weakly_canonical(root_ / "repo/model/1"));
  auto code = [&](const std::string& rel) {
    try {
      resolve_under(root_ / "repo", rel, "path");
    } catch (const Error& e) {
      return e.code();
    }
    return Code::kInternal;
  };
  EXPECT_EQ(code("../outside"), Code::kPermissionDenied);
  EXPECT_EQ(code("model/../../outside"), Code::kPermissionDenied);
  EXPECT_EQ(code("/etc/passwd"), Code::kPermissionDenied);
  EXPECT_EQ(code("link"), Code::kPermissionDenied);  // a symlink pointing outside the root
  EXPECT_EQ(code(""), Code::kInvalidArgument);
}

TEST_F(StorageTest, NamesAreSafeDirectoryNames) {
  check_name("name", "cnn_bn-v2.1");
  for (const std::string& bad : std::vector<std::string>{"", ".hidden", "-x", "a/b", "a b", "..", std::string(129, 'a')}) {
    try {
      check_name("name", bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("name: expected"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace attune
