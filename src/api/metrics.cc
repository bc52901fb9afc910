#include "api/metrics.h"

#include <mutex>
#include <sstream>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "orb/version.h"

namespace orb::api {

namespace {

// Latency buckets from half a millisecond (a status answered from the store) to 30 s
// (an AWS call retried through throttling).
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

}  // namespace

struct Metrics::Impl {
  prometheus::Registry registry;
  prometheus::Family<prometheus::Counter>& http_calls =
      prometheus::BuildCounter()
          .Name("orb_http_requests_total")
          .Help("HTTP calls answered, by method, route and status")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& http_latency =
      prometheus::BuildHistogram()
          .Name("orb_http_request_duration_seconds")
          .Help("time to answer an HTTP call, by method and route")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& aws_calls =
      prometheus::BuildCounter()
          .Name("orb_aws_calls_total")
          .Help("AWS calls ended, by service, action and outcome (ok or the error code)")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& aws_throttles =
      prometheus::BuildCounter()
          .Name("orb_aws_throttles_total")
          .Help("AWS answers asking orb to slow down, by service and action")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& aws_latency =
      prometheus::BuildHistogram()
          .Name("orb_aws_call_duration_seconds")
          .Help("time of an AWS call including retries and pacing, by service and action")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& reconcile_actions =
      prometheus::BuildCounter()
          .Name("orb_reconciler_actions_total")
          .Help("reconciler actions: adopt, terminate, keep, abandon")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& reconcile_passes =
      prometheus::BuildCounter()
          .Name("orb_reconciler_passes_total")
          .Help("reconciler passes, by result (ok or failed)")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& requests =
      prometheus::BuildGauge()
          .Name("orb_requests")
          .Help("requests in the store, by kind and status")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& machines =
      prometheus::BuildGauge()
          .Name("orb_machines")
          .Help("machines in the store, by state")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& stream_clients =
      prometheus::BuildGauge()
          .Name("orb_event_stream_clients")
          .Help("server-sent-event streams connected now")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& build_info =
      prometheus::BuildGauge()
          .Name("orb_build_info")
          .Help("the orb version serving, always 1")
          .Register(registry);
  std::mutex render_mu;  // one scrape at a time refreshes the store gauges
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {
  impl_->build_info.Add({{"version", ORB_VERSION}}).Set(1);
  impl_->stream_clients.Add({}).Set(0);
  impl_->reconcile_passes.Add({{"result", "ok"}});
  impl_->reconcile_passes.Add({{"result", "failed"}});
}

Metrics::~Metrics() = default;

void Metrics::CountHttp(const std::string& method, const std::string& route, int status,
                        double seconds) {
  impl_->http_calls.Add({{"method", method}, {"route", route}, {"status", std::to_string(status)}})
      .Increment();
  impl_->http_latency.Add({{"method", method}, {"route", route}}, LatencyBuckets())
      .Observe(seconds);
}

void Metrics::CountAwsCall(const AwsCallRecord& call) {
  impl_->aws_calls
      .Add({{"service", call.service}, {"action", call.action}, {"outcome", call.outcome}})
      .Increment();
  if (call.throttled > 0) {
    impl_->aws_throttles.Add({{"service", call.service}, {"action", call.action}})
        .Increment(call.throttled);
  }
  impl_->aws_latency.Add({{"service", call.service}, {"action", call.action}}, LatencyBuckets())
      .Observe(call.seconds);
}

void Metrics::CountReconcile(const ReconcileReport& report) {
  impl_->reconcile_passes.Add({{"result", "ok"}}).Increment();
  for (const ReconcileAction& a : report.actions) {
    impl_->reconcile_actions.Add({{"action", a.action}}).Increment();
  }
}

void Metrics::CountReconcileFailure() {
  impl_->reconcile_passes.Add({{"result", "failed"}}).Increment();
}

void Metrics::AddStreamClients(int delta) { impl_->stream_clients.Add({}).Increment(delta); }

std::string Metrics::Render(Store& store) {
  std::lock_guard<std::mutex> lock(impl_->render_mu);
  const StoreTally tally = store.Tally();
  // Zero first: a state no row is in any more reads 0, not its last count.
  for (auto* family : {&impl_->requests, &impl_->machines}) {
    for (const auto& fam : family->Collect()) {
      for (const auto& metric : fam.metric) {
        prometheus::Labels labels;
        for (const auto& l : metric.label) labels[l.name] = l.value;
        family->Add(labels).Set(0);
      }
    }
  }
  for (const auto& [key, n] : tally.requests) {
    impl_->requests.Add({{"kind", key.first}, {"status", key.second}}).Set(static_cast<double>(n));
  }
  for (const auto& [state, n] : tally.machines) {
    impl_->machines.Add({{"state", state}}).Set(static_cast<double>(n));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, impl_->registry.Collect());
  return out.str();
}

}  // namespace orb::api
