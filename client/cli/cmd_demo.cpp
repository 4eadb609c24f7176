// attune demo: a guided tour of the product on real data against a running server.
//   1. upload Fashion-MNIST (Debian's dataset-fashion-mnist)
//   2. train the built-in BatchNorm CNN with EXAdam (progress bar)
//   3. corrupt test images, compare source vs EATA vs LAME (table)
//   4. stream NOAA weather (Seattle, then New York) into a nowcasting stream with performance-
//      based retraining (progress bar, retrain events, error table)
//   5. where to look in Grafana
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>

#include "args.h"
#include "attune/v1/adaptation_service.grpc.pb.h"
#include "attune/v1/dataset_service.grpc.pb.h"
#include "attune/v1/model_service.grpc.pb.h"
#include "attune/v1/nowcast_service.grpc.pb.h"
#include "attune/v1/training_service.grpc.pb.h"
#include "commands.h"
#include "connection.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "idx_file.h"
#include "job_watch.h"
#include "output.h"

namespace attune::cli {
namespace {

const char* kUsage =
    "usage: attune demo [--short] [--fashion-dir DIR] [--weather-csv FILE] [--prefix NAME]\n"
    "A guided tour on real data against a running server (a few minutes on 2 cores; --short\n"
    "takes well under a minute). Datasets, models and the stream it creates are named demo-*.\n";

struct Config {
  bool short_mode = false;
  std::string fashion_dir = "/usr/share/datasets/fashion-mnist";
  std::string weather_csv;
  std::string prefix = "demo";
  int64_t train_images = 20000, test_images = 2000, epochs = 2;
};

void heading(int n, const std::string& title) { std::cout << "\n[" << n << "/5] " << title << "\n"; }

bool already_exists(const grpc::Status& s) { return s.error_code() == grpc::StatusCode::ALREADY_EXISTS; }

v1::Tensor tensor(v1::DataType dtype, std::vector<int64_t> shape, const void* data, size_t bytes) {
  v1::Tensor t;
  t.set_dtype(dtype);
  for (auto d : shape) t.add_shape(d);
  t.set_data(std::string(static_cast<const char*>(data), bytes));
  return t;
}

// --- 1. data -----------------------------------------------------------------------------------
void upload_fashion(const Global& g, const Config& c, const std::string& name) {
  const auto images = read_idx_images(c.fashion_dir, true, c.train_images);
  const auto labels = read_idx_labels(c.fashion_dir, true, c.train_images);
  auto stub = v1::DatasetService::NewStub(channel(g));
  grpc::ClientContext ctx;
  prepare(ctx, g, true);
  v1::Dataset d;
  auto w = stub->UploadDataset(&ctx, &d);
  v1::UploadDatasetChunk head;
  head.mutable_header()->set_name(name);
  head.mutable_header()->set_feature_dtype(v1::UINT8);
  for (int64_t s : {int64_t{1}, images.rows, images.cols}) head.mutable_header()->add_feature_shape(s);
  head.mutable_header()->set_label_dtype(v1::INT64);
  head.mutable_header()->set_feature_scale(1.0 / 255.0);
  w->Write(head);
  const int64_t per = images.rows * images.cols;
  ProgressBar bar("upload", images.count);
  for (int64_t b = 0; b < images.count; b += 2000) {
    const int64_t k = std::min<int64_t>(2000, images.count - b);
    v1::UploadDatasetChunk chunk;
    *chunk.mutable_batch()->mutable_features() =
        tensor(v1::UINT8, {k, 1, images.rows, images.cols}, &images.pixels[b * per], static_cast<size_t>(k * per));
    *chunk.mutable_batch()->mutable_labels() = tensor(v1::INT64, {k}, &labels[b], static_cast<size_t>(k) * 8);
    if (!w->Write(chunk)) break;
    bar.update(b + k);
  }
  bar.finish();
  w->WritesDone();
  const auto s = w->Finish();
  if (already_exists(s)) {
    std::cout << "  dataset " << name << " already exists; reusing it\n";
    return;
  }
  check(s);
  std::cout << "  dataset " << name << ": " << d.samples() << " images of " << d.classes() << " classes\n";
}

// --- 2. training -------------------------------------------------------------------------------
int64_t train_cnn(const Global& g, const Config& c, const std::string& model, const std::string& dataset) {
  auto models = v1::ModelService::NewStub(channel(g));
  v1::CreateModelRequest create;
  create.set_name(model);
  auto* cnn = create.mutable_architecture()->mutable_cnn();
  cnn->set_in_channels(1);
  cnn->set_height(28);
  cnn->set_width(28);
  cnn->set_classes(10);
  v1::Model m;
  {
    grpc::ClientContext ctx;
    prepare(ctx, g);
    check(models->CreateModel(&ctx, create, &m));
  }
  const int64_t base = m.serving_version();
  std::cout << "  created " << model << " version " << base << " (CNN with BatchNorm, "
            << m.versions(m.versions_size() - 1).parameter_count() << " parameters)\n";
  v1::StartTrainingRequest req;
  auto* spec = req.mutable_spec();
  spec->mutable_model()->set_name(model);
  spec->mutable_model()->set_version(base);
  spec->set_dataset(dataset);
  spec->set_validation_split(0.1);
  spec->mutable_optimizer()->set_name("exadam");
  spec->set_epochs(c.epochs);
  spec->mutable_batch()->set_size(64);
  spec->set_checkpoint_every_steps(50);
  auto training = v1::TrainingService::NewStub(channel(g));
  v1::Job job;
  {
    grpc::ClientContext ctx;
    prepare(ctx, g);
    check(training->StartTraining(&ctx, req, &job));
  }
  const auto done = watch_job(g, job.name());
  if (done.metadata().state() != v1::JOB_SUCCEEDED)
    throw std::runtime_error("training failed: " + done.error().message());
  std::cout << "  " << job.name() << ": validation accuracy " << fixed(100 * done.response().validation_accuracy(), 1)
            << "% after " << done.response().steps() << " steps; published " << model << " version "
            << done.response().model_version() << "\n";
  return done.response().model_version();
}

// --- 3. adaptation -----------------------------------------------------------------------------
// Two CIFAR-10-C-style corruptions on [0, 1] images (tta spec §5 levels for 28×28, severity 3).
std::vector<float> corrupt(const IdxImages& im, const std::string& kind, uint64_t seed) {
  std::vector<float> x(im.pixels.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = im.pixels[i] / 255.0f;
  const size_t per = static_cast<size_t>(im.rows * im.cols);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.16f);
  for (size_t n = 0; n < static_cast<size_t>(im.count); ++n) {
    float* p = &x[n * per];
    if (kind == "gaussian_noise") {
      for (size_t i = 0; i < per; ++i) p[i] = std::clamp(p[i] + noise(rng), 0.0f, 1.0f);
    } else {  // contrast 0.3
      const float mean = std::accumulate(p, p + per, 0.0f) / static_cast<float>(per);
      for (size_t i = 0; i < per; ++i) p[i] = std::clamp((p[i] - mean) * 0.3f + mean, 0.0f, 1.0f);
    }
  }
  return x;
}

double adapt_accuracy(const Global& g, const std::string& model, int64_t version, const std::string& method,
                      const std::string& fisher_dataset, const std::vector<float>& x,
                      const std::vector<int64_t>& labels, const std::vector<int64_t>& order) {
  auto stub = v1::AdaptationService::NewStub(channel(g));
  v1::CreateSessionRequest create;
  create.mutable_model()->set_name(model);
  create.mutable_model()->set_version(version);
  create.mutable_options()->set_method(method);
  if (method == "eata") {  // CIFAR-10 constants from the official code's configs (tta spec §2)
    create.mutable_options()->set_d_margin(0.4);
    create.mutable_options()->set_fisher_alpha(1.0);
    create.mutable_options()->set_lr(0.005);
  }
  if (method == "lame") create.mutable_options()->set_affinity("knn");
  v1::Session session;
  {
    grpc::ClientContext ctx;
    prepare(ctx, g);
    check(stub->CreateSession(&ctx, create, &session));
  }
  if (method == "eata") {
    grpc::ClientContext ctx;
    prepare(ctx, g, true);
    auto w = stub->ComputeFisher(&ctx, &session);
    v1::ComputeFisherRequest head;
    head.mutable_header()->set_session(session.id());
    head.mutable_header()->set_dataset(fisher_dataset);
    head.mutable_header()->set_size(512);
    w->Write(head);
    w->WritesDone();
    check(w->Finish());
  }
  const int64_t n = static_cast<int64_t>(labels.size()), per = 28 * 28;
  int64_t correct = 0;
  grpc::ClientContext ctx;
  prepare(ctx, g, true);
  auto stream = stub->Adapt(&ctx);
  for (int64_t b = 0; b < n; b += 64) {
    const int64_t k = std::min<int64_t>(64, n - b);
    if (k < 2) break;  // batch statistics need two samples
    std::vector<float> batch(static_cast<size_t>(k * per));
    for (int64_t i = 0; i < k; ++i)
      std::copy_n(&x[static_cast<size_t>(order[b + i] * per)], per, &batch[static_cast<size_t>(i * per)]);
    v1::AdaptRequest req;
    req.set_session(b == 0 ? session.id() : "");
    *req.mutable_batch() = tensor(v1::FLOAT32, {k, 1, 28, 28}, batch.data(), batch.size() * 4);
    if (!stream->Write(req)) break;
    v1::AdaptResponse resp;
    if (!stream->Read(&resp)) break;
    for (int i = 0; i < resp.predictions_size(); ++i)
      if (resp.predictions(i) == labels[static_cast<size_t>(order[b + i])]) ++correct;
  }
  stream->WritesDone();
  check(stream->Finish());
  grpc::ClientContext close_ctx;
  prepare(close_ctx, g);
  v1::CloseSessionRequest close;
  close.set_session(session.id());
  v1::CloseSessionResponse closed;
  stub->CloseSession(&close_ctx, close, &closed);
  return static_cast<double>(correct) / static_cast<double>(n);
}

void adaptation(const Global& g, const Config& c, const std::string& model, int64_t version, const std::string& dataset) {
  const auto images = read_idx_images(c.fashion_dir, false, c.test_images);
  const auto labels = read_idx_labels(c.fashion_dir, false, c.test_images);
  std::vector<int64_t> iid(labels.size()), sorted(labels.size());
  std::iota(iid.begin(), iid.end(), 0);
  std::shuffle(iid.begin(), iid.end(), std::mt19937_64(7));
  std::iota(sorted.begin(), sorted.end(), 0);
  std::stable_sort(sorted.begin(), sorted.end(), [&](int64_t a, int64_t b) { return labels[a] < labels[b]; });
  Table t({"CORRUPTION", "STREAM", "SOURCE", "EATA", "LAME (kNN)"});
  for (const std::string kind : {"gaussian_noise", "contrast"}) {
    const auto x = corrupt(images, kind, 42);
    for (const auto& [stream_name, order] : {std::make_pair(std::string("i.i.d."), iid), std::make_pair(std::string("label-sorted"), sorted)}) {
      std::vector<std::string> row{kind, stream_name};
      for (const std::string method : {"source", "eata", "lame"}) {
        const double acc = adapt_accuracy(g, model, version, method, dataset, x, labels, order);
        row.push_back(fixed(100 * acc, 1) + "%");
        std::cerr << "." << std::flush;
      }
      t.row(row);
    }
  }
  std::cerr << "\n";
  t.print();
  std::cout << "  (" << labels.size() << " test images in batches of 64. The papers' expectation: on i.i.d.\n"
            << "   streams EATA's BatchNorm adaptation helps; on label-sorted streams batch statistics\n"
            << "   mislead BN-based methods while LAME's neighbour smoothing can help."
            << (c.short_mode ? "\n   --short trains the source model for seconds only: read this table as a smoke test;\n"
                               "   bench/tta/RESULTS.md has the full evaluation.)\n"
                             : "\n   bench/tta/RESULTS.md has the full evaluation.)\n");
}

// --- 4. nowcasting -----------------------------------------------------------------------------
std::string find_weather(const Config& c) {
  std::vector<std::string> candidates;
  if (!c.weather_csv.empty()) candidates.push_back(c.weather_csv);
  if (const char* d = std::getenv("ATTUNE_DEMO_DATA"); d && *d) candidates.push_back(std::string(d) + "/weather.csv");
  candidates.push_back("tests/fixtures/noaa/weather.csv");
  candidates.push_back("/usr/share/attune/noaa/weather.csv");
  for (const auto& p : candidates)
    if (std::ifstream(p)) return p;
  throw std::runtime_error("NOAA weather.csv not found; pass --weather-csv (the repo ships tests/fixtures/noaa/weather.csv)");
}

int64_t unix_day(const std::string& date) {  // "YYYY-MM-DD" (UTC)
  int y = std::stoi(date.substr(0, 4)), m = std::stoi(date.substr(5, 2)), d = std::stoi(date.substr(8, 2));
  y -= m <= 2;
  const int era = y / 400, yoe = y - era * 400, doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return (static_cast<int64_t>(era) * 146097 + doe - 719468) * 86400;
}

void nowcasting(const Global& g, const Config& c, const std::string& name) {
  const std::string path = find_weather(c);
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // location,date,precipitation,temp_max,temp_min,wind,weather
  const std::vector<std::string> variables{"precipitation", "temp_max", "temp_min", "wind"};
  std::vector<v1::Observation> seattle, new_york;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    if (cells.size() < 6) continue;
    v1::Observation o;
    o.set_time(unix_day(cells[1]));
    for (size_t v = 0; v < variables.size(); ++v) (*o.mutable_values())[variables[v]] = std::stod(cells[2 + v]);
    if (cells[0] == "Seattle" && cells[1] < "2014") seattle.push_back(o);
    if (cells[0] == "New York" && cells[1] >= "2014") new_york.push_back(o);
  }
  std::vector<v1::Observation> all = seattle;
  all.insert(all.end(), new_york.begin(), new_york.end());
  std::cout << "  " << path << ": Seattle 2012-2013 (" << seattle.size() << " days), then New York 2014-2015 ("
            << new_york.size() << " days): the climate changes at day " << seattle.size() << "\n";

