// Returning freed memory to the kernel after big releases (a model version unloaded, an
// adaptation session closed). glibc keeps the pages of freed chunks in its per-thread arenas, so
// without this the resident size creeps up with load/unload and session churn even though
// nothing leaks (tests/reliability/memory_growth_test.cpp measures it).
#pragma once

namespace attune {

// malloc_trim(0) on glibc (every arena, not just the main heap's top); a no-op elsewhere. Takes
// a few milliseconds with a large heap: call it after rare, large releases, never per request
// and never while holding a lock other calls wait on.
void release_free_memory();

}  // namespace attune
