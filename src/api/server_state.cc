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

void ServerState::Add(const std::string& method, const std::string& path, Role role,
                      Handler handler) {
  const std::string pattern = PathPattern(path);
  routes_.push_back({method, path, role});
  route_patterns_.emplace_back(pattern);
  const Route& route = routes_.back();
  auto run = [this, route, handler = std::move(handler)](const httplib::Request& req,
                                                          httplib::Response& res) {
    const auto started = std::chrono::steady_clock::now();
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
  std::lock_guard<std::mutex> lock(mu_);
  config_ = std::move(config);
  ++generation_;
}

Broker& ServerState::ThreadBroker() {
  std::unique_lock<std::mutex> lock(mu_);
  WorkerBroker& mine = brokers_[std::this_thread::get_id()];
  if (mine.broker && mine.generation == generation_) return *mine.broker;
  // Only this thread touches its own entry's broker, so it is rebuilt outside the
  // lock (opening the store may take a while).
  std::shared_ptr<const Config> config = config_;
  const unsigned generation = generation_;
  lock.unlock();
  auto broker = std::make_unique<Broker>(*config);
  lock.lock();
  mine.broker = std::move(broker);
  mine.config = std::move(config);
  mine.generation = generation;
  return *mine.broker;
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
        if (success) ThreadBroker().AcknowledgeRequest(id);
      });
}

}  // namespace orb::api
