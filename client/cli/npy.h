// NumPy .npy files (format version 1.0/2.0, little-endian, C order) for `attune infer`.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attune::cli {

struct Array {
  std::string datatype;  // KServe name: FP32, FP64, INT64, INT32, UINT8, INT8, BOOL
  std::vector<int64_t> shape;
  std::string data;      // raw little-endian bytes
};

Array read_npy(const std::string& path);
void write_npy(const std::string& path, const Array& a);
size_t datatype_size(const std::string& datatype);  // 0 if unknown

}  // namespace attune::cli
