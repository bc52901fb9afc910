#include "support/fault_proxy.h"

// Debian's cpp-httplib is a compiled library built with OpenSSL support, which
// changes the layout of its classes: declare the same here.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

namespace orb::testing {

namespace {

// The connection worker threads of the proxy's server; kept-alive client
// connections each hold one.
constexpr size_t kServerThreads = 32;

// Request headers not passed on upstream: hop-by-hop ones, and those cpp-httplib
// adds itself (the body's length and type, the peer's address).
bool IsSkippedRequestHeader(const std::string& name) {
  static const std::set<std::string> kSkipped = {
      "connection",  "keep-alive",  "content-length",  "transfer-encoding", "content-type",
      "remote_addr", "remote_port", "local_addr",      "local_port",        "expect",
      "te",          "upgrade",     "proxy-connection"};
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  return kSkipped.count(lower) > 0;
}

bool IsSkippedResponseHeader(const std::string& name) {
  static const std::set<std::string> kSkipped = {
      "connection", "keep-alive", "content-length", "transfer-encoding", "content-type",
      "server",     "date"};
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  return kSkipped.count(lower) > 0;
}

std::string FormDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The parameters of a form-encoded body, sorted by name.
std::multimap<std::string, std::string> ParseForm(std::string_view body) {
  std::multimap<std::string, std::string> out;
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    out.emplace(FormDecode(pair.substr(0, eq)),
                eq == std::string_view::npos ? "" : FormDecode(pair.substr(eq + 1)));
  }
  return out;
}

int PortOf(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  }
  return -1;
}

// Closes, without an answer, the accepted connection between our `local_port` and
// the client's `remote_port`: finds its socket among this process's descriptors
// and shuts it down, so the client reads end-of-stream before any answer byte.
bool ShutdownConnection(int local_port, int remote_port) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return false;
  bool done = false;
  while (dirent* entry = readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    sockaddr_storage local{}, peer{};
    socklen_t local_len = sizeof(local), peer_len = sizeof(peer);
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
        getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
      continue;
    }
    if (PortOf(local) == local_port && PortOf(peer) == remote_port) {
      ::shutdown(static_cast<int>(fd), SHUT_RDWR);
      done = true;
      break;
    }
  }
  closedir(dir);
  return done;
}

// What kind of answer a call gets (the protocol decides the error shape).
enum class Protocol { kEc2Query, kOtherQuery, kJson };

std::string ErrorBody(Protocol protocol, const std::string& code, const std::string& message,
                      const std::string& request_id) {
  switch (protocol) {
    case Protocol::kEc2Query:
      return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>" + code +
             "</Code><Message>" + message + "</Message></Error></Errors><RequestID>" + request_id +
             "</RequestID></Response>";
    case Protocol::kOtherQuery:
      return "<ErrorResponse><Error><Type>Sender</Type><Code>" + code + "</Code><Message>" +
             message + "</Message></Error><RequestId>" + request_id +
             "</RequestId></ErrorResponse>";
    case Protocol::kJson:
      return "{\"__type\":\"com.amazonaws#" + code + "\",\"message\":\"" + message + "\"}";
  }
  return "";
}

// A recorded answer of a call that carried a ClientToken.
struct Recorded {
  std::string fingerprint;  // the call's parameters
  int status = 0;
  std::string content_type;
  httplib::Headers headers;
  std::string body;
};

}  // namespace

struct FaultProxy::Impl {
  std::string upstream;
  std::unique_ptr<httplib::Server> server;  // null while refusing connections
  std::thread thread;
  int port = 0;
  std::mutex listen_mu;  // serialises Listen/StopListening

