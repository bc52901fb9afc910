#pragma once

// Cross-origin access for browsers (server.cors_origins): off unless origins are
// listed. Only an exactly listed Origin gets Access-Control-Allow-Origin (that origin,
// never "*"); other origins get no CORS header at all, so browsers keep their pages
// out. Preflights (OPTIONS) are answered 204 with the methods the path allows.

#include <set>
#include <string>

#include <httplib.h>

namespace orb::api {

class Cors {
 public:
  // `origins`: comma-separated exact origins ("https://ops.example.com"), spaces and a
  // trailing '/' ignored; empty = CORS off. Throws Error(kInvalidConfig) for "*" or an
  // entry that is not scheme://host[:port].
  explicit Cors(const std::string& origins);

  // True when at least one origin is listed.
  bool enabled() const { return !origins_.empty(); }

  // Adds the CORS headers to `res` when `req`'s Origin is listed; nothing otherwise.
  void AddHeaders(const httplib::Request& req, httplib::Response& res) const;

  // Answers the OPTIONS request `req` for a path whose methods are `allowed`
  // ("GET, POST"; empty = no such route, 404): 204 with Allow, plus the CORS preflight
  // headers when the Origin is listed and the requested method is allowed.
  void AnswerPreflight(const httplib::Request& req, httplib::Response& res,
                       const std::string& allowed) const;

 private:
  std::set<std::string> origins_;
};

}  // namespace orb::api
