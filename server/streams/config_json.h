// <stream>/config.json: the stream's effective configuration, written once when the stream is
// created. Every field is stored (not only the ones the client set), so a later change of the
// library's defaults cannot change an existing stream.
#pragma once

#include <string>

#include "nowcast/nowcaster.h"

namespace attune::streams {

struct StoredConfig {
  nowcast::StreamConfig config;
  nowcast::RetrainMode mode = nowcast::RetrainMode::background;
  double created_unix_seconds = 0;
};

std::string to_json(const StoredConfig& s);
// Throws StreamDataLoss naming the file's problem.
StoredConfig from_json(const std::string& text);

// Names of the enums the library does not name itself; parse_* throw std::invalid_argument
// naming `field`, the allowed values and the received one.
const char* to_string(nowcast::RetrainMode mode);
nowcast::RetrainMode parse_retrain_mode(const std::string& s, const std::string& field);
const char* to_string(nowcast::PageHinkleyMode mode);
nowcast::PageHinkleyMode parse_page_hinkley_mode(const std::string& s, const std::string& field);

}  // namespace attune::streams
