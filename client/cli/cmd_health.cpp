// attune health [--service NAME] [--watch]
#include <iostream>

#include "args.h"
#include "commands.h"
#include "connection.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace attune::cli {

namespace {
int cmd_health(const Argv& argv) {
  auto flags = global_flags();
  flags.insert("watch");
  auto opts = global_options();
  opts.insert("service");
  Args a(argv, flags, opts);
  const Global g = global_from(a);
  auto stub = grpc::health::v1::Health::NewStub(channel(g));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(a.get_or("service", ""));
  const std::string label = req.service().empty() ? "server" : req.service();
  using Resp = grpc::health::v1::HealthCheckResponse;
  if (a.has("watch")) {
    grpc::ClientContext ctx;
    prepare(ctx, g, true);
    auto reader = stub->Watch(&ctx, req);
    Resp r;
    while (reader->Read(&r))
      std::cout << label << ": " << Resp::ServingStatus_Name(r.status()) << std::endl;
    check(reader->Finish());
    return 0;
  }
  grpc::ClientContext ctx;
  prepare(ctx, g);
  Resp r;
  check(stub->Check(&ctx, req, &r));
  if (g.json)
    std::cout << "{\"service\": \"" << req.service() << "\", \"status\": \""
              << Resp::ServingStatus_Name(r.status()) << "\"}\n";
  else
    std::cout << label << ": " << Resp::ServingStatus_Name(r.status()) << "\n";
  return r.status() == Resp::SERVING ? 0 : 1;
}

}  // namespace

const RegisterCommand kRegister("health", cmd_health, "[--service S] [--watch]: grpc.health.v1 status", 90);

}  // namespace attune::cli
