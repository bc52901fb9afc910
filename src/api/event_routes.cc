// Server-sent events: GET /api/v1/events (every domain event, replayed from
// Last-Event-ID) and GET /api/v1/requests/{request_id}/events (one request: its
// record now, then its changes, kept moving by status polls, until it ends).

#include <chrono>
#include <set>

#include "api/server_state.h"
#include "common/strings.h"
#include "model/records.h"

namespace orb::api {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A comment line is sent this often when nothing happens, so proxies keep the
// connection and a gone client is noticed.
constexpr milliseconds kKeepAlive{15000};

std::string SseFrame(const std::string& id, const std::string& type, const json& data) {
  std::string frame;
  if (!id.empty()) frame += "id: " + id + "\n";
  frame += "event: " + type + "\ndata: " + data.dump() + "\n\n";
  return frame;
}

// The client's resume point: the Last-Event-ID header, or ?last_event_id=.
std::string LastEventId(const httplib::Request& req) {
  std::string id = req.get_header_value("Last-Event-ID");
  if (id.empty()) id = req.get_param_value("last_event_id");
  if (id.size() > 64) throw Error(ErrorCode::kInvalidInput, "Last-Event-ID is longer than 64 characters");
  return id;
}

// ?types=a,b: only events of these types (all when absent).
std::set<std::string> TypeFilter(const httplib::Request& req) {
  std::set<std::string> types;
  if (!req.has_param("types")) return types;
  for (const std::string& t : SplitTrimmed(req.get_param_value("types"), ',')) {
    if (!t.empty()) types.insert(t);
  }
  return types;
}

bool Concerns(const DomainEvent& e, const std::string& request_id) {
  auto field = [&](const char* key) {
    auto it = e.data.find(key);
    return it != e.data.end() && it->is_string() && it->get<std::string>() == request_id;
  };
  return field("request_id") || field("return_request_id");
}

// Takes an event-stream slot and sets the stream's headers; when every slot is
// taken, answers 503 with Retry-After and returns false.
bool OpenStream(ServerState& state, httplib::Response& res) {
  if (!state.OpenStream()) {
    res.set_header("Retry-After", "10");
    ReplyError(res, 503, "too_many_streams",
               "every event-stream slot (server.max_streams) is taken; try again later");
    return false;
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // reverse proxies: do not buffer the stream
  return true;
}

}  // namespace

void AddEventRoutes(ServerState& state) {
  state.Add("GET", "/api/v1/events", Role::kViewer,
            [&state](const httplib::Request& req, httplib::Response& res) {
              state.Guard(res, [&] {
                const std::string last = LastEventId(req);
                const std::set<std::string> types = TypeFilter(req);
                if (!OpenStream(state, res)) return;
                auto cursor = std::make_shared<EventCursor>(state.events().CursorAfter(last));
                auto first = std::make_shared<bool>(true);
                res.status = 200;
                res.set_chunked_content_provider(
                    "text/event-stream",
                    [&state, cursor, first, types](size_t, httplib::DataSink& sink) {
                      if (*first) {
                        *first = false;
                        std::string hello = "retry: 3000\n\n";
                        if (cursor->gap) {
                          hello += SseFrame("", "gap",
                                            json{{"message", "events after your Last-Event-ID "
                                                             "are no longer kept (or are of an "
                                                             "earlier server run): list afresh"}});
                        }
                        return sink.write(hello.data(), hello.size());
                      }
                      if (state.events().closed() || !sink.is_writable()) {
                        sink.done();
                        return true;
                      }
                      std::vector<DomainEvent> events = state.events().Next(*cursor, kKeepAlive);
                      std::string out;
                      for (const DomainEvent& e : events) {
                        cursor->sequence = e.sequence;
                        if (types.empty() || types.count(e.type)) out += SseFrame(e.id, e.type, e.data);
                      }
                      if (out.empty()) out = ": keep-alive\n\n";
                      return sink.write(out.data(), out.size());
                    },
                    [&state](bool) { state.CloseStream(); });
              });
            });

  state.Add("GET", "/api/v1/requests/{request_id}/events", Role::kViewer,
            [&state](const httplib::Request& req, httplib::Response& res) {
              state.Guard(res, [&] {
                const std::string id = req.matches[1].str();
                Broker& broker = state.ThreadBroker();
                Request r = broker.GetRequest(id);  // 404 before the stream starts
                const int poll_sec =
                    static_cast<int>(state.config()->GetInt("server.stream_poll_sec"));
                if (!OpenStream(state, res)) return;
                struct Progress {
                  EventCursor cursor;
                  bool started = false;
                  bool ended = false;
                  steady_clock::time_point next_poll;
                };
                auto p = std::make_shared<Progress>();
                p->cursor = state.events().CursorAfter("");
                p->next_poll = steady_clock::now() + std::chrono::seconds(poll_sec);
                res.status = 200;
                auto step = [&state, id, p, poll_sec](httplib::DataSink& sink) -> bool {
                      // A broker is leased only while it is used, never across the
                      // waits: streams must not hold the pool.
                      auto snapshot = [&](const char* type) {
                        std::string frame;
                        state.WithBroker([&](Broker& b) {
                          Request now = b.GetRequest(id);
                          std::vector<Machine> machines = b.MachinesOfRequest(now);
                          p->ended = IsTerminal(now.status);
                          frame = SseFrame("", type, RequestRecord(now, &machines));
                        });
                        return frame;
                      };
                      if (p->ended || state.events().closed() || !sink.is_writable()) {
                        sink.done();
                        return true;
                      }
                      if (!p->started) {
                        p->started = true;
                        std::string out = "retry: 3000\n\n" + snapshot("request");
                        if (p->ended) out += SseFrame("", "end", json{{"request_id", id}});
                        return sink.write(out.data(), out.size());
                      }
                      // An open acquire request moves only when polled: poll it as
                      // HostFactory would, the watcher then reports what changed.
                      if (steady_clock::now() >= p->next_poll) {
                        p->next_poll = steady_clock::now() + std::chrono::seconds(poll_sec);
                        try {
                          state.WithBroker([&](Broker& b) { b.RequestStatuses({id}); });
                        } catch (const std::exception& e) {
                          std::string out = SseFrame("", "poll_error", json{{"message", e.what()}});
                          if (!sink.write(out.data(), out.size())) return false;
                        }
                      }
                      const auto wait = std::min<milliseconds>(
                          kKeepAlive, std::chrono::duration_cast<milliseconds>(
                                          p->next_poll - steady_clock::now()) +
                                          milliseconds(1));
                      std::string out;
                      bool changed = false;
                      for (const DomainEvent& e : state.events().Next(p->cursor, wait)) {
                        p->cursor.sequence = e.sequence;
                        if (!Concerns(e, id)) continue;
                        out += SseFrame(e.id, e.type, e.data);
                        changed = true;
                      }
                      if (changed) {
                        out += snapshot("request");
                        if (p->ended) out += SseFrame("", "end", json{{"request_id", id}});
                      }
                      if (out.empty()) out = ": keep-alive\n\n";
                      return sink.write(out.data(), out.size());
                };
                res.set_chunked_content_provider(
                    "text/event-stream",
                    [step, id](size_t, httplib::DataSink& sink) {
                      try {
                        return step(sink);
                      } catch (const std::exception& e) {
                        // The store failed mid-stream: say so and end it; the client
                        // reconnects (retry: 3000).
                        const std::string out =
                            SseFrame("", "error", json{{"request_id", id}, {"message", e.what()}});
                        sink.write(out.data(), out.size());
                        sink.done();
                        return true;
                      }
                    },
                    [&state](bool) { state.CloseStream(); });
              });
            });
}

}  // namespace orb::api
