// The allocator the binary really runs with, and release_free_memory() giving freed pages back.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "core/memory.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ATTUNE_ASAN 1
#endif
#endif

namespace {

double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / (1 << 20);
}

TEST(Memory, ReportsTheAllocatorThisBinaryIsLinkedWith) {
#ifdef ATTUNE_EXPECT_JEMALLOC
  EXPECT_EQ(attune::allocator_name().rfind("jemalloc ", 0), 0u) << attune::allocator_name();
#else
  EXPECT_EQ(attune::allocator_name(), "glibc");
#endif
}

// Many mid-sized blocks (the size of activations and gradients) freed together: both glibc and
// jemalloc keep at least part of them mapped until asked.
TEST(Memory, ReleaseFreeMemoryReturnsFreedPagesToTheKernel) {
#ifdef ATTUNE_ASAN
  GTEST_SKIP() << "ASan's allocator quarantines freed memory";
#endif
  constexpr size_t kBlock = 1 << 20, kBlocks = 256;
  const double before = rss_mib();
  {
    std::vector<std::unique_ptr<char[]>> blocks;
    for (size_t i = 0; i < kBlocks; ++i) {
      blocks.emplace_back(new char[kBlock]);
      std::memset(blocks.back().get(), 1, kBlock);
    }
    EXPECT_GT(rss_mib() - before, 200.0);
  }
  attune::release_free_memory();
  EXPECT_LT(rss_mib() - before, 32.0) << "before " << before << " MiB, after " << rss_mib() << " MiB";
}

}  // namespace
