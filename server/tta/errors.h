// Exceptions of the test-time adaptation library, one per gRPC status the service layer maps
// them to. Option validation throws std::invalid_argument (also INVALID_ARGUMENT).
#pragma once
#include <stdexcept>
#include <string>

namespace attune::tta {

// The session cannot do what was asked with this model or in this state: EATA/Tent/BN-adapt on
// a model without BatchNorm, EATA before its Fisher information exists, publishing a LAME
// session. Map to FAILED_PRECONDITION.
class FailedPrecondition : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The batch itself is unusable: wrong rank or dtype, non-finite values, or a single sample for
// a method that normalises with batch statistics. Map to INVALID_ARGUMENT.
class InvalidBatch : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace attune::tta
