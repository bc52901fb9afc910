// Micro benchmarks of the work every HostFactory call repeats: reading the
// templates file, deciding statuses, and reading the store.

#include <benchmark/benchmark.h>

#include <filesystem>

#include "config/template_loader.h"
#include "model/request.h"
#include "store/store.h"

namespace orb {
namespace {

void BM_LoadExampleTemplates(benchmark::State& state) {
  const std::string file = std::string(ORB_SOURCE_DIR) + "/examples/awsinst/awsinstprov_templates.json";
  for (auto _ : state) benchmark::DoNotOptimize(LoadTemplatesFile(file));
}
BENCHMARK(BM_LoadExampleTemplates);

void BM_DecideRequestStatus(benchmark::State& state) {
  std::vector<MachineResult> results(static_cast<std::size_t>(state.range(0)));
  for (std::size_t i = 0; i < results.size(); ++i) {
    results[i] = i % 7 ? MachineResult::kSucceed : MachineResult::kExecuting;
  }
  for (auto _ : state) {
    RequestProgress p;
    p.requested_units = static_cast<int>(results.size());
    for (MachineResult r : results) Tally(p, r, 1);
    benchmark::DoNotOptimize(DecideRequestStatus(RequestKind::kAcquire, RequestStatus::kRunning, p));
  }
}
BENCHMARK(BM_DecideRequestStatus)->Arg(10)->Arg(5000);

// Machines of one request among `range(0)` requests of 10 machines each.
void BM_StoreMachinesOfRequest(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / "orb-bench-store";
  std::filesystem::remove_all(dir);
  StoreOptions options;
  options.path = (dir / "orb.db").string();
  auto store = OpenStore(options);
  std::string some_request;
  store->Transaction([&] {
    for (int r = 0; r < state.range(0); ++r) {
      Request req;
      req.request_id = NewRequestId(RequestKind::kAcquire);
      req.template_id = "T";
      store->InsertRequest(req);
      for (int m = 0; m < 10; ++m) {
        Machine machine;
        machine.machine_id = "i-" + std::to_string(r) + "-" + std::to_string(m);
        machine.request_id = req.request_id;
        store->InsertMachine(machine);
      }
      some_request = req.request_id;
    }
  });
  MachineQuery q;
  q.request_id = some_request;
  for (auto _ : state) benchmark::DoNotOptimize(store->ListMachines(q));
  store.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_StoreMachinesOfRequest)->Arg(1000)->Arg(10000);

}  // namespace
}  // namespace orb

BENCHMARK_MAIN();
