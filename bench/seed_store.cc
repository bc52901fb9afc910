// Fills an orb store with completed acquire requests and their running machines, for
// the server benchmark (bench/serve_bench.sh): nothing in them needs the cloud, so the
// timings are orb's own. Prints the request ids, one per line.
//
// Usage: seed_store DB_PATH REQUESTS MACHINES_PER_REQUEST

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "common/clock.h"
#include "common/uuid.h"
#include "store/sqlite_store.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: seed_store DB_PATH REQUESTS MACHINES_PER_REQUEST\n";
    return 2;
  }
  const int requests = std::atoi(argv[2]), per_request = std::atoi(argv[3]);
  orb::SqliteStore store(argv[1], 10000);
  const orb::EpochSeconds now = orb::NowSeconds();
  int serial = 0;
  store.Transaction([&] {
    for (int i = 0; i < requests; ++i) {
      orb::Request r;
      r.request_id = "req-" + orb::NewUuid();
      r.template_id = "OnDemand-Micro";
      r.provider_name = "awsinst";
      r.requested_count = per_request;
      r.status = orb::RequestStatus::kComplete;
      r.launch_state = orb::LaunchState::kSettled;
      r.created_at = r.updated_at = r.acknowledged_at = now - 3600;
      store.InsertRequest(r);
      for (int m = 0; m < per_request; ++m) {
        char id[32];
        std::snprintf(id, sizeof id, "i-%017x", ++serial);
        orb::Machine machine;
        machine.machine_id = id;
        machine.name = std::string("ip-10-0-") + std::to_string(serial / 250) + "-" +
                       std::to_string(serial % 250) + ".ec2.internal";
        machine.private_ip = "10.0." + std::to_string(serial / 250) + "." + std::to_string(serial % 250);
        machine.request_id = r.request_id;
        machine.template_id = r.template_id;
        machine.provider_name = r.provider_name;
        machine.instance_type = "t3.micro";
        machine.price_type = "ondemand";
        machine.state = orb::MachineState::kRunning;
        machine.acquire_result = orb::MachineResult::kSucceed;
        machine.launch_time = machine.created_at = machine.updated_at = now - 3600;
        store.InsertMachine(machine);
      }
      std::cout << r.request_id << "\n";
    }
  });
  return 0;
}