  mutable std::mutex mu;
  std::condition_variable cv;
  FaultPlan plan;
  std::vector<FaultPhase> schedule;  // empty: `plan` applies
  bool repeat = false;
  std::chrono::steady_clock::time_point schedule_start;
  long long phase_key = -1;  // the phase whose seed the generator last took
  std::function<void(const SeenCall&)> observer;
  std::map<std::size_t, int> refusal_matches;  // calls each refusal of `plan` matched
  std::mt19937 rng;
  std::vector<SeenCall> seen;  // every call since the start
  size_t seen_from = 0;        // seen() reports calls from this index on (ClearSeen)
  long long next_id = 0;
  // AWS's idempotency record, by (Action, ClientToken), and the keys of calls
  // being forwarded right now (a repeat waits for the first to finish).
  std::map<std::pair<std::string, std::string>, Recorded> records;
  std::set<std::pair<std::string, std::string>> in_flight;
  // Auto Scaling groups created through the proxy and not deleted since: AWS refuses
  // a second group of the same name (AlreadyExists), which moto instead replaces.
  std::set<std::string> groups;

  void Handle(const httplib::Request& req, httplib::Response& res);
  FaultPlan CurrentPlanLocked();
  void Listen(int on_port);
  void StopListening();
  void Answer(httplib::Response& res, Protocol protocol, int status, const std::string& code,
              const std::string& message);

};

FaultPlan FaultProxy::Impl::CurrentPlanLocked() {
  if (schedule.empty()) return plan;
  using std::chrono::milliseconds;
  long long total = 0;
  for (const FaultPhase& p : schedule) total += std::max<long long>(p.duration.count(), 1);
  long long elapsed = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() -
                                                               schedule_start)
                          .count();
  if (!repeat && elapsed >= total) {
    schedule.clear();
    rng.seed(plan.seed);
    refusal_matches.clear();
    return plan;
  }
  const long long round = elapsed / total;
  elapsed %= total;
  std::size_t i = 0;
  for (; i + 1 < schedule.size(); ++i) {
    const long long d = std::max<long long>(schedule[i].duration.count(), 1);
    if (elapsed < d) break;
    elapsed -= d;
  }
  const long long key = round * static_cast<long long>(schedule.size()) + static_cast<long long>(i);
  if (key != phase_key) {
    phase_key = key;
    rng.seed(schedule[i].plan.seed + static_cast<unsigned>(key));
    refusal_matches.clear();
  }
  return schedule[i].plan;
}

