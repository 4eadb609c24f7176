#include "npy.h"

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace attune::cli {
namespace {

const std::map<std::string, std::string>& descr_to_datatype() {
  static const std::map<std::string, std::string> m{
      {"<f4", "FP32"}, {"<f8", "FP64"}, {"<i8", "INT64"}, {"<i4", "INT32"},
      {"|u1", "UINT8"}, {"|i1", "INT8"}, {"|b1", "BOOL"}, {"<f2", "FP16"}};
  return m;
}

}  // namespace

size_t datatype_size(const std::string& d) {
  if (d == "FP32" || d == "INT32") return 4;
  if (d == "FP64" || d == "INT64") return 8;
  if (d == "UINT8" || d == "INT8" || d == "BOOL") return 1;
  if (d == "FP16" || d == "BF16") return 2;
  return 0;
}

Array read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  char magic[6];
  in.read(magic, 6);
  if (!in || std::string(magic, 6) != "\x93NUMPY") throw std::runtime_error(path + ": not a .npy file");
  unsigned char ver[2];
  in.read(reinterpret_cast<char*>(ver), 2);
  uint32_t hlen = 0;
  if (ver[0] == 1) {
    unsigned char b[2];
    in.read(reinterpret_cast<char*>(b), 2);
    hlen = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    in.read(reinterpret_cast<char*>(b), 4);
    hlen = b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t(b[3]) << 24);
  }
  std::string header(hlen, '\0');
  in.read(header.data(), hlen);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([^']+)'")))
    throw std::runtime_error(path + ": header has no descr");
  const auto it = descr_to_datatype().find(m[1]);
  if (it == descr_to_datatype().end())
    throw std::runtime_error(path + ": unsupported dtype " + m[1].str() + " (use float32/64, int32/64, uint8, int8, bool)");
  if (std::regex_search(header, std::regex("'fortran_order':\\s*True")))
    throw std::runtime_error(path + ": Fortran order is not supported; save with np.ascontiguousarray");
  Array a;
  a.datatype = it->second;
  if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")))
    throw std::runtime_error(path + ": header has no shape");
  std::stringstream ss(m[1].str());
  std::string item;
  int64_t numel = 1;
  while (std::getline(ss, item, ',')) {
    item = std::regex_replace(item, std::regex("\\s"), "");
    if (item.empty()) continue;
    a.shape.push_back(std::stoll(item));
    numel *= a.shape.back();
  }
  a.data.resize(static_cast<size_t>(numel) * datatype_size(a.datatype));
  in.read(a.data.data(), static_cast<std::streamsize>(a.data.size()));
  if (!in) throw std::runtime_error(path + ": truncated data");
  return a;
}

void write_npy(const std::string& path, const Array& a) {
  std::string descr;
  for (const auto& [d, t] : descr_to_datatype())
    if (t == a.datatype) descr = d;
  if (descr.empty()) throw std::runtime_error("cannot write " + a.datatype + " to .npy");
  std::string shape = "(";
  for (auto d : a.shape) shape += std::to_string(d) + ",";
  if (a.shape.size() > 1) shape.pop_back();
  shape += ")";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t total = 10 + header.size() + 1;
  header += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t hlen = static_cast<uint16_t>(header.size());
  out.put(static_cast<char>(hlen & 0xff));
  out.put(static_cast<char>(hlen >> 8));
  out << header;
  out.write(a.data.data(), static_cast<std::streamsize>(a.data.size()));
  if (!out) throw std::runtime_error(path + ": cannot write");
}

}  // namespace attune::cli
