// Built-in architecture flags shared by `models create` and `train --architecture`.
#pragma once
#include "args.h"
#include "attune/v1/model_service.pb.h"

namespace attune::cli {

// Option names the parser understands (to merge into a command's option set).
const std::set<std::string>& architecture_options();
// --architecture mlp|cnn|lstm|transformer plus its size flags.
v1::ArchitectureSpec parse_architecture(const Args& a);
extern const char* kArchitectureUsage;

}  // namespace attune::cli
