#include "train/coordinator.h"

#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "dist/process_group.h"

namespace attune::train {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kClosedKept = 16;

}  // namespace

struct Coordinator::Attempt {
  struct Slot {
    enum State { kFree, kClaimed, kLeft } state = kFree;
    std::string worker;
    std::string report;  // the worker's own error
  };
  Assignment base;
  std::filesystem::path checkpoint_dir;
  std::shared_ptr<const Dataset> data;
  Note note;
  std::unique_ptr<dist::StoreServer> store;
  std::vector<Slot> slots;  // by rank; slot 0 is rank 0 itself
  bool formed = false;
  bool closed = false;
  std::string outcome;
};

Coordinator::Coordinator(CoordinatorOptions options) : options_(std::move(options)) {}

Coordinator::~Coordinator() = default;

std::shared_ptr<Coordinator::Attempt> Coordinator::open(Assignment base, std::filesystem::path checkpoint_dir,
                                                        std::shared_ptr<const Dataset> data, Note note) {
  auto a = std::make_shared<Attempt>();
  a->store = std::make_unique<dist::StoreServer>("127.0.0.1", options_.store_port, options_.join_timeout);
  base.store_host = options_.advertise_host;
  base.store_port = a->store->port();
  base.timeout_seconds = std::chrono::duration<double>(options_.timeout).count();
  base.join_timeout_seconds = std::chrono::duration<double>(options_.join_timeout).count();
  base.bucket_bytes = options_.bucket_bytes;
  a->checkpoint_dir = std::move(checkpoint_dir);
  a->data = std::move(data);
  a->note = std::move(note);
  a->slots.resize(static_cast<size_t>(base.world_size));
  a->slots[0].state = Attempt::Slot::kClaimed;
  a->slots[0].worker = "this server";
  {
    std::lock_guard<std::mutex> lock(mu_);
    base.attempt = next_attempt_++;
    base.prefix = base.job + "/" + std::to_string(base.attempt);
    a->base = std::move(base);
    attempts_.push_back(a);
  }
  cv_.notify_all();
  LOG_INFO("job " << a->base.job << " attempt " << a->base.attempt << ": waiting for "
                  << a->base.world_size - 1 << " worker rank(s); rendezvous store on port " << a->base.store_port);
  return a;
}

Assignment Coordinator::assignment(const std::shared_ptr<Attempt>& a) const {
  std::lock_guard<std::mutex> lock(mu_);
  return a->base;
}

void Coordinator::formed(const std::shared_ptr<Attempt>& a) {
  std::lock_guard<std::mutex> lock(mu_);
  a->formed = true;
}

void Coordinator::close(const std::shared_ptr<Attempt>& a, const std::string& outcome) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (a->closed) return;
    a->closed = true;
    a->outcome = outcome;
    size_t closed = 0;
    for (const auto& x : attempts_) closed += x->closed ? 1 : 0;
    for (auto it = attempts_.begin(); closed > kClosedKept && it != attempts_.end();) {
      if ((*it)->closed) {
        it = attempts_.erase(it);
        --closed;
      } else {
        ++it;
      }
    }
  }
  cv_.notify_all();
  // The store outlives every rank's use of it: the group is gone by now.
  a->store.reset();
}

std::string Coordinator::explain(const std::shared_ptr<Attempt>& a, const std::string& what,
                                 std::chrono::milliseconds grace) {
  if (!a) return what;
  std::unique_lock<std::mutex> lock(mu_);
  auto news = [&] {
    for (const auto& s : a->slots)
      if (s.state == Attempt::Slot::kLeft || !s.report.empty()) return true;
    return false;
  };
  if (a->formed) cv_.wait_for(lock, grace, news);
  std::ostringstream o;
  for (size_t r = 1; r < a->slots.size(); ++r) {
    const auto& s = a->slots[r];
    if (!s.report.empty())
      o << "rank " << r << " (" << s.worker << ") failed: " << s.report << "; ";
    else if (s.state == Attempt::Slot::kLeft)
      o << "rank " << r << " (" << s.worker << ") left: its session with rank 0 closed; ";
  }
  if (o.tellp() == 0 && a->formed)
    o << "no rank reported leaving, so one stopped responding (collective timeout "
      << static_cast<int64_t>(a->base.timeout_seconds) << " s); ";
  if (!a->formed) {
    int joined = 0;
    for (const auto& s : a->slots) joined += s.state == Attempt::Slot::kClaimed ? 1 : 0;
    o << joined << " of " << a->slots.size() << " ranks had claimed their slot (start worker ranks with "
      << "`attune-server --worker --coordinator <this server's address>`); ";
  }
  return o.str() + what;
}

