#include "api/server_state.h"

#include <chrono>

#include <spdlog/spdlog.h>

namespace orb::api {

ServerState::ServerState(httplib::Server& http, std::shared_ptr<const Config> config,
                         ConfigInputs inputs, int max_streams)
    : http_(http),
      inputs_(std::move(inputs)),
      max_streams_(max_streams),
      config_(std::move(config)) {}

bool ServerState::OpenStream() {
  int now = streams_.load();
  do {
    if (now >= max_streams_) return false;
  } while (!streams_.compare_exchange_weak(now, now + 1));
  metrics_.AddStreamClients(1);
  return true;
}

void ServerState::CloseStream() {
  --streams_;
  metrics_.AddStreamClients(-1);
}

namespace {

// `path` with every {name} replaced by a group matching one path segment.
std::string PathPattern(const std::string& path) {
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '{') {
      i = path.find('}', i);
      out += "([^/]+)";
    } else if (std::string_view(".+*?()[]|^$\\").find(path[i]) != std::string_view::npos) {
      out += '\\';
      out += path[i];
    } else {
      out += path[i];
    }
  }
  return out;
}

}  // namespace

// The broker leased by the handler running on this thread, if any.
class BrokerScope {
 public:
  explicit BrokerScope(ServerState& state) : state_(state), outer_(current) { current = this; }
  ~BrokerScope() {
    current = outer_;
    if (leased_.broker) state_.Return(std::move(leased_));
  }
  BrokerScope(const BrokerScope&) = delete;
  BrokerScope& operator=(const BrokerScope&) = delete;

  Broker& Get() {
    if (!leased_.broker) leased_ = state_.Lease();
    return *leased_.broker;
  }

  static thread_local BrokerScope* current;

 private:
  ServerState& state_;
  BrokerScope* outer_;
  ServerState::PooledBroker leased_;
};

thread_local BrokerScope* BrokerScope::current = nullptr;

void ServerState::Add(const std::string& method, const std::string& path, Role role,
                      Handler handler) {
  const std::string pattern = PathPattern(path);
  routes_.push_back({method, path, role});
  route_patterns_.emplace_back(pattern);
  const Route& route = routes_.back();
  auto run = [this, route, handler = std::move(handler)](const httplib::Request& req,
                                                          httplib::Response& res) {
    const auto started = std::chrono::steady_clock::now();
    BrokerScope scope(*this);
    if (!hooks_.before || hooks_.before(req, res, route)) {
      handler(req, res);
      if (hooks_.after) hooks_.after(req, res, route);
    }
    metrics_.CountHttp(route.method, route.path, res.status,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                           .count());
  };
  if (method == "GET") {
    http_.Get(pattern, run);
  } else if (method == "POST") {
    http_.Post(pattern, run);
  } else if (method == "PUT") {
    http_.Put(pattern, run);
  } else if (method == "DELETE") {
    http_.Delete(pattern, run);
  } else if (method == "PATCH") {
    http_.Patch(pattern, run);
  } else {
    throw Error(ErrorCode::kInternal, "route method " + method + " is not supported");
  }
}

const Route* ServerState::Find(const std::string& method, const std::string& path) const {
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    if (routes_[i].method == method && std::regex_match(path, route_patterns_[i])) {
      return &routes_[i];
    }
  }
  return nullptr;
}

void AddAllRoutes(ServerState& state) {
  AddProbeRoutes(state);
  AddTemplateRoutes(state);
  AddRequestRoutes(state);
  AddMachineRoutes(state);
  AddHostFactoryRoutes(state);
  AddProviderRoutes(state);
  AddConfigRoutes(state);
  AddStorageRoutes(state);
  AddReconcileRoutes(state);
  AddEventRoutes(state);
  AddMetricsRoutes(state);
  AddDocsRoutes(state);
}

std::shared_ptr<const Config> ServerState::config() const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_;
}

void ServerState::Reload(std::shared_ptr<const Config> config) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    config_ = config;
    ++generation_;
  }
  for (const auto& listener : reload_listeners_) listener(config);
}

ServerState::PooledBroker ServerState::Lease() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    while (!idle_.empty()) {
      PooledBroker b = std::move(idle_.back());
      idle_.pop_back();
      if (b.generation == generation_) {
        ++brokers_out_;
        return b;
      }
      // Built before a reload: dropped (outside the lock: closing takes a while).
      lock.unlock();
      b.broker.reset();
      lock.lock();
    }
    if (brokers_out_ + static_cast<int>(idle_.size()) < max_brokers_) break;
    returned_.wait(lock);
  }
  ++brokers_out_;
  PooledBroker fresh;
  fresh.config = config_;
  fresh.generation = generation_;
  lock.unlock();
  try {
    fresh.broker = std::make_unique<Broker>(*fresh.config);
  } catch (...) {
    lock.lock();
    --brokers_out_;
    returned_.notify_one();
    throw;
  }
  return fresh;
}

void ServerState::Return(PooledBroker broker) {
  std::unique_lock<std::mutex> lock(mu_);
  --brokers_out_;
  if (broker.generation == generation_) {
    idle_.push_back(std::move(broker));
  } else {
    lock.unlock();
    broker.broker.reset();
    lock.lock();
  }
  returned_.notify_one();
}


Broker& ServerState::ThreadBroker() {
  if (!BrokerScope::current) {
    throw Error(ErrorCode::kInternal, "no broker outside a route handler (use WithBroker)");
  }
  return BrokerScope::current->Get();
}

void ServerState::WithBroker(const std::function<void(Broker&)>& fn) {
  BrokerScope scope(*this);
  fn(scope.Get());
}

void ServerState::Guard(httplib::Response& res, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    ReplyError(res, HttpStatus(e.code()), ErrorCodeName(e.code()), e.what());
  } catch (const std::exception& e) {
    spdlog::error("serve: unexpected failure: {}", e.what());
    ReplyError(res, 500, "internal_error", std::string("unexpected failure: ") + e.what());
  }
}

void ServerState::ReplyCreated(httplib::Response& res, int status, const json& body,
                               const std::string& id) {
  if (id.empty()) return Reply(res, status, body);
  res.status = status;
  res.set_header("Location", "/api/v1/requests/" + id);
  auto text = std::make_shared<std::string>(body.dump() + "\n");
  res.set_content_provider(
      text->size(), "application/json",
      [text](size_t offset, size_t length, httplib::DataSink& sink) {
        return sink.write(text->data() + offset, length);
      },
      [this, id](bool success) {
        if (success) WithBroker([&](Broker& b) { b.AcknowledgeRequest(id); });
      });
}

}  // namespace orb::api