void FaultProxy::Impl::Listen(int on_port) {
  auto s = std::make_unique<httplib::Server>();
  s->new_task_queue = [] { return new httplib::ThreadPool(kServerThreads); };
  s->set_tcp_nodelay(true);  // no 40 ms Nagle / delayed-ACK stalls on reuse
  s->set_keep_alive_max_count(100000);
  auto handler = [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); };
  s->Get(".*", handler);
  s->Post(".*", handler);
  s->Put(".*", handler);
  if (on_port == 0) {
    // A port below the kernel's ephemeral range, which outgoing connections never
    // take: after SetRefusing the same port is free to listen on again.
    int low = 32768;
    std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
    range >> low;
    std::random_device rd;
    for (int attempt = 0; attempt < 200 && port <= 0 && low > 10100; ++attempt) {
      const int candidate = 10000 + static_cast<int>(rd() % static_cast<unsigned>(low - 10000));
      if (s->bind_to_port("127.0.0.1", candidate)) port = candidate;
    }
    if (port <= 0) port = s->bind_to_any_port("127.0.0.1");
    if (port <= 0) throw std::runtime_error("fault proxy: cannot listen on 127.0.0.1");
  } else {
    // The port was ours a moment ago; another program may take it meanwhile, so try
    // for a while before giving up.
    bool bound = false;
    for (int attempt = 0; attempt < 200 && !bound; ++attempt) {
      bound = s->bind_to_port("127.0.0.1", on_port);
      if (!bound) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!bound) {
      throw std::runtime_error("fault proxy: cannot listen on 127.0.0.1:" +
                               std::to_string(on_port) + " again");
    }
  }
  httplib::Server* raw = s.get();
  server = std::move(s);
  thread = std::thread([raw] { raw->listen_after_bind(); });
  while (!raw->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void FaultProxy::Impl::StopListening() {
  if (!server) return;
  server->stop();
  if (thread.joinable()) thread.join();
  server.reset();
}

void FaultProxy::Impl::Answer(httplib::Response& res, Protocol protocol, int status,
                              const std::string& code, const std::string& message) {
  std::string request_id;
  {
    std::lock_guard<std::mutex> lock(mu);
    request_id = "fault-proxy-" + std::to_string(++next_id);
  }
  res.status = status;
  res.set_header("x-amzn-RequestId", request_id);
  res.set_content(ErrorBody(protocol, code, message, request_id),
                  protocol == Protocol::kJson ? "application/x-amz-json-1.0" : "text/xml");
}

void FaultProxy::Impl::Handle(const httplib::Request& req, httplib::Response& res) {
  // What the call is.
  SeenCall call;
  Protocol protocol = Protocol::kOtherQuery;
  std::string fingerprint;
  if (req.has_header("X-Amz-Target")) {
    protocol = Protocol::kJson;
    call.action = req.get_header_value("X-Amz-Target");
    fingerprint = req.body;
  } else {
    auto params = ParseForm(req.body);
    if (auto it = params.find("Action"); it != params.end()) call.action = it->second;
    if (auto it = params.find("ClientToken"); it != params.end()) call.client_token = it->second;
    // RequestSpotFleet carries its token inside the request's configuration.
    if (auto it = params.find("SpotFleetRequestConfig.ClientToken"); it != params.end()) {
      call.client_token = it->second;
    }
    if (auto it = params.find("Version"); it != params.end() && it->second == "2016-11-15") {
      protocol = Protocol::kEc2Query;
    }
    for (const auto& [name, value] : params) {
      fingerprint += name + "=" + value + "\n";
      call.params.emplace_back(name, value);
    }
  }

  std::function<void(const SeenCall&)> watch;
  {
    std::lock_guard<std::mutex> lock(mu);
    watch = observer;
  }
  if (watch) watch(call);

  // The fault for this call.
  FaultPlan current;
  double draw = 0, spike_draw = 0, jitter_draw = 0;
  size_t index = 0;
  {
    std::lock_guard<std::mutex> lock(mu);
    current = CurrentPlanLocked();
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    draw = unit(rng);
    spike_draw = unit(rng);
    jitter_draw = unit(rng);
    index = seen.size();
    seen.push_back(call);
  }
  auto update = [this, index](auto&& change) {
    std::lock_guard<std::mutex> lock(mu);
    change(seen[index]);
  };
  auto mark = [&](const char* fault) {
    update([&](SeenCall& c) {
      c.fault = fault;
      c.status = res.status;
    });
  };
  auto drop = [&](const char* fault) {
    update([&](SeenCall& c) {
      c.status = 0;
      c.fault = fault;
    });
    if (!ShutdownConnection(req.local_port, req.remote_port)) {
      // Could not find the socket: answer with a header and a truncated body instead.
      res.status = 200;
      res.set_content_provider(1, "text/plain",
                               [](size_t, size_t, httplib::DataSink&) { return false; });
    }
  };
  if (current.latency.count() > 0) std::this_thread::sleep_for(current.latency);

  if (auto canned = current.answers.find(call.action); canned != current.answers.end()) {
    res.status = 200;
    res.set_content(canned->second, "text/xml;charset=UTF-8");
    update([&](SeenCall& c) { c.status = 200; });
    return;
  }

  for (std::size_t i = 0; i < current.refusals.size(); ++i) {
    const Refusal& r = current.refusals[i];
    bool match = protocol != Protocol::kJson && call.action == r.action;
    if (match) {
      match = false;
      for (const auto& [name, value] : call.params) {
        match = match || (name == r.param && value == r.value);
      }
    }
    if (match) {
      std::lock_guard<std::mutex> lock(mu);
      match = ++refusal_matches[i] > r.after;
    }
    if (match) {
      Answer(res, protocol, r.status, r.code, r.message);
      mark("refusal");
      return;
    }
  }

  if (!current.actions.empty() &&
      std::find(current.actions.begin(), current.actions.end(), call.action) ==
          current.actions.end()) {
    draw = 2;  // beyond every fraction: this call is left alone
    spike_draw = 2;
  }
  double threshold = current.throttle_fraction;
  if (draw < threshold) {
    Answer(res, protocol, protocol == Protocol::kEc2Query ? 503 : 400,
           protocol == Protocol::kEc2Query ? "RequestLimitExceeded"
           : protocol == Protocol::kJson   ? "ThrottlingException"
                                           : "Throttling",
           "Request limit exceeded (injected by the fault proxy).");
    mark("throttle");
    return;
  }
  threshold += current.server_error_fraction;
  if (draw < threshold) {
    Answer(res, protocol, 500,
           protocol == Protocol::kEc2Query ? "InternalError" : "InternalFailure",
           "An internal error has occurred (injected by the fault proxy).");
    mark("server_error");
    return;
  }
  threshold += current.unavailable_fraction;
  if (draw < threshold) {
    // EC2: "Unavailable - The server is overloaded and can't handle the request";
    // the other services' common error is ServiceUnavailable.
    Answer(res, protocol, 503, protocol == Protocol::kEc2Query ? "Unavailable" : "ServiceUnavailable",
           protocol == Protocol::kEc2Query
               ? "The server is overloaded and can't handle the request (injected by the fault "
                 "proxy)."
               : "The request has failed due to a temporary failure of the server (injected by "
                 "the fault proxy).");
    mark("unavailable");
    return;
  }
  threshold += current.drop_before_fraction;
  if (draw < threshold) {
    drop("drop_before");
    return;
  }
  threshold += current.drop_after_fraction;
  const bool drop_after = draw < threshold;
  // A latency spike holds the answer back after AWS acted on the call.
  auto spike = [&] {
    if (drop_after || current.spike_fraction <= 0 || spike_draw >= current.spike_fraction) return;
    const auto extra = std::chrono::milliseconds(
        static_cast<long long>(jitter_draw * static_cast<double>(current.spike_jitter.count())));
    std::this_thread::sleep_for(current.spike + extra);
    update([](SeenCall& c) { c.fault = "spike"; });
  };

  // AWS's ClientToken semantics: one call per (Action, ClientToken) reaches moto.
  const auto key = std::make_pair(call.action, call.client_token);
  const bool tokened = !call.client_token.empty();
  if (tokened) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return in_flight.count(key) == 0; });
    auto it = records.find(key);
    if (it != records.end()) {
      const Recorded& rec = it->second;
      if (rec.fingerprint == fingerprint) {
        res.status = rec.status;
        res.headers = rec.headers;
        res.set_content(rec.body, rec.content_type.c_str());
        seen[index].replayed = true;
        seen[index].status = rec.status;  // seen only grows, so the index stays valid
        lock.unlock();
      } else {
        lock.unlock();
        Answer(res, protocol, 400, "IdempotentParameterMismatch",
               "Client token " + call.client_token + " was used before with different parameters.");
        update([&](SeenCall& c) { c.status = res.status; });
      }
      spike();
      if (drop_after) drop("drop_after");
      return;
    }
    in_flight.insert(key);
  }

  const bool creates_group = protocol == Protocol::kOtherQuery &&
                             call.action == "CreateAutoScalingGroup";
  const std::string group = call.Param("AutoScalingGroupName");
  if (creates_group) {
    bool exists = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      exists = groups.count(group) > 0;
    }
    if (exists) {
      Answer(res, protocol, 400, "AlreadyExists",
             "AutoScalingGroup by this name already exists - A group with the name " + group +
                 " already exists");
      update([&](SeenCall& c) { c.status = res.status; });
      spike();
      if (drop_after) drop("drop_after");
      return;
    }
  }

  // Forward to the upstream.
  httplib::Headers headers;
  for (const auto& [name, value] : req.headers) {
    if (!IsSkippedRequestHeader(name)) headers.emplace(name, value);
  }
  httplib::Client client(upstream);
  client.set_tcp_nodelay(true);
  client.set_connection_timeout(std::chrono::seconds(10));
  client.set_read_timeout(std::chrono::seconds(60));
  client.set_write_timeout(std::chrono::seconds(60));
  std::string content_type = req.get_header_value("Content-Type");
  if (content_type.empty()) content_type = "application/octet-stream";
  httplib::Result result = req.method == "GET" ? client.Get(req.target, headers)
                           : req.method == "PUT"
                               ? client.Put(req.target, headers, req.body, content_type.c_str())
                               : client.Post(req.target, headers, req.body, content_type.c_str());
  update([&](SeenCall& c) { c.forwarded = true; });

  if (!result) {
    if (tokened) {
      std::lock_guard<std::mutex> lock(mu);
      in_flight.erase(key);
    }
    cv.notify_all();
    Answer(
        res, protocol, 502, "InternalError",
        "The fault proxy could not reach " + upstream + ": " + httplib::to_string(result.error()));
    update([&](SeenCall& c) { c.status = res.status; });
    return;
  }
  res.status = result->status;
  for (const auto& [name, value] : result->headers) {
    if (!IsSkippedResponseHeader(name)) res.headers.emplace(name, value);
  }
  std::string upstream_type = result->get_header_value("Content-Type");
  res.set_content(result->body, upstream_type.empty() ? "text/xml" : upstream_type.c_str());
  {
    std::lock_guard<std::mutex> lock(mu);
    if (tokened) {
      if (result->status >= 200 && result->status < 300) {
        records[key] =
            Recorded{fingerprint, result->status,
                     upstream_type.empty() ? "text/xml" : upstream_type, res.headers, result->body};
      }
      in_flight.erase(key);
    }
    seen[index].status = result->status;
    if (result->status >= 200 && result->status < 300) {
      if (creates_group) groups.insert(group);
      if (protocol == Protocol::kOtherQuery && call.action == "DeleteAutoScalingGroup") {
        groups.erase(group);
      }
    }
  }
  cv.notify_all();
  spike();
  if (drop_after) drop("drop_after");
}

