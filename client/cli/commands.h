// CLI commands register themselves (one cmd_*.cpp file each), so adding a command touches no
// shared file. A command gets the arguments after its name and returns the exit code.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace attune::cli {

using Argv = std::vector<std::string>;
using CommandFn = int (*)(const Argv& argv);

struct Command {
  CommandFn run;
  std::string summary;  // one line for `attune --help`
  int order;            // position in the help text
};

std::map<std::string, Command>& commands();

struct RegisterCommand {
  RegisterCommand(const std::string& name, CommandFn fn, const std::string& summary, int order) {
    commands()[name] = Command{fn, summary, order};
  }
};

}  // namespace attune::cli
