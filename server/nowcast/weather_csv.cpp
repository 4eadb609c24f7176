#include "nowcast/weather_csv.h"

#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace attune::nowcast {
namespace {

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream is(line);
  while (std::getline(is, cell, ',')) out.push_back(cell);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

double number(const std::string& s, const std::string& where) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || s.empty()) throw std::runtime_error(where + ": not a number: \"" + s + "\"");
  return v;
}

template <typename Row>
std::vector<Row> read_rows(const std::string& path, const std::string& header, size_t columns,
                           Row (*parse)(const std::vector<std::string>&, const std::string&)) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line != header) throw std::runtime_error(path + ": expected header \"" + header + "\"");
  std::vector<Row> rows;
  for (int64_t n = 2; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto cells = split_csv(line);
    const std::string where = path + ":" + std::to_string(n);
    if (cells.size() != columns)
      throw std::runtime_error(where + ": expected " + std::to_string(columns) + " columns");
    rows.push_back(parse(cells, where));
  }
  return rows;
}

WeatherDay parse_day(const std::vector<std::string>& c, const std::string& where) {
  WeatherDay d;
  d.location = c[0];
  d.time = parse_utc(c[1]);
  d.precipitation = number(c[2], where);
  d.temp_max = number(c[3], where);
  d.temp_min = number(c[4], where);
  d.wind = number(c[5], where);
  return d;
}

HourlyNormal parse_normal(const std::vector<std::string>& c, const std::string& where) {
  return {parse_utc(c[0]), number(c[1], where), number(c[2], where), number(c[3], where)};
}

}  // namespace

const std::vector<std::string>& weather_variables() {
  static const std::vector<std::string> v{"precipitation", "temp_max", "temp_min", "wind"};
  return v;
}

int64_t parse_utc(const std::string& text) {
  std::tm tm{};
  const char* end = nullptr;
  if (text.size() == 10) end = strptime(text.c_str(), "%Y-%m-%d", &tm);
  else if (text.size() == 19) end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end || *end != '\0')
    throw std::invalid_argument("time: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, received \"" +
                                text + "\"");
  return static_cast<int64_t>(timegm(&tm));
}

std::vector<WeatherDay> read_weather_csv(const std::string& path) {
  return read_rows<WeatherDay>(path, "location,date,precipitation,temp_max,temp_min,wind,weather",
                               7, parse_day);
}

std::vector<HourlyNormal> read_hourly_normals(const std::string& path) {
  return read_rows<HourlyNormal>(path, "date,pressure,temperature,wind", 4, parse_normal);
}

std::vector<Observation> weather_observations(const std::vector<WeatherDay>& days,
                                              const std::string& location, const std::string& from,
                                              const std::string& to) {
  const int64_t lo = parse_utc(from), hi = parse_utc(to);
  std::vector<Observation> out;
  for (const auto& d : days) {
    if (d.location != location || d.time < lo || d.time > hi) continue;
    Observation o;
    o.time = d.time;
    o.values = {{"precipitation", d.precipitation}, {"temp_max", d.temp_max},
                {"temp_min", d.temp_min}, {"wind", d.wind}};
    out.push_back(std::move(o));
  }
  return out;
}

std::vector<Observation> seattle_new_york_splice(const std::vector<WeatherDay>& days) {
  auto out = weather_observations(days, "Seattle", "2012-01-01", "2013-12-31");
  const auto ny = weather_observations(days, "New York", "2014-01-01", "2015-12-31");
  out.insert(out.end(), ny.begin(), ny.end());
  return out;
}

std::vector<Observation> seattle_new_york_splice_other_years(const std::vector<WeatherDay>& days) {
  auto out = weather_observations(days, "Seattle", "2014-01-01", "2015-12-31");
  constexpr int64_t kFourYears = 1461 * 86400;
  for (Observation o : weather_observations(days, "New York", "2012-01-01", "2013-12-31")) {
    o.time += kFourYears;
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace attune::nowcast
