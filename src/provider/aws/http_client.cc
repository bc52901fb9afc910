#include "provider/aws/http_client.h"

#include "provider/aws/curl_library.h"

#include <array>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "common/strings.h"
#include "provider/aws/aws_error.h"

namespace orb {

namespace {

// Idle easy handles kept for reuse (each with its kept-alive connections); more are
// cleaned up when returned.
constexpr size_t kMaxPooledHandles = 32;
// The largest answer accepted; AWS answers are far smaller.
constexpr size_t kMaxBodyBytes = size_t{256} << 20;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string FindHeader(const std::vector<std::pair<std::string, std::string>>& headers,
                       std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

// The host (and port) of `url`, without any user:password part, for messages.
std::string HostOf(std::string_view url) {
  size_t start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string_view authority =
      url.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  return authority.empty() ? std::string("(no host)") : std::string(authority);
}

// Loads libcurl (which also runs curl_global_init once).
void GlobalInit() { Curl(); }

// What the callbacks fill while a transfer runs.
struct Transfer {
  HttpResponse response;
  bool too_large = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (transfer->response.body.size() + n > kMaxBodyBytes) {
    transfer->too_large = true;
    return 0;  // aborts the transfer
  }
  transfer->response.body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t n = size * count;
  std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new header block (after "100 Continue" or an interim answer).
    transfer->response.headers.clear();
    return n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;  // the blank line ending the block
  std::string name = ToLower(Trim(line.substr(0, colon)));
  std::string value(Trim(line.substr(colon + 1)));
  if (!name.empty()) transfer->response.headers.emplace_back(std::move(name), std::move(value));
  return n;
}

// Frees a curl_slist when it goes out of scope.
struct SlistDeleter {
  curl_slist* list = nullptr;
  ~SlistDeleter() { Curl().slist_free_all(list); }
  void Append(const std::string& line) {
    curl_slist* next = Curl().slist_append(list, line.c_str());
    if (next == nullptr) throw Error(ErrorCode::kInternal, "out of memory building HTTP headers");
    list = next;
  }
};

}  // namespace

void HttpRequest::SetHeader(std::string_view name, std::string_view value) {
  for (auto it = headers.begin(); it != headers.end();) {
    if (EqualsIgnoreCase(it->first, name)) {
      it = headers.erase(it);
    } else {
      ++it;
    }
  }
  headers.emplace_back(std::string(name), std::string(value));
}

std::string HttpRequest::Header(std::string_view name) const { return FindHeader(headers, name); }

std::string HttpResponse::Header(std::string_view name) const { return FindHeader(headers, name); }

struct HttpClient::Impl {
  HttpOptions options;
  HttpTransport transport;  // set: no libcurl, every request goes to it
  CURLSH* share = nullptr;
  // One lock per kind of shared data, so DNS and TLS-session look-ups of different
  // threads do not wait on each other.
  std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;
  std::mutex pool_mu;
  std::vector<CURL*> pool;

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Impl*>(user)->locks[static_cast<size_t>(data)].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<Impl*>(user)->locks[static_cast<size_t>(data)].unlock();
  }

  CURL* TakeHandle() {
    {
      std::lock_guard<std::mutex> lock(pool_mu);
      if (!pool.empty()) {
        CURL* handle = pool.back();
        pool.pop_back();
        return handle;
      }
    }
    CURL* handle = Curl().easy_init();
    if (handle == nullptr) throw Error(ErrorCode::kInternal, "libcurl could not create a handle");
    return handle;
  }

