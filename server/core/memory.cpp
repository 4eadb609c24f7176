#include "core/memory.h"

#include <dlfcn.h>

#include <cstddef>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace attune {
namespace {

// jemalloc's control interface, looked up rather than linked so the same code is right whether
// jemalloc is linked, preloaded or absent (sanitizer builds replace malloc themselves).
using Mallctl = int (*)(const char*, void*, size_t*, void*, size_t);

Mallctl jemalloc_mallctl() {
  static const Mallctl fn = reinterpret_cast<Mallctl>(::dlsym(RTLD_DEFAULT, "mallctl"));
  return fn;
}

}  // namespace

std::string allocator_name() {
  if (const Mallctl mallctl = jemalloc_mallctl()) {
    const char* version = nullptr;
    size_t len = sizeof(version);
    if (mallctl("version", &version, &len, nullptr, 0) == 0 && version != nullptr)
      return std::string("jemalloc ") + version;
  }
#ifdef __GLIBC__
  return "glibc";
#else
  return "system";
#endif
}

void release_free_memory() {
  if (const Mallctl mallctl = jemalloc_mallctl()) {
    // 4096 is MALLCTL_ARENAS_ALL: every arena, not only the calling thread's.
    mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
    return;
  }
#ifdef __GLIBC__
  ::malloc_trim(0);
#endif
}

}  // namespace attune
