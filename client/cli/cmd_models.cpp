// attune models load|list|get|unload|export
#include <fstream>
#include <iostream>
#include <sstream>

#include "architecture_args.h"
#include "args.h"
#include "attune/v1/model_service.grpc.pb.h"
#include "commands.h"
#include "connection.h"
#include "output.h"

namespace attune::cli {
namespace {

constexpr size_t kInlineLimit = 3u << 20;  // larger files go through LoadModelStream

const char* kUsage =
    "usage: attune models load FILE.pt --name NAME [--input NAME:DTYPE:SHAPE]... "
    "[--output NAME:DTYPE:SHAPE]... [--version V]\n"
    "       attune models load --repository PATH [--name NAME] [--version V]\n"
    "       attune models create NAME --architecture KIND ... [--seed N]\n"
    "       attune models list\n"
    "       attune models get NAME\n"
    "       attune models unload NAME [--version V]\n"
    "       attune models export NAME [--version V] --out FILE.pt\n";

std::string state_name(int s) {
  return v1::ModelState_Name(static_cast<v1::ModelState>(s));
}

// "image:FP32:-1,1,28,28"
v1::TensorSpec parse_spec(const std::string& s, const std::string& flag) {
  const auto a = s.find(':'), b = s.find(':', a == std::string::npos ? a : a + 1);
  if (a == std::string::npos || b == std::string::npos)
    throw UsageError(flag + ": expected NAME:DTYPE:SHAPE like image:FP32:-1,1,28,28, received '" + s + "'");
  v1::TensorSpec spec;
  spec.set_name(s.substr(0, a));
  std::string dt = s.substr(a + 1, b - a - 1);
  static const std::map<std::string, v1::DataType> names{
      {"FP32", v1::FLOAT32}, {"FP64", v1::FLOAT64}, {"INT64", v1::INT64}, {"INT32", v1::INT32},
      {"UINT8", v1::UINT8},  {"INT8", v1::INT8},    {"FP16", v1::FLOAT16}, {"BF16", v1::BFLOAT16},
      {"BOOL", v1::BOOL}};
  auto it = names.find(dt);
  if (it == names.end()) throw UsageError(flag + ": unknown dtype '" + dt + "' (FP32, FP64, INT64, ...)");
  spec.set_dtype(it->second);
  for (auto d : parse_shape(s.substr(b + 1))) spec.add_shape(d);
  return spec;
}

std::string specs_str(const google::protobuf::RepeatedPtrField<v1::TensorSpec>& specs) {
  std::string out;
  for (const auto& s : specs) {
    std::vector<int64_t> shape(s.shape().begin(), s.shape().end());
    const std::string dt = v1::DataType_Name(s.dtype());
    out += (out.empty() ? "" : " ") + s.name() + ":" + dt + join_shape(shape);
  }
  return out;
}

void print_model(const v1::Model& m, const Global& g) {
  if (g.json) {
    std::cout << to_json(m) << "\n";
    return;
  }
  std::cout << "model " << m.name() << "  (serving version " << m.serving_version() << ")\n\n";
  Table t({"VERSION", "STATE", "PARAMS", "SIZE", "FEATURES", "BN", "INPUTS", "OUTPUTS", "ORIGIN"});
  for (const auto& v : m.versions())
    t.row({std::to_string(v.version()), state_name(v.state()), std::to_string(v.parameter_count()),
           human_bytes(static_cast<double>(v.size_bytes())), v.has_features() ? "yes" : "no",
           std::to_string(v.batchnorm_layers()), specs_str(v.inputs()), specs_str(v.outputs()),
           v.origin()});
  t.print();
  for (const auto& v : m.versions())
    if (!v.error().empty()) std::cout << "\nversion " << v.version() << " error: " << v.error() << "\n";
}

int load(const Args& a, const Global& g) {
  auto stub = v1::ModelService::NewStub(channel(g));
  v1::LoadModelRequest req;
  req.set_name(a.get_or("name", ""));
  req.set_version(a.get_int("version", 0));
  for (const auto& s : a.all("input")) *req.add_inputs() = parse_spec(s, "--input");
  for (const auto& s : a.all("output")) *req.add_outputs() = parse_spec(s, "--output");
  v1::Model resp;
  grpc::ClientContext ctx;
  if (auto repo = a.get("repository")) {
    req.set_repository_path(*repo);
    prepare(ctx, g);
    check(stub->LoadModel(&ctx, req, &resp));
  } else {
    const std::string path = a.pos(1, "FILE.pt (or --repository PATH)");
    if (req.name().empty()) throw UsageError("--name is required when loading a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError(path + ": cannot open");
    std::ostringstream buf;
    buf << in.rdbuf();
    const std::string bytes = buf.str();
    if (bytes.size() <= kInlineLimit) {
      req.set_torchscript(bytes);
      prepare(ctx, g);
      check(stub->LoadModel(&ctx, req, &resp));
    } else {
      prepare(ctx, g, /*streaming=*/true);
      auto writer = stub->LoadModelStream(&ctx, &resp);
      v1::LoadModelChunk first;
      *first.mutable_request() = req;
      writer->Write(first);
      ProgressBar bar("upload", static_cast<int64_t>(bytes.size()));
      for (size_t off = 0; off < bytes.size(); off += kInlineLimit) {
        v1::LoadModelChunk c;
        c.set_data(bytes.substr(off, kInlineLimit));
        if (!writer->Write(c)) break;
        bar.update(static_cast<int64_t>(std::min(bytes.size(), off + kInlineLimit)));
      }
      bar.finish();
      writer->WritesDone();
      check(writer->Finish());
    }
  }
  print_model(resp, g);
  return 0;
}

int create(const Args& a, const Global& g) {
  v1::CreateModelRequest req;
  req.set_name(a.pos(1, "model NAME"));
  *req.mutable_architecture() = parse_architecture(a);
  req.set_seed(a.get_int("seed", 0));
  req.set_version(a.get_int("version", 0));
  auto stub = v1::ModelService::NewStub(channel(g));
  grpc::ClientContext ctx;
  prepare(ctx, g);
  v1::Model resp;
  check(stub->CreateModel(&ctx, req, &resp));
  print_model(resp, g);
  return 0;
}

int list(const Global& g) {
  auto stub = v1::ModelService::NewStub(channel(g));
  grpc::ClientContext ctx;
  prepare(ctx, g);
  v1::ListModelsResponse resp;
  check(stub->ListModels(&ctx, {}, &resp));
  if (g.json) {
    std::cout << to_json(resp) << "\n";
    return 0;
  }
  Table t({"NAME", "SERVING", "VERSIONS", "STATES", "PARAMS", "INPUTS"});
  for (const auto& m : resp.models()) {
    std::string versions, states, params, inputs;
    for (const auto& v : m.versions()) {
      versions += (versions.empty() ? "" : ",") + std::to_string(v.version());
      states += (states.empty() ? "" : ",") + state_name(v.state());
      if (v.version() == m.serving_version()) {
        params = std::to_string(v.parameter_count());
        inputs = specs_str(v.inputs());
      }
    }
    t.row({m.name(), std::to_string(m.serving_version()), versions, states, params, inputs});
  }
  t.print();
  if (resp.models().empty()) std::cout << "(no models; load one with `attune models load`)\n";
  return 0;
}

int get(const Args& a, const Global& g) {
  auto stub = v1::ModelService::NewStub(channel(g));
  grpc::ClientContext ctx;
  prepare(ctx, g);
  v1::GetModelRequest req;
  req.set_name(a.pos(1, "model NAME"));
  v1::Model resp;
  check(stub->GetModel(&ctx, req, &resp));
  print_model(resp, g);
  return 0;
}

int unload(const Args& a, const Global& g) {
  auto stub = v1::ModelService::NewStub(channel(g));
  grpc::ClientContext ctx;
  prepare(ctx, g);
  v1::UnloadModelRequest req;
  req.set_name(a.pos(1, "model NAME"));
  req.set_version(a.get_int("version", 0));
  v1::UnloadModelResponse resp;
  check(stub->UnloadModel(&ctx, req, &resp));
  if (g.json) {
    std::cout << to_json(resp) << "\n";
  } else {
    std::cout << "unloaded " << req.name() << " version(s)";
    for (auto v : resp.unloaded_versions()) std::cout << " " << v;
    std::cout << "\n";
  }
  return 0;
}

int export_model(const Args& a, const Global& g) {
  const std::string out_path = a.get("out").value_or("");
  if (out_path.empty()) throw UsageError("--out FILE.pt is required");
  auto stub = v1::ModelService::NewStub(channel(g));
  grpc::ClientContext ctx;
  prepare(ctx, g, true);
  v1::ExportModelRequest req;
  req.set_name(a.pos(1, "model NAME"));
  req.set_version(a.get_int("version", 0));
  auto reader = stub->ExportModel(&ctx, req);
  const std::string tmp = out_path + ".part";
  std::ofstream out(tmp, std::ios::binary);
  v1::ExportModelChunk chunk;
  int64_t written = 0, version = 0;
  while (reader->Read(&chunk)) {
    out.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
    written += static_cast<int64_t>(chunk.data().size());
    version = chunk.version();
  }
  out.close();
  const auto status = reader->Finish();
  if (!status.ok()) std::remove(tmp.c_str());
  check(status);
  std::rename(tmp.c_str(), out_path.c_str());
  std::cout << "wrote " << out_path << " (" << req.name() << " version " << version << ", "
            << human_bytes(static_cast<double>(written)) << ")\n";
  return 0;
}

}  // namespace

namespace {
int cmd_models(const Argv& argv) {
  auto flags = global_flags();
  auto opts = global_options();
  opts.insert({"name", "version", "input", "output", "repository", "out", "seed"});
  for (const auto& o : architecture_options()) opts.insert(o);
  Args a(argv, flags, opts);
  const Global g = global_from(a);
  const std::string sub = a.positional().empty() ? "" : a.positional()[0];
  if (sub == "load") return load(a, g);
  if (sub == "create") return create(a, g);
  if (sub == "list") return list(g);
  if (sub == "get") return get(a, g);
  if (sub == "unload") return unload(a, g);
  if (sub == "export") return export_model(a, g);
  std::cerr << kUsage << "architectures:\n" << kArchitectureUsage;
  return 2;
}

}  // namespace

const RegisterCommand kRegister("models", cmd_models, "load|list|get|unload|export|create: manage hosted TorchScript models", 10);

}  // namespace attune::cli
