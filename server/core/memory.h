// The process allocator and returning freed memory to the kernel.
//
// attune-server links jemalloc (ATTUNE_JEMALLOC, on by default): a training step or a batch-64
// forward frees and re-allocates tens of MiB every call, and glibc trims the calling thread's
// arena after each one and faults the pages back in on the next (a fifth of the server's CPU in
// page faults, bench/train/RESULTS.md); jemalloc keeps freed extents for reuse and returns them
// after a decay time. Both allocators can keep freed pages after rare, large releases (a model
// version unloaded, an adaptation session closed); release_free_memory() hands them back so the
// resident size does not creep with churn (tests/reliability/memory_growth_test.cpp).
#pragma once

#include <string>

namespace attune {

// "jemalloc <version>" when jemalloc serves malloc in this process (linked or LD_PRELOADed),
// otherwise "glibc" (or "system" off glibc). Found at run time, so it tells what really runs.
std::string allocator_name();

// jemalloc: purge every arena's unused dirty pages; glibc: malloc_trim(0) (every arena, not just
// the main heap's top). Takes a few milliseconds with a large heap: call it after rare, large
// releases, never per request and never while holding a lock other calls wait on.
void release_free_memory();

}  // namespace attune
