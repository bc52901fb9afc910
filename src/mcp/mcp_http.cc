#include "mcp/mcp_http.h"

#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>

#include <spdlog/spdlog.h>

#include "api/access_control.h"
#include "common/strings.h"
#include "common/uuid.h"
#include "mcp/mcp_changes.h"
#include "mcp/mcp_tools.h"

namespace orb::mcp {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A comment is sent on an idle event stream this often (proxies keep it open, a gone
// client is noticed).
constexpr std::chrono::seconds kKeepAlive{15};
// Notifications kept for a session whose stream is not open (the oldest go first).
constexpr std::size_t kMaxQueued = 256;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void Answer(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(Dump(body), "application/json");
}

// Refusals at the transport level: a JSON-RPC error with id null (-32000: the
// server's own range), like other MCP servers answer them.
void Refuse(httplib::Response& res, int status, const std::string& message) {
  Answer(res, status, ErrorResponse(nullptr, -32000, message));
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return s;
}

// True when the Accept header lists `type` (or */*).
bool Accepts(const httplib::Request& req, const std::string& type) {
  const std::string accept = Lower(req.get_header_value("Accept"));
  return accept.find(type) != std::string::npos || accept.find("*/*") != std::string::npos;
}

std::set<std::string> ParseOrigins(const std::string& list) {
  std::set<std::string> out;
  for (std::string o : SplitTrimmed(list, ',')) {
    while (!o.empty() && o.back() == '/') o.pop_back();
    if (!o.empty()) out.insert(o);
  }
  return out;
}

bool IsRequest(const json& message) {
  return message.is_object() && message.contains("method") && message.contains("id");
}

}  // namespace

bool IsLoopbackOrigin(const std::string& origin) {
  std::string rest;
  if (origin.rfind("http://", 0) == 0) {
    rest = origin.substr(7);
  } else if (origin.rfind("https://", 0) == 0) {
    rest = origin.substr(8);
  } else {
    return false;
  }
  if (rest.find('/') != std::string::npos || rest.find('@') != std::string::npos) return false;
  std::string host = rest;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string::npos) return false;
    const std::string port = host.substr(close + 1);
    if (!port.empty() && (port[0] != ':' || port.find_first_not_of("0123456789", 1) != std::string::npos)) {
      return false;
    }
    host = host.substr(1, close - 1);
    in6_addr v6{};
    return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
  }
  if (const auto colon = host.find(':'); colon != std::string::npos) {
    const std::string port = host.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos) return false;
    host = host.substr(0, colon);
  }
  host = Lower(host);
  if (host == "localhost") return true;
  in_addr v4{};
  return ::inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

struct McpHttpDoor::Impl {
  // One client session.
  struct Entry {
    McpSession session;
    McpServer* server = nullptr;
    std::string principal;
    std::mutex handle_mu;  // one message of the session at a time
    std::mutex mu;         // what follows
    std::condition_variable cv;
    std::deque<std::string> queue;  // notifications not yet streamed
    bool closed = false;
    bool streaming = false;
    Clock::time_point last_used = Clock::now();

