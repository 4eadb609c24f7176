// attune-server: hosts, trains and adapts LibTorch models over gRPC.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <thread>

#include "core/config.h"
#include "core/log.h"
#include "core/memory.h"
#include "rpc/server.h"
#include "rpc/train_worker.h"

int main(int argc, char** argv) {
  // Signals are taken synchronously by one thread; every thread started later inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  attune::ServerConfig cfg;
  try {
    bool help = false;
    cfg = attune::parse_config(argc, argv, &help);
    if (help) {
      std::cout << attune::usage();
      return 0;
    }
    attune::log::set_level(attune::log::parse_level(cfg.log_level));
  } catch (const std::exception& e) {
    std::cerr << "attune-server: " << e.what() << "\n(run attune-server --help for every option)\n";
    return 2;
  }
  const int threads = cfg.threads > 0 ? cfg.threads : attune::available_cpus();
  torch::set_num_threads(threads);
  LOG_INFO("LibTorch intra-op threads: " << threads << "; allocator: " << attune::allocator_name());

  if (cfg.worker) {
    // A worker rank of distributed training jobs: SIGTERM/SIGINT stop it after the current step.
    attune::rpc::TrainWorker worker(cfg);
    try {
      worker.start();
    } catch (const std::exception& e) {
      LOG_ERROR("cannot start: " << e.what());
      return 1;
    }
    std::atomic<bool> done{false};
    std::thread signal_thread([&] {
      int sig = 0;
      while (sigwait(&signals, &sig) != 0 || sig == SIGHUP) {
      }
      if (done) return;
      LOG_INFO((sig == SIGTERM ? "SIGTERM" : "SIGINT") << " received: leaving after the current step");
      worker.stop();
    });
    const int code = worker.run();
    // run() also ends on its own (--worker-jobs): wake the signal thread.
    done = true;
    pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
    return code;
  }

  attune::rpc::Server server(cfg);
  try {
    server.start();
  } catch (const std::exception& e) {
    LOG_ERROR("cannot start: " << e.what());
    return 1;
  }
  std::thread signal_thread([&] {
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGHUP) {
        LOG_INFO("SIGHUP received: reloading the token file");
        server.reload();
        continue;
      }
      LOG_INFO((sig == SIGTERM ? "SIGTERM" : "SIGINT") << " received");
      server.shutdown();
      return;
    }
  });
  server.wait();
  signal_thread.join();
  return 0;
}
