#include "dist/process_group.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <sstream>
#include <thread>

namespace attune::dist {
namespace {

using Clock = std::chrono::steady_clock;

// c10::Error's what() carries a C++ backtrace; the job error wants the first line.
std::string one_line(const std::exception& e) {
  std::string m;
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) m = c->what_without_backtrace();
  else m = e.what();
  if (const auto nl = m.find('\n'); nl != std::string::npos) m.resize(nl);
  return m;
}

std::string rank_key(int r) { return "joined/" + std::to_string(r); }

}  // namespace

struct StoreServer::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

StoreServer::StoreServer(const std::string& host, int port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(port);
  o.isServer = true;
  o.waitWorkers = false;  // Group::join counts ranks itself, abortably
  o.timeout = timeout;
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>(host, o);
  } catch (const std::exception& e) {
    throw CollectiveError("cannot start the rendezvous store on port " + std::to_string(port) + ": " + one_line(e));
  }
}

StoreServer::~StoreServer() = default;

int StoreServer::port() const { return impl_->store->getPort(); }

struct Group::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
};

Group::Group(std::unique_ptr<Impl> impl, int rank, int size, std::chrono::milliseconds timeout)
    : impl_(std::move(impl)), rank_(rank), size_(size), timeout_(timeout) {}

Group::~Group() {
  // Destroying the Gloo group joins its threads; pending work has completed or failed by now
  // (every wait is bounded by the context timeout).
  impl_->pg.reset();
}

std::unique_ptr<Group> Group::join(const GroupOptions& o) {
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size)
    throw std::invalid_argument("rank " + std::to_string(o.rank) + " outside world size " + std::to_string(o.world_size));
  const auto deadline = Clock::now() + o.join_timeout;
  auto impl = std::make_unique<Impl>();
  c10::intrusive_ptr<c10d::Store> tcp;
  try {
    c10d::TCPStoreOptions c;
    c.port = static_cast<std::uint16_t>(o.store_port);
    c.isServer = false;
    // c10d rounds the connect timeout down to whole seconds (0 fails at once); the join loop
    // below keeps the caller's deadline.
    c.timeout = std::max<std::chrono::milliseconds>(o.join_timeout, std::chrono::seconds(1));
    tcp = c10::make_intrusive<c10d::TCPStore>(o.store_host, c);
  } catch (const std::exception& e) {
    throw CollectiveError("cannot reach the rendezvous store at " + o.store_host + ":" +
                          std::to_string(o.store_port) + ": " + one_line(e));
  }
  impl->store = c10::make_intrusive<c10d::PrefixStore>(o.prefix, tcp);
  std::vector<std::string> keys;
  for (int r = 0; r < o.world_size; ++r) keys.push_back(rank_key(r));
  try {
    impl->store->set(rank_key(o.rank), std::vector<uint8_t>{1});
    int last = -1;
    for (;;) {
      int joined = 0;
      for (const auto& k : keys) joined += impl->store->check({k}) ? 1 : 0;
      if (joined != last && o.on_joined) o.on_joined(joined);
      last = joined;
      if (joined == o.world_size) break;
      if (o.abort && o.abort()) throw JoinAborted("stopped while waiting for ranks");
      if (Clock::now() > deadline) {
        std::ostringstream missing;
        for (int r = 0; r < o.world_size; ++r)
          if (!impl->store->check({rank_key(r)})) missing << (missing.tellp() > 0 ? ", " : "") << r;
        throw CollectiveError("only " + std::to_string(joined) + " of " + std::to_string(o.world_size) +
                              " ranks joined within " + std::to_string(o.join_timeout.count() / 1000) +
                              " s (missing rank(s) " + missing.str() + ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  } catch (const JoinAborted&) {
    throw;
  } catch (const CollectiveError&) {
    throw;
  } catch (const std::exception& e) {
    throw CollectiveError("rendezvous store failed: " + one_line(e));
  }
  try {
    auto options = c10d::ProcessGroupGloo::Options::create(o.timeout);
    options->devices.push_back(o.device_host.empty()
                                   ? c10d::ProcessGroupGloo::createDefaultDevice()
                                   : c10d::ProcessGroupGloo::createDeviceForHostname(o.device_host));
    options->threads = o.threads;
    impl->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, o.rank, o.world_size, options);
  } catch (const std::exception& e) {
    throw CollectiveError("cannot form the Gloo group: " + one_line(e));
  }
  return std::unique_ptr<Group>(new Group(std::move(impl), o.rank, o.world_size, o.timeout));
}

void Group::allreduce_sum(std::vector<torch::Tensor>& tensors, const char* what) {
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  std::vector<std::vector<at::Tensor>> args;
  args.reserve(tensors.size());
  std::string error;
  try {
    for (auto& t : tensors) {
      args.push_back({t});
      works.push_back(impl_->pg->allreduce(args.back()));
    }
  } catch (const std::exception& e) {
    error = one_line(e);
  }
  // Wait for everything launched, even after a failure, so no work still references `args`.
  for (auto& w : works) {
    try {
      w->wait();
    } catch (const std::exception& e) {
      if (error.empty()) error = one_line(e);
    }
  }
  if (!error.empty()) throw CollectiveError(std::string(what) + " failed: " + error);
}

void Group::allreduce_sum(torch::Tensor tensor, const char* what) {
  std::vector<torch::Tensor> one{std::move(tensor)};
  allreduce_sum(one, what);
}

void Group::broadcast(torch::Tensor tensor, int root, const char* what) {
  std::vector<at::Tensor> args{std::move(tensor)};
  c10d::BroadcastOptions opts;
  opts.rootRank = root;
  try {
    impl_->pg->broadcast(args, opts)->wait();
  } catch (const std::exception& e) {
    throw CollectiveError(std::string(what) + " failed: " + one_line(e));
  }
}

std::vector<int64_t> Group::allgather(int64_t value, const char* what) {
  // A sum of one-hot slots is exact in int64 and needs no allgather output lists.
  auto slots = torch::zeros({size_}, torch::kInt64);
  slots[rank_] = value;
  allreduce_sum(slots, what);
  const auto* p = slots.data_ptr<int64_t>();
  return std::vector<int64_t>(p, p + size_);
}

int64_t fingerprint(const std::vector<torch::Tensor>& tensors) {
  uint64_t h = 1469598103934665603ull;
  for (const auto& t : tensors) {
    const auto c = t.detach().contiguous();
    const auto* p = static_cast<const uint8_t*>(c.data_ptr());
    const size_t n = static_cast<size_t>(c.numel()) * c.element_size();
    for (size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 1099511628211ull;
    }
  }
  return static_cast<int64_t>(h);
}

}  // namespace attune::dist
