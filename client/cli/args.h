// Minimal command-line parsing: positionals plus --flag, --flag value and --flag=value.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace attune::cli {

class Args {
 public:
  // `flags` take no value; every other --option takes one. Unknown options are errors.
  Args(const std::vector<std::string>& argv, const std::set<std::string>& flags,
       const std::set<std::string>& options);

  const std::vector<std::string>& positional() const { return positional_; }
  std::string pos(size_t i, const std::string& what) const;  // throws UsageError if missing
  bool has(const std::string& name) const;
  std::optional<std::string> get(const std::string& name) const;
  std::vector<std::string> all(const std::string& name) const;  // repeatable options
  std::string get_or(const std::string& name, const std::string& fallback) const;
  int64_t get_int(const std::string& name, int64_t fallback) const;
  double get_double(const std::string& name, double fallback) const;

 private:
  std::vector<std::string> positional_;
  std::multimap<std::string, std::string> values_;
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::vector<int64_t> parse_shape(const std::string& s);  // "4,1,28,28"

}  // namespace attune::cli
