// Each command takes the arguments after its name and returns the process exit code.
#pragma once
#include <string>
#include <vector>

namespace attune::cli {

using Argv = std::vector<std::string>;

int cmd_models(const Argv& argv);
int cmd_infer(const Argv& argv);
int cmd_health(const Argv& argv);

}  // namespace attune::cli