  void ReturnHandle(CURL* handle) {
    {
      std::lock_guard<std::mutex> lock(pool_mu);
      if (pool.size() < kMaxPooledHandles) {
        pool.push_back(handle);
        return;
      }
    }
    Curl().easy_cleanup(handle);
  }
};

HttpClient::HttpClient(HttpOptions options) : impl_(std::make_unique<Impl>()) {
  GlobalInit();
  impl_->options = std::move(options);
  impl_->share = Curl().share_init();
  if (impl_->share == nullptr) {
    throw Error(ErrorCode::kInternal, "libcurl could not create a share handle");
  }
  Curl().share_setopt(impl_->share, CURLSHOPT_LOCKFUNC, &Impl::Lock);
  Curl().share_setopt(impl_->share, CURLSHOPT_UNLOCKFUNC, &Impl::Unlock);
  Curl().share_setopt(impl_->share, CURLSHOPT_USERDATA, impl_.get());
  // Connections are kept alive by the pooled easy handles rather than in the share:
  // libcurl documents a shared connection cache as unsupported across concurrent
  // threads. A handle keeps its connections while it waits in the pool.
  Curl().share_setopt(impl_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  Curl().share_setopt(impl_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

HttpClient::HttpClient(HttpTransport transport) : impl_(std::make_unique<Impl>()) {
  if (!transport) throw Error(ErrorCode::kInternal, "HttpClient needs a transport");
  impl_->transport = std::move(transport);
}

HttpClient::~HttpClient() {
  if (impl_->transport) return;  // libcurl was never used
  for (CURL* handle : impl_->pool) Curl().easy_cleanup(handle);
  impl_->pool.clear();
  Curl().share_cleanup(impl_->share);
}

const HttpOptions& HttpClient::options() const { return impl_->options; }

HttpResponse HttpClient::Send(const HttpRequest& request) {
  if (impl_->transport) return impl_->transport(request);
  const HttpOptions& opt = impl_->options;
  CURL* h = impl_->TakeHandle();
  struct Returner {
    Impl* impl;
    CURL* handle;
    ~Returner() { impl->ReturnHandle(handle); }
  } returner{impl_.get(), h};

  Curl().easy_reset(h);
  Transfer transfer;
  char error_text[CURL_ERROR_SIZE] = {0};
  SlistDeleter header_list;

  Curl().easy_setopt(h, CURLOPT_SHARE, impl_->share);
  Curl().easy_setopt(h, CURLOPT_URL, request.url.c_str());
  Curl().easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  Curl().easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  Curl().easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  Curl().easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "identity");
  Curl().easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  long timeout_ms = request.timeout_ms > 0 ? request.timeout_ms : opt.timeout_ms;
  long connect_timeout_ms = opt.connect_timeout_ms;
  if (request.timeout_ms > 0 && (connect_timeout_ms <= 0 || connect_timeout_ms > timeout_ms)) {
    connect_timeout_ms = timeout_ms;
  }
  if (connect_timeout_ms > 0) Curl().easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
  if (timeout_ms > 0) Curl().easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  Curl().easy_setopt(h, CURLOPT_SSL_VERIFYPEER, opt.verify_tls ? 1L : 0L);
  Curl().easy_setopt(h, CURLOPT_SSL_VERIFYHOST, opt.verify_tls ? 2L : 0L);
  if (!opt.ca_bundle.empty()) Curl().easy_setopt(h, CURLOPT_CAINFO, opt.ca_bundle.c_str());
  // With no proxy configured, libcurl reads HTTPS_PROXY / HTTP_PROXY / NO_PROXY itself.
  if (request.direct) {
    Curl().easy_setopt(h, CURLOPT_PROXY, "");
    Curl().easy_setopt(h, CURLOPT_NOPROXY, "*");
  } else if (!opt.proxy.empty()) {
    Curl().easy_setopt(h, CURLOPT_PROXY, opt.proxy.c_str());
  }
  if (request.fresh_connection) Curl().easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
  Curl().easy_setopt(h, CURLOPT_ERRORBUFFER, error_text);
  Curl().easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnBody);
  Curl().easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  Curl().easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader);
  Curl().easy_setopt(h, CURLOPT_HEADERDATA, &transfer);

  const std::string& method = request.method;
  bool sends_body = false;
  if (method == "GET") {
    Curl().easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    Curl().easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    if (method != "POST") Curl().easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
    sends_body = method == "POST" || method == "PUT" || method == "PATCH" || !request.body.empty();
  }
  if (sends_body) {
    Curl().easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    Curl().easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
  }

  for (const auto& [name, value] : request.headers) {
    // "Name;" is libcurl's way to send a header with an empty value.
    header_list.Append(value.empty() ? name + ";" : name + ": " + value);
  }
  // No "Expect: 100-continue" round trip; no form content type made up by libcurl.
  if (request.Header("Expect").empty()) header_list.Append("Expect:");
  if (sends_body && request.Header("Content-Type").empty()) header_list.Append("Content-Type:");
  Curl().easy_setopt(h, CURLOPT_HTTPHEADER, header_list.list);

  CURLcode rc = Curl().easy_perform(h);
  if (rc != CURLE_OK) {
    std::string host = HostOf(request.url);
    std::string detail =
        transfer.too_large
            ? "the answer is larger than " + std::to_string(kMaxBodyBytes >> 20) + " MiB"
            : (error_text[0] != '\0' ? std::string(error_text)
                                     : std::string(Curl().easy_strerror(rc)));
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
    // libcurl counts the request bytes it wrote; none means the server never saw it.
    long request_bytes = 0;
    Curl().easy_getinfo(h, CURLINFO_REQUEST_SIZE, &request_bytes);
    throw NetworkError("could not reach " + host + ": " + detail + " (curl error " +
                           std::to_string(static_cast<int>(rc)) + ")",
                       request_bytes > 0);
  }
  long status = 0;
  Curl().easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  transfer.response.status = static_cast<int>(status);
  return std::move(transfer.response);
}

}  // namespace orb
