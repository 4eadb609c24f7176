// attune: command-line client for attune-server.
#include <iostream>
#include <algorithm>
#include <map>

#include "args.h"
#include "commands.h"
#include "connection.h"

namespace {

std::string help() {
  std::vector<std::pair<int, std::string>> lines;
  for (const auto& [name, c] : attune::cli::commands()) {
    std::string line = "  " + name;
    line += std::string(line.size() < 12 ? 12 - line.size() : 1, ' ') + c.summary + "\n";
    lines.emplace_back(c.order, line);
  }
  std::sort(lines.begin(), lines.end());
  std::string out =
      "attune: client for attune-server\n\n"
      "usage: attune COMMAND [ARGS] [--server HOST:PORT] [--json] [--token T] [--tls-ca PEM]\n\n"
      "commands:\n";
  for (const auto& [_, l] : lines) out += l;
  return out +
         "\nThe server address defaults to $ATTUNE_SERVER or localhost:50051.\n"
         "Run `attune COMMAND` without arguments for its usage.\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace attune::cli;
  // Global options may come before the command: `attune --server h:p models list`.
  Argv rest;
  std::string command;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (command.empty() && a.rfind("--", 0) == 0 && a != "--help") {
      rest.push_back(a);
      const std::string name = a.substr(2, a.find('=') == std::string::npos ? std::string::npos : a.find('=') - 2);
      if (a.find('=') == std::string::npos && global_options().count(name) && i + 1 < argc)
        rest.push_back(argv[++i]);
      continue;
    }
    if (command.empty()) command = a;
    else rest.push_back(a);
  }
  if (command.empty() || command == "--help" || command == "-h" || command == "help") {
    std::cout << help();
    return command.empty() ? 2 : 0;
  }
  const auto it = commands().find(command);
  if (it == commands().end()) {
    std::cerr << "attune: unknown command '" << command << "'\n\n" << help();
    return 2;
  }
  try {
    return it->second.run(rest);
  } catch (const UsageError& e) {
    std::cerr << "attune " << command << ": " << e.what() << "\n";
    return 2;
  } catch (const RpcError& e) {
    std::cerr << "error: " << e.what() << "\n";
    if (e.code == grpc::StatusCode::UNAVAILABLE)
      std::cerr << "(is attune-server running? set --server or ATTUNE_SERVER)\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