    void Push(std::string message) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (closed) return;
        queue.push_back(std::move(message));
        while (queue.size() > kMaxQueued) queue.pop_front();
      }
      cv.notify_all();
    }
    void Touch() {
      std::lock_guard<std::mutex> lock(mu);
      last_used = Clock::now();
    }
  };

  McpHttpOptions options;
  std::set<std::string> origins;         // guarded by mu (replaced on reload)
  std::unique_ptr<McpServer> full;       // null when every session is read-only
  std::unique_ptr<McpServer> read_only;
  api::ServerState* state = nullptr;
  std::unique_ptr<ChangeFeed> feed;
  std::atomic<bool> stopping{false};

  mutable std::mutex mu;
  std::map<std::string, std::shared_ptr<Entry>> sessions;

  std::shared_ptr<Entry> Find(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = sessions.find(id);
    return it == sessions.end() ? nullptr : it->second;
  }

  void Close(const std::shared_ptr<Entry>& e) {
    {
      std::lock_guard<std::mutex> lock(e->handle_mu);  // no message of it in flight
      e->server->RemoveSession(&e->session);
    }
    {
      std::lock_guard<std::mutex> lock(e->mu);
      e->closed = true;
      e->queue.clear();
    }
    e->cv.notify_all();
  }

  // Drops the sessions idle longer than the timeout.
  void Sweep() {
    std::vector<std::shared_ptr<Entry>> expired;
    {
      std::lock_guard<std::mutex> lock(mu);
      const auto now = Clock::now();
      for (auto it = sessions.begin(); it != sessions.end();) {
        bool idle;
        {
          std::lock_guard<std::mutex> entry_lock(it->second->mu);
          idle = !it->second->streaming && now - it->second->last_used > options.idle_timeout;
        }
        if (idle) {
          expired.push_back(it->second);
          it = sessions.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (const auto& e : expired) {
      spdlog::info("mcp http: session {} dropped after {} s idle", e->session.id.substr(0, 8),
                   options.idle_timeout.count());
      Close(e);
    }
  }

  // Origin: absent (not a browser), a loopback one, or a listed one; else 403.
  bool CheckOrigin(const httplib::Request& req, httplib::Response& res) {
    if (!req.has_header("Origin")) return true;
    std::string origin = req.get_header_value("Origin");
    while (!origin.empty() && origin.back() == '/') origin.pop_back();
    if (IsLoopbackOrigin(origin)) return true;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (origins.count(origin)) return true;
    }
    spdlog::warn("mcp http: {} {} from {} refused: Origin {} is not allowed", req.method, req.path,
                 req.remote_addr, origin);
    Refuse(res, 403,
           "Forbidden: Origin '" + origin +
               "' is not allowed (loopback origins and server.cors_origins only)");
    return false;
  }

  bool CheckVersion(const httplib::Request& req, httplib::Response& res) {
    if (!req.has_header("MCP-Protocol-Version")) return true;
    const std::string v = req.get_header_value("MCP-Protocol-Version");
    if (std::find(kProtocolVersions.begin(), kProtocolVersions.end(), v) != kProtocolVersions.end()) {
      return true;
    }
    Refuse(res, 400,
           "Bad Request: unsupported MCP-Protocol-Version '" + v.substr(0, 40) +
               "' (supported: " + Join(kProtocolVersions, ", ") + ")");
    return false;
  }

  static std::string PrincipalName() {
    const auto p = api::CurrentPrincipal();
    return p ? p->name : "-";
  }

  // The session the call names: 400 without the header, 404 for an unknown one, 403
  // for another principal's.
  std::shared_ptr<Entry> SessionOf(const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.get_header_value("Mcp-Session-Id");
    if (id.empty()) {
      Refuse(res, 400, "Bad Request: the Mcp-Session-Id header is required (initialize first)");
      return nullptr;
    }
    std::shared_ptr<Entry> e = Find(id);
    if (!e) {
      Refuse(res, 404, "Not Found: no session " + id.substr(0, 64) +
                           " (ended or expired); initialize a new one");
      return nullptr;
    }
    if (e->principal != PrincipalName()) {
      Refuse(res, 403, "Forbidden: the session belongs to another principal");
      return nullptr;
    }
    e->Touch();
    return e;
  }

  void Post(const httplib::Request& req, httplib::Response& res) {
    if (!CheckOrigin(req, res)) return;
    Sweep();
    if (!Accepts(req, "application/json") || !Accepts(req, "text/event-stream")) {
      Refuse(res, 406,
             "Not Acceptable: the client must accept both application/json and text/event-stream");
      return;
    }
    if (Lower(req.get_header_value("Content-Type")).rfind("application/json", 0) != 0) {
      Refuse(res, 415, "Unsupported Media Type: send the message as application/json");
      return;
    }
    if (!CheckVersion(req, res)) return;
    json message;
    try {
      message = json::parse(req.body);
    } catch (const json::exception& e) {
      Answer(res, 400, McpServer::ParseError(e.what()));
      return;
    }
    const bool initialize = message.is_object() && message.contains("method") &&
                            message["method"].is_string() && message["method"] == "initialize";
    if (initialize) return Initialize(req, res, message);
    std::shared_ptr<Entry> e = SessionOf(req, res);
    if (!e) return;
    std::optional<json> answer;
    {
      std::lock_guard<std::mutex> lock(e->handle_mu);
      answer = e->server->Handle(e->session, message);
    }
    e->Touch();
    if (!answer) {
      res.status = 202;  // a notification or a response: accepted, no body
      return;
    }
    const int status = IsRequest(message) ? 200 : 400;
    Answer(res, status, *answer);
    AuditToolCall(req, message, *answer, status);
  }

  // A call of a tool that changes something (not a dry run) goes to the audit log,
  // refused or failed ones too, as REST's mutating routes do.
  void AuditToolCall(const httplib::Request& req, const json& message, const json& answer,
                     int status) {
    if (!message.is_object() || !answer.is_object()) return;
    if (message.value("method", json()) != "tools/call") return;
    const json params = message.value("params", json::object());
    if (!params.is_object() || !params.contains("name") || !params["name"].is_string()) return;
    const std::string tool = params["name"].get<std::string>();
    if (!IsMutatingTool(tool)) return;
    const json args = params.value("arguments", json::object());
    if (args.is_object() && args.value("dry_run", json()) == true) return;
    api::AuditedOperation op;
    op.operation = "tools/call " + tool;
    op.status = status;
    const json result = answer.value("result", json());
    const bool ok = result.is_object() && !result.value("isError", false);
    op.outcome = ok ? "ok" : "error";
    // The request created (request_machines, return_machines), else the one named
    // (cancel_request).
    const json content = ok ? result.value("structuredContent", json()) : json();
    for (const json* holder : {&content, &args}) {
      if (holder->is_object() && holder->contains("request_id") &&
          (*holder)["request_id"].is_string()) {
        op.request_id = (*holder)["request_id"].get<std::string>().substr(0, 128);
        break;
      }
    }
    state->AuditOperation(req, op);
  }

  void Initialize(const httplib::Request&, httplib::Response& res, const json& message) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (sessions.size() >= options.max_sessions) {
        res.set_header("Retry-After", "60");
        Refuse(res, 503, "Service Unavailable: too many MCP sessions are open; try again later");
        return;
      }
    }
    auto e = std::make_shared<Entry>();
    e->session.id = NewUuid();
    e->session.log_level = options.mcp.log_level;
    e->principal = PrincipalName();
    const auto principal = api::CurrentPrincipal();
    const bool may_change = principal && principal->role >= api::Role::kOperator;
    e->server = (full && may_change) ? full.get() : read_only.get();
    json answer;
    {
      std::lock_guard<std::mutex> lock(e->handle_mu);
      answer = e->server->Handle(e->session, message).value_or(
          ErrorResponse(nullptr, kInvalidRequest,
                        "invalid request: initialize must be a request (with an id)"));
    }
    if (!answer.contains("result")) {
      Answer(res, 400, answer);
      return;
    }
    e->server->AddSession(&e->session);
    {
      std::lock_guard<std::mutex> lock(mu);
      sessions[e->session.id] = e;
    }
    spdlog::info("mcp http: session {} opened by {}{}", e->session.id.substr(0, 8), e->principal,
                 e->server == read_only.get() ? " (read-only)" : "");
    res.set_header("Mcp-Session-Id", e->session.id);
    Answer(res, 200, answer);
  }

  void Get(const httplib::Request& req, httplib::Response& res) {
    if (!CheckOrigin(req, res)) return;
    Sweep();
    if (!Accepts(req, "text/event-stream")) {
      Refuse(res, 406, "Not Acceptable: the client must accept text/event-stream");
      return;
    }
    if (!CheckVersion(req, res)) return;
    std::shared_ptr<Entry> e = SessionOf(req, res);
    if (!e) return;
    if (!state->OpenStream()) {
      res.set_header("Retry-After", "10");
      Refuse(res, 503, "Service Unavailable: every event-stream slot (server.max_streams) is taken");
      return;
    }
    {
      std::lock_guard<std::mutex> lock(e->mu);
      if (e->streaming) {
        state->CloseStream();
        Refuse(res, 409, "Conflict: the session already has an event stream open");
        return;
      }
      e->streaming = true;
    }
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    auto first = std::make_shared<bool>(true);
    auto last_write = std::make_shared<Clock::time_point>(Clock::now());
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, e, first, last_write](size_t, httplib::DataSink& sink) {
          if (*first) {
            *first = false;
            const std::string hello = ": orb mcp event stream\n\n";
            return sink.write(hello.data(), hello.size());
          }
          std::deque<std::string> out;
          {
            std::unique_lock<std::mutex> lock(e->mu);
            e->cv.wait_for(lock, std::chrono::seconds(1), [&] {
              return e->closed || !e->queue.empty() || stopping.load();
            });
            if (e->closed || stopping || state->events().closed()) {
              lock.unlock();
              sink.done();
              return true;
            }
            out.swap(e->queue);
            e->last_used = Clock::now();
          }
          if (!sink.is_writable()) return false;
          std::string text;
          for (const std::string& m : out) text += "event: message\ndata: " + m + "\n\n";
          if (text.empty() && Clock::now() - *last_write >= kKeepAlive) text = ": keep-alive\n\n";
          if (text.empty()) return true;
          *last_write = Clock::now();
          return sink.write(text.data(), text.size());
        },
        [this, e](bool) {
          {
            std::lock_guard<std::mutex> lock(e->mu);
            e->streaming = false;
            e->last_used = Clock::now();
          }
          state->CloseStream();
        });
  }

  void Delete(const httplib::Request& req, httplib::Response& res) {
    if (!CheckOrigin(req, res)) return;
    if (!CheckVersion(req, res)) return;
    std::shared_ptr<Entry> e = SessionOf(req, res);
    if (!e) return;
    {
      std::lock_guard<std::mutex> lock(mu);
      sessions.erase(e->session.id);
    }
    Close(e);
    spdlog::info("mcp http: session {} ended by the client", e->session.id.substr(0, 8));
    res.status = 204;
  }

  void Notify(const McpSession& session, const json& message) {
    if (std::shared_ptr<Entry> e = Find(session.id)) e->Push(Dump(message));
  }
};