FaultProxy::FaultProxy(std::string upstream_endpoint, FaultPlan plan)
    : impl_(std::make_unique<Impl>()) {
  while (!upstream_endpoint.empty() && upstream_endpoint.back() == '/') {
    upstream_endpoint.pop_back();
  }
  impl_->upstream = std::move(upstream_endpoint);
  impl_->plan = plan;
  impl_->rng.seed(plan.seed);
  std::lock_guard<std::mutex> lock(impl_->listen_mu);
  impl_->Listen(0);
}

FaultProxy::~FaultProxy() {
  std::lock_guard<std::mutex> lock(impl_->listen_mu);
  impl_->StopListening();
}

std::string FaultProxy::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}

void FaultProxy::SetPlan(const FaultPlan& plan) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->rng.seed(plan.seed);
  impl_->plan = plan;
  impl_->schedule.clear();
  impl_->refusal_matches.clear();
}

void FaultProxy::SetSchedule(std::vector<FaultPhase> phases, bool repeat) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->schedule = std::move(phases);
  impl_->repeat = repeat;
  impl_->schedule_start = std::chrono::steady_clock::now();
  impl_->phase_key = -1;
  impl_->refusal_matches.clear();
}

void FaultProxy::SetRefusing(bool refusing) {
  std::lock_guard<std::mutex> lock(impl_->listen_mu);
  if (refusing) {
    impl_->StopListening();
  } else if (!impl_->server) {
    impl_->Listen(impl_->port);
  }
}

void FaultProxy::SetObserver(std::function<void(const SeenCall&)> observer) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->observer = std::move(observer);
}

int FaultProxy::FaultsInjected() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  int n = 0;
  for (std::size_t i = impl_->seen_from; i < impl_->seen.size(); ++i) {
    if (!impl_->seen[i].fault.empty()) ++n;
  }
  return n;
}

std::vector<SeenCall> FaultProxy::seen() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return std::vector<SeenCall>(impl_->seen.begin() + static_cast<long>(impl_->seen_from),
                               impl_->seen.end());
}

void FaultProxy::ClearSeen() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->seen_from = impl_->seen.size();
}

}  // namespace orb::testing
