// Human-readable output: aligned tables, sizes, progress bars; and JSON for --json.
#pragma once
#include <google/protobuf/message.h>

#include <chrono>
#include <string>
#include <vector>

namespace attune::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void print() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

std::string human_bytes(double bytes);
std::string fixed(double v, int digits);
std::string join_shape(const std::vector<int64_t>& shape);
// Protobuf's JSON mapping, pretty-printed.
std::string to_json(const google::protobuf::Message& m);

// A single-line progress bar on stderr (redrawn in place when stderr is a terminal, printed
// every ~10% otherwise so logs stay readable).
class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total);
  void update(int64_t done, const std::string& suffix = "");
  void finish(const std::string& suffix = "");

 private:
  std::string label_;
  int64_t total_;
  bool tty_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace attune::cli
