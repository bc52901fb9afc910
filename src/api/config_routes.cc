// /api/v1/config (the configuration in force, secrets redacted; a check of the one on
// disk), /api/v1/storage (the store and its health) and /api/v1/reconcile.

#include <chrono>

#include "api/server_state.h"
#include "broker/broker_records.h"

namespace orb::api {

void AddConfigRoutes(ServerState& state) {
  state.Add("GET", "/api/v1/config", Role::kAdmin,
            [&state](const httplib::Request&, httplib::Response& res) {
              state.Guard(res, [&] {
                std::shared_ptr<const Config> config = state.config();
                json settings = json::array();
                for (json& r : SettingRecords(*config)) settings.push_back(std::move(r));
                Reply(res, 200, json{{"files", config->files()}, {"settings", settings}});
              });
            });
  // The configuration as a reload (SIGHUP) would read it now, checked, not applied.
  state.Add("POST", "/api/v1/config/validate", Role::kAdmin,
            [&state](const httplib::Request&, httplib::Response& res) {
              state.Guard(res, [&] {
                const Config fresh = LoadConfig(state.config_inputs());
                Reply(res, 200, ConfigCheckRecord(fresh));
              });
            });
}

void AddStorageRoutes(ServerState& state) {
  state.Add("GET", "/api/v1/storage", Role::kViewer,
            [&state](const httplib::Request&, httplib::Response& res) {
              state.Guard(res, [&] {
                Reply(res, 200, StoreInfoRecord(state.ThreadBroker().store().Info()));
              });
            });
  state.Add("GET", "/api/v1/storage/health", Role::kViewer,
            [&state](const httplib::Request&, httplib::Response& res) {
              state.Guard(res, [&] {
                Store& store = state.ThreadBroker().store();
                const auto start = std::chrono::steady_clock::now();
                try {
                  store.CheckHealth();
                } catch (const Error& e) {
                  return ReplyError(res, 503, "store_error", e.what());
                }
                const double ms = std::chrono::duration<double, std::milli>(
                                      std::chrono::steady_clock::now() - start)
                                      .count();
                const StoreInfo info = store.Info();
                Reply(res, 200, json{{"status", "ok"},
                                     {"strategy", info.strategy},
                                     {"location", info.location},
                                     {"latency_ms", static_cast<long long>(ms * 1000) / 1000.0}});
              });
            });
}

void AddReconcileRoutes(ServerState& state) {
  state.Add("POST", "/api/v1/reconcile", Role::kAdmin,
            [&state](const httplib::Request& req, httplib::Response& res) {
              state.Guard(res, [&] {
                const bool dry_run = BoolParam(req, "dry_run");
                ReconcileReport report;
                try {
                  report = state.ThreadBroker().Reconcile(dry_run);
                } catch (const std::exception&) {
                  if (!dry_run) state.metrics().CountReconcileFailure();
                  throw;
                }
                json actions = json::array();
                for (const ReconcileAction& a : report.actions) {
                  actions.push_back(ReconcileActionRecord(a));
                }
                if (!dry_run) state.CountReconcile(report);
                Reply(res, 200, json{{"dry_run", report.dry_run},
                                     {"instances_seen", report.instances_seen},
                                     {"actions", actions},
                                     {"requests_abandoned", report.requests_abandoned},
                                     {"open_requests", report.open_requests},
                                     {"requests_ended", report.requests_ended}});
              });
            });
}

}  // namespace orb::api
