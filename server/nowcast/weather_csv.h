// Readers for the vendored NOAA files of vega-datasets 3.2.1 (tests/fixtures/noaa, spec §3):
// `weather.csv` (daily Seattle and New York observations 2012–2015) and
// `seattle-weather-hourly-normals.csv` (1981–2010 hourly climate normals). No LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nowcast/stream_config.h"

namespace attune::nowcast {

// The numeric columns of weather.csv, in file order; the variables of the NOAA streams.
const std::vector<std::string>& weather_variables();

struct WeatherDay {
  std::string location;  // "Seattle" or "New York"
  int64_t time = 0;      // midnight UTC of the date
  double precipitation = 0, temp_max = 0, temp_min = 0, wind = 0;
};

// Throws std::runtime_error naming the file and line on a missing file or malformed row.
std::vector<WeatherDay> read_weather_csv(const std::string& path);

// One location's days in [from, to] ("YYYY-MM-DD", inclusive) as observations.
std::vector<Observation> weather_observations(const std::vector<WeatherDay>& days,
                                              const std::string& location, const std::string& from,
                                              const std::string& to);

// Spec §3.2(b): Seattle 2012-01-01..2013-12-31 (731 days) then New York 2014-01-01..2015-12-31
// (730 days); the change point is index 731.
std::vector<Observation> seattle_new_york_splice(const std::vector<WeatherDay>& days);
constexpr int64_t kSpliceChangePoint = 731;

// The same change on the other years, for out-of-sample checks of settings chosen on the splice
// above: Seattle 2014-01-01..2015-12-31 (730 days), then New York 2012-01-01..2013-12-31
// re-stamped four years later (2016–2017, leap year onto leap year, so every day keeps its year
// phase); the change point is index 730.
std::vector<Observation> seattle_new_york_splice_other_years(const std::vector<WeatherDay>& days);
constexpr int64_t kOtherYearsChangePoint = 730;

struct HourlyNormal {
  int64_t time = 0;  // the normals are stamped with year 2010
  double pressure = 0, temperature = 0, wind = 0;
};
std::vector<HourlyNormal> read_hourly_normals(const std::string& path);

// Seconds since the epoch of "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS" (UTC). Throws
// std::invalid_argument on anything else.
int64_t parse_utc(const std::string& text);

}  // namespace attune::nowcast
