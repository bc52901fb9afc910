#pragma once

// The Prometheus metrics of `orb serve` (GET /metrics, text format 0.0.4), kept with
// prometheus-cpp: HTTP calls by route and status with latency, AWS calls by API and
// outcome with throttles and latency, reconciler actions, event-stream clients, and,
// read from the store at each scrape, requests by kind and status and machines by
// state. Every method is thread-safe.

#include <memory>
#include <string>

#include "broker/broker.h"
#include "provider/aws/aws_call_observer.h"

namespace orb::api {

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One HTTP call answered: `route` is the route's path template ("unmatched" for
  // none), so the label set stays bounded whatever clients ask for.
  void CountHttp(const std::string& method, const std::string& route, int status,
                 double seconds);

  // One AWS call ended (the AwsCallObserver of the server).
  void CountAwsCall(const AwsCallRecord& call);

  // One reconciler pass: its actions by kind; `failed` when it threw.
  void CountReconcile(const ReconcileReport& report);
  void CountReconcileFailure();

  // Event-stream clients connected now (+1 on connect, -1 on leave).
  void AddStreamClients(int delta);

  // The text exposition, the store's tallies read now through `store`.
  std::string Render(Store& store);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orb::api
