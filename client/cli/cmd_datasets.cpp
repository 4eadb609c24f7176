// attune datasets upload|import|list|get|delete
#include <iostream>

#include "args.h"
#include "attune/v1/dataset_service.grpc.pb.h"
#include "commands.h"
#include "connection.h"
#include "npy.h"
#include "output.h"

namespace attune::cli {
namespace {

const char* kUsage =
    "usage: attune datasets upload FEATURES.npy --labels LABELS.npy --name NAME [--feature-scale S]\n"
    "       attune datasets import --name NAME --idx PATH [--split train|test] [--limit N]\n"
    "       attune datasets import --name NAME --csv FILE [--label-column C] [--regression] [--limit N]\n"
    "       attune datasets list | get NAME | delete NAME\n"
    "PATH/FILE are relative to the server's --datasets-dir (e.g. fashion-mnist under\n"
    "/usr/share/datasets from Debian's dataset-fashion-mnist).\n";

v1::DataType to_dtype(const std::string& d) {
  static const std::map<std::string, v1::DataType> m{
      {"FP32", v1::FLOAT32}, {"FP64", v1::FLOAT64}, {"INT64", v1::INT64}, {"INT32", v1::INT32},
      {"UINT8", v1::UINT8},  {"INT8", v1::INT8},    {"BOOL", v1::BOOL},   {"FP16", v1::FLOAT16}};
  auto it = m.find(d);
  if (it == m.end()) throw UsageError("unsupported array dtype " + d);
  return it->second;
}

void print(const v1::Dataset& d, const Global& g) {
  if (g.json) {
    std::cout << to_json(d) << "\n";
    return;
  }
  Table t({"NAME", "SAMPLES", "FEATURES", "LABELS", "CLASSES", "SIZE", "ORIGIN"});
  auto spec = [](const v1::TensorSpec& s) {
    return v1::DataType_Name(s.dtype()) + join_shape({s.shape().begin(), s.shape().end()});
  };
  t.row({d.name(), std::to_string(d.samples()), spec(d.features()), spec(d.labels()),
         std::to_string(d.classes()), human_bytes(static_cast<double>(d.size_bytes())), d.origin()});
  t.print();
}

int upload(const Args& a, const Global& g) {
  const Array x = read_npy(a.pos(1, "FEATURES.npy"));
  const auto labels_path = a.get("labels");
  if (!labels_path) throw UsageError("--labels LABELS.npy is required");
  const Array y = read_npy(*labels_path);
  if (x.shape.empty() || y.shape.empty() || x.shape[0] != y.shape[0])
    throw UsageError("features and labels need the same number of rows");
  const std::string name = a.get_or("name", "");
  if (name.empty()) throw UsageError("--name is required");
  auto stub = v1::DatasetService::NewStub(channel(g));
  grpc::ClientContext ctx;
  prepare(ctx, g, true);
  v1::Dataset resp;
  auto w = stub->UploadDataset(&ctx, &resp);
  v1::UploadDatasetChunk head;
  auto* h = head.mutable_header();
  h->set_name(name);
  h->set_feature_dtype(to_dtype(x.datatype));
  for (size_t i = 1; i < x.shape.size(); ++i) h->add_feature_shape(x.shape[i]);
  h->set_label_dtype(to_dtype(y.datatype));
  for (size_t i = 1; i < y.shape.size(); ++i) h->add_label_shape(y.shape[i]);
  h->set_feature_scale(a.get_double("feature-scale", 1.0));
  w->Write(head);
  const int64_t n = x.shape[0], rows = std::max<int64_t>(1, (2 << 20) / std::max<size_t>(1, x.data.size() / n));
  const size_t xrow = x.data.size() / n, yrow = y.data.size() / n;
  ProgressBar bar("upload", n);
  for (int64_t r = 0; r < n; r += rows) {
    const int64_t k = std::min(rows, n - r);
    v1::UploadDatasetChunk c;
    auto* f = c.mutable_batch()->mutable_features();
    f->set_dtype(h->feature_dtype());
    f->add_shape(k);
    for (size_t i = 1; i < x.shape.size(); ++i) f->add_shape(x.shape[i]);
    f->set_data(x.data.substr(r * xrow, k * xrow));
    auto* l = c.mutable_batch()->mutable_labels();
    l->set_dtype(h->label_dtype());
    l->add_shape(k);
    for (size_t i = 1; i < y.shape.size(); ++i) l->add_shape(y.shape[i]);
    l->set_data(y.data.substr(r * yrow, k * yrow));
    if (!w->Write(c)) break;
    bar.update(r + k);
  }
  bar.finish();
  w->WritesDone();
  check(w->Finish());
  print(resp, g);
  return 0;
}

int import(const Args& a, const Global& g) {
  v1::ImportDatasetRequest req;
  req.set_name(a.get_or("name", ""));
  if (req.name().empty()) throw UsageError("--name is required");
  if (auto p = a.get("idx")) {
    req.set_format(v1::ImportDatasetRequest::IDX);
    req.set_path(*p);
    req.set_split(a.get_or("split", "train"));
    req.set_labels_path(a.get_or("labels-path", ""));
  } else if (auto p = a.get("csv")) {
    req.set_format(v1::ImportDatasetRequest::CSV);
    req.set_path(*p);
    req.set_label_column(a.get_or("label-column", ""));
    req.set_regression(a.has("regression"));
  } else {
    throw UsageError("give --idx PATH or --csv FILE");
  }
  req.set_limit(a.get_int("limit", 0));
  auto stub = v1::DatasetService::NewStub(channel(g));
  grpc::ClientContext ctx;
  prepare(ctx, g);
  v1::Dataset resp;
  check(stub->ImportDataset(&ctx, req, &resp));
  print(resp, g);
  return 0;
}

int cmd_datasets(const Argv& argv) {
  auto flags = global_flags();
  flags.insert("regression");
  auto opts = global_options();
  opts.insert({"labels", "name", "feature-scale", "idx", "csv", "split", "labels-path", "label-column", "limit"});
  Args a(argv, flags, opts);
  const Global g = global_from(a);
  const std::string sub = a.positional().empty() ? "" : a.positional()[0];
  auto stub = v1::DatasetService::NewStub(channel(g));
  if (sub == "upload") return upload(a, g);
  if (sub == "import") return import(a, g);
  if (sub == "list") {
    grpc::ClientContext ctx;
    prepare(ctx, g);
    v1::ListDatasetsResponse resp;
    check(stub->ListDatasets(&ctx, {}, &resp));
    if (g.json) {
      std::cout << to_json(resp) << "\n";
      return 0;
    }
    Table t({"NAME", "SAMPLES", "FEATURES", "CLASSES", "SIZE", "ORIGIN"});
    for (const auto& d : resp.datasets())
      t.row({d.name(), std::to_string(d.samples()),
             v1::DataType_Name(d.features().dtype()) + join_shape({d.features().shape().begin(), d.features().shape().end()}),
             std::to_string(d.classes()), human_bytes(static_cast<double>(d.size_bytes())), d.origin()});
    t.print();
    if (resp.datasets().empty()) std::cout << "(no datasets; add one with `attune datasets import`)\n";
    return 0;
  }
  if (sub == "get" || sub == "delete") {
    grpc::ClientContext ctx;
    prepare(ctx, g);
    if (sub == "get") {
      v1::GetDatasetRequest req;
      req.set_name(a.pos(1, "dataset NAME"));
      v1::Dataset resp;
      check(stub->GetDataset(&ctx, req, &resp));
      print(resp, g);
    } else {
      v1::DeleteDatasetRequest req;
      req.set_name(a.pos(1, "dataset NAME"));
      v1::DeleteDatasetResponse resp;
      check(stub->DeleteDataset(&ctx, req, &resp));
      std::cout << "deleted dataset " << req.name() << "\n";
    }
    return 0;
  }
  std::cerr << kUsage;
  return 2;
}

}  // namespace

const RegisterCommand kRegister("datasets", cmd_datasets, "upload|import|list|get|delete: training data", 30);

}  // namespace attune::cli
