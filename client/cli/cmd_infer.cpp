// attune infer MODEL (--npy FILE | --raw FILE --shape S [--dtype D] | --random SHAPE)
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "connection.h"
#include "inference/open_inference_grpc.grpc.pb.h"
#include "npy.h"
#include "output.h"

namespace attune::cli {
namespace {

const char* kUsage =
    "usage: attune infer MODEL [--version V] [--input NAME] [--out FILE.npy] [--seed N]\n"
    "                    (--npy FILE.npy | --raw FILE --shape 4,1,28,28 [--dtype FP32] |\n"
    "                     --random 4,1,28,28)\n";

Array random_array(const std::string& datatype, const std::vector<int64_t>& shape, uint64_t seed) {
  Array a;
  a.datatype = datatype;
  a.shape = shape;
  int64_t n = 1;
  for (auto d : shape) n *= d;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  a.data.resize(static_cast<size_t>(n) * datatype_size(datatype));
  for (int64_t i = 0; i < n; ++i) {
    const double x = u(rng);
    if (datatype == "FP32") {
      const float f = static_cast<float>(x);
      std::memcpy(&a.data[i * 4], &f, 4);
    } else if (datatype == "FP64") {
      std::memcpy(&a.data[i * 8], &x, 8);
    } else if (datatype == "INT64") {
      const int64_t v = static_cast<int64_t>(x * 10);
      std::memcpy(&a.data[i * 8], &v, 8);
    } else if (datatype == "INT32") {
      const int32_t v = static_cast<int32_t>(x * 10);
      std::memcpy(&a.data[i * 4], &v, 4);
    } else {
      a.data[i] = static_cast<char>(x * 10);
    }
  }
  return a;
}

std::vector<double> as_doubles(const std::string& datatype, const std::string& raw) {
  std::vector<double> out;
  const size_t w = datatype_size(datatype);
  for (size_t off = 0; w && off + w <= raw.size(); off += w) {
    const char* p = raw.data() + off;
    if (datatype == "FP32") { float f; std::memcpy(&f, p, 4); out.push_back(f); }
    else if (datatype == "FP64") { double d; std::memcpy(&d, p, 8); out.push_back(d); }
    else if (datatype == "INT64") { int64_t v; std::memcpy(&v, p, 8); out.push_back(static_cast<double>(v)); }
    else if (datatype == "INT32") { int32_t v; std::memcpy(&v, p, 4); out.push_back(v); }
    else if (datatype == "UINT8" || datatype == "BOOL") { out.push_back(static_cast<unsigned char>(*p)); }
    else if (datatype == "INT8") { out.push_back(static_cast<signed char>(*p)); }
  }
  return out;
}

}  // namespace

namespace {
int cmd_infer(const Argv& argv) {
  auto flags = global_flags();
  auto opts = global_options();
  opts.insert({"version", "input", "out", "npy", "raw", "shape", "dtype", "random", "seed"});
  Args a(argv, flags, opts);
  const Global g = global_from(a);
  if (a.positional().empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string model = a.positional()[0];
  auto stub = inference::GRPCInferenceService::NewStub(channel(g));

  inference::ModelMetadataResponse meta;
  {
    grpc::ClientContext ctx;
    prepare(ctx, g);
    inference::ModelMetadataRequest req;
    req.set_name(model);
    req.set_version(a.get_or("version", ""));
    check(stub->ModelMetadata(&ctx, req, &meta));
  }
  if (meta.inputs_size() != 1 && !a.has("input"))
    throw UsageError("model " + model + " has " + std::to_string(meta.inputs_size()) +
                     " inputs; `attune infer` sends one, name it with --input");
  const std::string input_name = a.get_or("input", meta.inputs_size() ? meta.inputs(0).name() : "input");
  std::string datatype = meta.inputs_size() ? meta.inputs(0).datatype() : "FP32";

  Array x;
  if (auto f = a.get("npy")) {
    x = read_npy(*f);
  } else if (auto f = a.get("raw")) {
    x.datatype = a.get_or("dtype", datatype);
    x.shape = parse_shape(a.get("shape").value_or(""));
    std::ifstream in(*f, std::ios::binary);
    if (!in) throw UsageError(*f + ": cannot open");
    std::ostringstream b;
    b << in.rdbuf();
    x.data = b.str();
  } else if (auto s = a.get("random")) {
    x = random_array(datatype, parse_shape(*s), static_cast<uint64_t>(a.get_int("seed", 0)));
  } else {
    std::cerr << kUsage;
    return 2;
  }

  inference::ModelInferRequest req;
  req.set_model_name(model);
  req.set_model_version(a.get_or("version", ""));
  auto* in = req.add_inputs();
  in->set_name(input_name);
  in->set_datatype(x.datatype);
  for (auto d : x.shape) in->add_shape(d);
  req.add_raw_input_contents(x.data);
  inference::ModelInferResponse resp;
  grpc::ClientContext ctx;
  prepare(ctx, g);
  check(stub->ModelInfer(&ctx, req, &resp));

  if (auto out = a.get("out"); out && resp.outputs_size() > 0) {
    Array y;
    y.datatype = resp.outputs(0).datatype();
    y.shape.assign(resp.outputs(0).shape().begin(), resp.outputs(0).shape().end());
    y.data = resp.raw_output_contents(0);
    write_npy(*out, y);
  }
  if (g.json) {
    nlohmann::json j{{"model_name", resp.model_name()}, {"model_version", resp.model_version()},
                     {"outputs", nlohmann::json::array()}};
    for (int i = 0; i < resp.outputs_size(); ++i) {
      const auto& o = resp.outputs(i);
      j["outputs"].push_back({{"name", o.name()},
                              {"datatype", o.datatype()},
                              {"shape", std::vector<int64_t>(o.shape().begin(), o.shape().end())},
                              {"data", as_doubles(o.datatype(), resp.raw_output_contents(i))}});
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "model " << resp.model_name() << " version " << resp.model_version() << "\n";
  for (int i = 0; i < resp.outputs_size(); ++i) {
    const auto& o = resp.outputs(i);
    std::vector<int64_t> shape(o.shape().begin(), o.shape().end());
    std::cout << "\noutput " << o.name() << " " << o.datatype() << " " << join_shape(shape) << "\n";
    const auto v = as_doubles(o.datatype(), resp.raw_output_contents(i));
    const int64_t rows = shape.empty() ? 1 : shape[0];
    const int64_t cols = rows ? static_cast<int64_t>(v.size()) / rows : 0;
    Table t({"ROW", "ARGMAX", "MAX", "VALUES"});
    for (int64_t r = 0; r < std::min<int64_t>(rows, 16); ++r) {
      int64_t best = 0;
      std::string vals;
      for (int64_t c = 0; c < cols; ++c) {
        if (v[r * cols + c] > v[r * cols + best]) best = c;
        if (c < 6) vals += (c ? " " : "") + fixed(v[r * cols + c], 4);
      }
      if (cols > 6) vals += " ...";
      t.row({std::to_string(r), std::to_string(best), cols ? fixed(v[r * cols + best], 4) : "", vals});
    }
    t.print();
    if (rows > 16) std::cout << "(" << rows - 16 << " more rows; use --json or --out)\n";
  }
  return 0;
}

}  // namespace

const RegisterCommand kRegister("infer", cmd_infer, "MODEL ...: run inference (KServe v2 ModelInfer)", 20);

}  // namespace attune::cli