  auto stub = v1::NowcastService::NewStub(channel(g));
  {
    grpc::ClientContext ctx;
    prepare(ctx, g);
    v1::DeleteStreamRequest del;
    del.set_name(name);
    v1::DeleteStreamResponse r;
    stub->DeleteStream(&ctx, del, &r);  // a previous demo's stream, if any
  }
  v1::CreateStreamRequest create;
  auto* cfg = create.mutable_config();
  cfg->set_name(name);
  for (const auto& v : variables) cfg->add_variables(v);
  cfg->add_targets("temp_max");
  cfg->add_targets("wind");
  cfg->mutable_retrain()->set_trigger("performance");
  v1::NowcastStream stream_info;
  {
    grpc::ClientContext ctx;
    prepare(ctx, g);
    check(stub->CreateStream(&ctx, create, &stream_info));
  }
  grpc::ClientContext ctx;
  prepare(ctx, g, true);
  auto io = stub->Ingest(&ctx);
  ProgressBar bar("ingest", static_cast<int64_t>(all.size()));
  std::vector<std::string> events;
  for (size_t b = 0; b < all.size(); b += 32) {
    v1::IngestRequest req;
    req.set_stream(name);
    for (size_t i = b; i < std::min(all.size(), b + 32); ++i) *req.add_observations() = all[i];
    if (!io->Write(req)) break;
    v1::IngestResponse resp;
    if (!io->Read(&resp)) break;
    for (const auto& r : resp.results()) {
      for (const auto& d : r.drifts())
        events.push_back("  step " + std::to_string(d.step()) + ": drift detected by " + d.detector());
      for (const auto& f : r.retrain_finished())
        events.push_back("  step " + std::to_string(r.step()) + ": model v" + std::to_string(f.version()) +
                         " live (" + f.trigger() + ", window " + std::to_string(f.window()) + " days, " +
                         fixed(f.cpu_seconds() * 1000, 1) + " ms CPU)");
    }
    bar.update(resp.observations());
  }
  bar.finish();
  io->WritesDone();
  check(io->Finish());
  for (const auto& e : events) std::cout << e << "\n";
  v1::GetStreamRequest get;
  get.set_name(name);
  v1::NowcastStream s;
  {
    grpc::ClientContext c2;
    prepare(c2, g);
    check(stub->GetStream(&c2, get, &s));
  }
  Table t({"TARGET", "HORIZON", "FORECASTS", "MAE", "PERSISTENCE MAE", "SKILL"});
  for (const auto& h : s.horizons())
    t.row({h.target(), std::to_string(h.horizon()) + " d", std::to_string(h.count()), fixed(h.mae(), 3),
           fixed(h.persistence_mae(), 3), fixed(100 * h.skill(), 1) + "%"});
  t.print();
  std::cout << "  " << s.fits() << " fits for " << s.observations() << " observations: refits happen when the error\n"
            << "  drifts (performance) or the model grows stale (max_age), not every day as a periodic\n"
            << "  policy would; fits by trigger:";
  for (const auto& [trigger, n] : s.fits_by_trigger()) std::cout << " " << trigger << "=" << n;
  std::cout << "\n";
}

int cmd_demo(const Argv& argv) {
  auto flags = global_flags();
  flags.insert("short");
  auto opts = global_options();
  opts.insert({"fashion-dir", "weather-csv", "prefix"});
  Args a(argv, flags, opts);
  if (!a.positional().empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const Global g = global_from(a);
  Config c;
  c.short_mode = a.has("short");
  if (c.short_mode) {
    c.train_images = 2000;
    c.test_images = 384;
    c.epochs = 1;
  }
  c.fashion_dir = a.get_or("fashion-dir", c.fashion_dir);
  c.weather_csv = a.get_or("weather-csv", "");
  c.prefix = a.get_or("prefix", c.prefix);
  const std::string dataset = c.prefix + "-fmnist", model = c.prefix + "-cnn", stream = c.prefix + "-weather";

  std::cout << "attune demo against " << g.server << (c.short_mode ? " (short mode)" : "") << "\n";
  {
    auto health = grpc::health::v1::Health::NewStub(channel(g));
    grpc::ClientContext ctx;
    prepare(ctx, g);
    grpc::health::v1::HealthCheckResponse r;
    check(health->Check(&ctx, {}, &r));
    if (r.status() != grpc::health::v1::HealthCheckResponse::SERVING)
      throw std::runtime_error("the server is not SERVING");
  }
  heading(1, "Fashion-MNIST: " + std::to_string(c.train_images) + " real training images from " + c.fashion_dir);
  upload_fashion(g, c, dataset);
  heading(2, "Fine-tuning a CNN with EXAdam (a training job; the progress bar follows WatchJob)");
  const int64_t version = train_cnn(g, c, model, dataset);
  heading(3, "Test-time adaptation on corrupted test images: source vs EATA vs LAME");
  adaptation(g, c, model, version, dataset);
  heading(4, "Nowcasting NOAA daily weather with performance-based retraining");
  nowcasting(g, c, stream);
  heading(5, "Where to look");
  std::cout << "  Grafana: import deploy/grafana/attune.json (or `docker compose -f deploy/compose.yaml up`)\n"
            << "    Training row     loss, learning rate and steps/s of job on " << model << "\n"
            << "    Adaptation row   used vs filtered samples by method, prediction entropy\n"
            << "    Nowcasting row   error by horizon, drift statistic vs threshold, retrains by trigger\n"
            << "  Prometheus (the server's /metrics):\n"
            << "    attune_train_loss{model=\"" << model << "\"}\n"
            << "    sum by (method, decision) (attune_adapt_samples_total)\n"
            << "    attune_retrain_total{stream=\"" << stream << "\"}\n"
            << "  CLI: attune jobs list | attune models get " << model << " | attune nowcast status " << stream << "\n";
  return 0;
}

}  // namespace

const RegisterCommand kRegister("demo", cmd_demo, "a guided tour on real data (train, adapt, nowcast)", 5);

}  // namespace attune::cli
