// A stream whose files are damaged beyond the torn tail a crash can leave. The rpc layer maps it
// to DATA_LOSS; attune::Code has no such code because only persisted streams can lose data.
#pragma once

#include <stdexcept>
#include <string>

namespace attune::streams {

struct StreamDataLoss : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace attune::streams
