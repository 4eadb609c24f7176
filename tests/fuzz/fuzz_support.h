// Shared oracle of the libFuzzer targets: request decoding and validation may only reject input
// the way the RPC boundary turns into INVALID_ARGUMENT (attune::Error kInvalidArgument or
// std::invalid_argument). Any other exception (c10::Error -> INTERNAL, nlohmann::json errors,
// std::out_of_range, ...) means a bad request would get the wrong status, so it aborts and
// libFuzzer records the input as a crash; ASan/UBSan catch the rest.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <typeinfo>

#include "core/error.h"

namespace attune::fuzz {

[[noreturn]] inline void finding(const char* where, const char* what) {
  std::fprintf(stderr, "\n*** fuzz finding in %s: %s\n", where, what);
  std::abort();
}

// Runs f(); returns true when it accepted the input, false when it rejected it correctly.
template <class F>
bool accepts(const char* where, F&& f) {
  try {
    f();
    return true;
  } catch (const attune::Error& e) {
    if (e.code() != attune::Code::kInvalidArgument) finding(where, e.what());
    return false;
  } catch (const std::invalid_argument&) {
    return false;
  } catch (const std::exception& e) {
    char msg[512];
    std::snprintf(msg, sizeof msg, "unexpected %s: %.400s", typeid(e).name(), e.what());
    finding(where, msg);
  } catch (...) {
    finding(where, "unexpected non-standard exception");
  }
}

#define FUZZ_CHECK(cond)                                  \
  do {                                                    \
    if (!(cond)) ::attune::fuzz::finding(__func__, #cond); \
  } while (0)

}  // namespace attune::fuzz