McpHttpDoor::McpHttpDoor(std::shared_ptr<const Config> config, McpHttpOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->origins = ParseOrigins(impl_->options.cors_origins);
  McpOptions ro = impl_->options.mcp;
  ro.read_only = true;
  impl_->read_only = std::make_unique<McpServer>(config, ro);
  if (!impl_->options.mcp.read_only) {
    impl_->full = std::make_unique<McpServer>(config, impl_->options.mcp);
  }
  for (McpServer* s : servers()) {
    s->SetNotifier([impl = impl_.get()](const McpSession& session, const json& message) {
      impl->Notify(session, message);
    });
  }
}

McpHttpDoor::~McpHttpDoor() {
  Stop();
  std::map<std::string, std::shared_ptr<Impl::Entry>> left;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    left.swap(impl_->sessions);
  }
  for (auto& [id, e] : left) impl_->Close(e);
  for (McpServer* s : servers()) s->SetNotifier(nullptr);
}

std::vector<McpServer*> McpHttpDoor::servers() {
  std::vector<McpServer*> out;
  if (impl_->full) out.push_back(impl_->full.get());
  out.push_back(impl_->read_only.get());
  return out;
}

std::size_t McpHttpDoor::session_count() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->sessions.size();
}

void McpHttpDoor::Mount(api::ServerState& state) {
  impl_->state = &state;
  Impl* impl = impl_.get();
  const std::string& path = impl_->options.path;
  state.Add("POST", path, api::Role::kViewer,
            [impl](const httplib::Request& req, httplib::Response& res) { impl->Post(req, res); });
  state.Add("GET", path, api::Role::kViewer,
            [impl](const httplib::Request& req, httplib::Response& res) { impl->Get(req, res); });
  state.Add("DELETE", path, api::Role::kViewer,
            [impl](const httplib::Request& req, httplib::Response& res) { impl->Delete(req, res); });
  state.OnReload([this](const std::shared_ptr<const Config>& config) { Reload(config); });
  impl_->feed = std::make_unique<ChangeFeed>(state.events(), servers());
  impl_->feed->Start();
}

void McpHttpDoor::Reload(std::shared_ptr<const Config> config) {
  std::set<std::string> origins = ParseOrigins(config->Get("server.cors_origins"));
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->origins.swap(origins);
  }
  for (McpServer* s : servers()) s->Reload(config);
  spdlog::info("mcp http: configuration reloaded ({} sessions kept)", session_count());
}

void McpHttpDoor::Stop() {
  impl_->stopping = true;
  if (impl_->feed) impl_->feed->Stop();
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (auto& [id, e] : impl_->sessions) e->cv.notify_all();
}

}  // namespace orb::mcp