std::optional<Assignment> Coordinator::claim(int rank, const std::string& worker, std::chrono::milliseconds wait) {
  if (rank == 0)
    throw InvalidArgument("rank: 0 is the server that owns the job; workers are ranks 1..world_size-1 (or -1 for any)");
  if (rank < -1) throw InvalidArgument("rank: expected -1 (any) or >= 1, received " + std::to_string(rank));
  std::unique_lock<std::mutex> lock(mu_);
  std::optional<Assignment> out;
  auto try_claim = [&] {
    for (const auto& a : attempts_) {
      if (a->closed || a->formed) continue;
      for (size_t r = 1; r < a->slots.size(); ++r) {
        auto& s = a->slots[r];
        if (s.state == Attempt::Slot::kClaimed || (rank > 0 && static_cast<int>(r) != rank)) continue;
        s.state = Attempt::Slot::kClaimed;
        s.worker = worker;
        s.report.clear();
        out = a->base;
        out->rank = static_cast<int>(r);
        if (a->note) a->note("rank " + std::to_string(r) + " claimed by worker " + worker);
        return true;
      }
    }
    return false;
  };
  cv_.wait_for(lock, wait, try_claim);
  return out;
}

void Coordinator::left(const std::string& job, int64_t attempt, int rank) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto a = find_locked(job, attempt);
    if (!a || rank <= 0 || rank >= static_cast<int>(a->slots.size()) || a->closed) return;
    auto& s = a->slots[static_cast<size_t>(rank)];
    // Before the group forms the slot can go to another worker.
    s.state = a->formed ? Attempt::Slot::kLeft : Attempt::Slot::kFree;
    LOG_WARN("job " << job << " attempt " << attempt << ": rank " << rank << " (" << s.worker << ") left"
                    << (a->formed ? "" : " before the group formed; the slot is free again"));
    if (a->note) a->note("rank " + std::to_string(rank) + " (" + s.worker + ") left");
  }
  cv_.notify_all();
}

void Coordinator::report(const std::string& job, int64_t attempt, int rank, const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto a = find_locked(job, attempt);
    if (!a || rank <= 0 || rank >= static_cast<int>(a->slots.size())) return;
    a->slots[static_cast<size_t>(rank)].report = message;
  }
  cv_.notify_all();
}

std::optional<std::string> Coordinator::wait_closed(const std::string& job, int64_t attempt,
                                                    std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  auto a = find_locked(job, attempt);
  if (!a) throw NotFound("job " + job + " attempt " + std::to_string(attempt) + " is not running here");
  cv_.wait_for(lock, wait, [&] { return a->closed; });
  if (a->closed) return a->outcome;
  return std::nullopt;
}

std::filesystem::path Coordinator::checkpoint_dir(const std::string& job, int64_t attempt) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto a = find_locked(job, attempt);
  if (!a || a->closed) throw NotFound("job " + job + " attempt " + std::to_string(attempt) + " is not running here");
  return a->checkpoint_dir;
}

std::shared_ptr<const Dataset> Coordinator::dataset(const std::string& job, int64_t attempt, int64_t* rows) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto a = find_locked(job, attempt);
  if (!a || a->closed) throw NotFound("job " + job + " attempt " + std::to_string(attempt) + " is not running here");
  *rows = a->base.train_rows;
  return a->data;
}

std::shared_ptr<Coordinator::Attempt> Coordinator::find_locked(const std::string& job, int64_t attempt) const {
  for (const auto& a : attempts_)
    if (a->base.job == job && a->base.attempt == attempt) return a;
  return nullptr;
}

}  // namespace attune::train
