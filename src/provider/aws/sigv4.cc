#include "provider/aws/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/strings.h"
#include "provider/aws/credentials.h"

namespace orb {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kDateHeader = "X-Amz-Date";
constexpr std::string_view kTokenHeader = "X-Amz-Security-Token";
constexpr std::string_view kContentHashHeader = "X-Amz-Content-Sha256";

// Headers never signed: replaced by the signature itself, or liable to be changed
// or dropped on the way (by libcurl, a proxy, or AWS's own tracing).
bool IsUnsignedHeader(std::string_view lower_name) {
  static constexpr std::string_view kUnsigned[] = {
      "authorization", "connection", "expect", "keep-alive", "proxy-authenticate",
      "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding",
      "upgrade", "user-agent", "x-amzn-trace-id"};
  return std::find(std::begin(kUnsigned), std::end(kUnsigned), lower_name) != std::end(kUnsigned);
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ToLower(a) == ToLower(b);
}

std::string Hex(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0x0f];
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes; a '%' not followed by two hex digits stays as it is.
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// A string wiped from memory when it goes out of scope (signing keys).
class SecretBytes {
 public:
  explicit SecretBytes(std::string value) : value_(std::move(value)) {}
  ~SecretBytes() { OPENSSL_cleanse(value_.data(), value_.size()); }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  std::string_view view() const { return value_; }

 private:
  std::string value_;
};

// The raw (binary) HMAC-SHA256 of `data` under `key`.
std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac,
           &size) == nullptr) {
    throw Error(ErrorCode::kInternal, "OpenSSL could not compute an HMAC-SHA256");
  }
  std::string out(reinterpret_cast<const char*>(mac), size);
  OPENSSL_cleanse(mac, sizeof(mac));
  return out;
}

// The parts of an absolute URL that signing needs.
struct UrlParts {
  std::string scheme;     // lower case
  std::string authority;  // host[:port], without user info
  std::string path;       // as written, "" when absent
  std::string query;      // after '?', before any '#'
};

UrlParts SplitUrl(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) {
    throw Error(ErrorCode::kInternal,
                "cannot sign an AWS request whose URL is not absolute (scheme://host/path)");
  }
  UrlParts parts;
  parts.scheme = ToLower(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  const size_t hash = rest.find('#');
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);
  const size_t authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  parts.authority = std::string(authority);
  if (authority_end == std::string_view::npos) return parts;
  rest = rest.substr(authority_end);
  const size_t question = rest.find('?');
  parts.path = std::string(rest.substr(0, question));
  if (question != std::string_view::npos) parts.query = std::string(rest.substr(question + 1));
  return parts;
}

// The Host header's value for `url`: the authority without a default port.
std::string HostFor(const UrlParts& url) {
  std::string_view authority = url.authority;
  const size_t bracket = authority.rfind(']');  // IPv6 literal: [::1]:8080
  const size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket)) {
    return std::string(authority);
  }
  const std::string_view port = authority.substr(colon + 1);
  if (port.empty() || (url.scheme == "https" && port == "443") ||
      (url.scheme == "http" && port == "80")) {
    return std::string(authority.substr(0, colon));
  }
  return std::string(authority);
}

// Removes empty, "." and ".." segments as RFC 3986 section 5.2.4 does; a path that
// ended in a slash or a dot segment keeps its trailing slash.
std::string NormalizePath(std::string_view path) {
  std::vector<std::string_view> kept;
  bool trailing_slash = false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    const bool last = end == path.size();
    if (segment.empty() || segment == ".") {
      if (last) trailing_slash = true;
    } else if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
      if (last) trailing_slash = true;
    } else {
      kept.push_back(segment);
      if (last) trailing_slash = false;
    }
    start = end + 1;
  }
  std::string out = "/";
  for (size_t i = 0; i < kept.size(); ++i) {
    if (i > 0) out += '/';
    out += kept[i];
  }
  if (trailing_slash && !kept.empty()) out += '/';
  return out;
}

std::string CanonicalUri(std::string_view path, bool normalize) {
  if (path.empty()) return "/";
  return UriEncode(normalize ? NormalizePath(path) : std::string(path), /*keep_slash=*/true);
}

std::string CanonicalQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view param = query.substr(start, end - start);
    if (!param.empty()) {
      const size_t eq = param.find('=');
      const std::string_view key = param.substr(0, eq);
      const std::string_view value =
          eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
      params.emplace_back(UriEncode(PercentDecode(key)), UriEncode(PercentDecode(value)));
    }
    start = end + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out += '&';
    out += key;
    out += '=';
    out += value;
  }
  return out;
}

// Trims the value and collapses every run of white space (line folds included)
// into one space.
std::string CanonicalHeaderValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : value) {
    if (IsSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

// The index of the first header called `name` (any case), or -1.
long FindHeader(const HttpRequest& request, std::string_view name) {
  for (size_t i = 0; i < request.headers.size(); ++i) {
    if (EqualsIgnoreCase(request.headers[i].first, name)) return static_cast<long>(i);
  }
  return -1;
}

void RemoveHeader(HttpRequest& request, std::string_view name) {
  std::erase_if(request.headers,
                [&](const auto& header) { return EqualsIgnoreCase(header.first, name); });
}

// Replaces every header called `name` by one, appended at the end.
void PutHeader(HttpRequest& request, std::string_view name, std::string value) {
  RemoveHeader(request, name);
  request.headers.emplace_back(std::string(name), std::move(value));
}

std::string FormatAmzDate(EpochSeconds now) {
  const std::time_t t = static_cast<std::time_t>(now);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) {
    throw Error(ErrorCode::kInternal, "cannot format the signing time " + std::to_string(now));
  }
  char buffer[32];
  if (std::strftime(buffer, sizeof(buffer), "%Y%m%dT%H%M%SZ", &tm) == 0) {
    throw Error(ErrorCode::kInternal, "cannot format the signing time " + std::to_string(now));
  }
  return buffer;
}

bool IsAmzDate(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return false;
  for (size_t i = 0; i < 15; ++i) {
    if (i != 8 && (s[i] < '0' || s[i] > '9')) return false;
  }
  return true;
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 0x0f];
    }
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    throw Error(ErrorCode::kInternal, "OpenSSL could not compute a SHA-256 digest");
  }
  return Hex(digest, size);
}

SigV4Parts SignV4(HttpRequest& request, const Credentials& credentials, std::string_view region,
                  std::string_view service, EpochSeconds now) {
  return SignV4(request, credentials, region, service, now, SigV4Options{});
}

SigV4Parts SignV4(HttpRequest& request, const Credentials& credentials, std::string_view region,
                  std::string_view service, EpochSeconds now, const SigV4Options& options) {
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    std::string message =
        "cannot sign the AWS request: the credentials lack an access key id or a secret "
        "access key";
    if (!credentials.source.empty()) message += " (from " + credentials.source + ")";
    throw Error(ErrorCode::kInvalidConfig, message);
  }
  if (region.empty()) {
    throw Error(ErrorCode::kInvalidConfig,
                "cannot sign the AWS request: no AWS region is configured (set aws.region)");
  }
  if (service.empty()) {
    throw Error(ErrorCode::kInternal, "cannot sign the AWS request: no service name given");
  }
  const UrlParts url = SplitUrl(request.url);

  // X-Amz-Date: the request's own, else `now`.
  std::string amz_date;
  if (const long i = FindHeader(request, kDateHeader); i >= 0) {
    amz_date = std::string(Trim(request.headers[i].second));
    if (!IsAmzDate(amz_date)) {
      throw Error(ErrorCode::kInternal,
                  "cannot sign the AWS request: its X-Amz-Date header is not of the form "
                  "YYYYMMDDTHHMMSSZ");
    }
  } else {
    amz_date = FormatAmzDate(now);
    request.headers.emplace_back(std::string(kDateHeader), amz_date);
  }
  if (FindHeader(request, "Host") < 0) request.headers.emplace_back("Host", HostFor(url));
  if (!credentials.session_token.empty()) {
    if (options.sign_session_token) {
      PutHeader(request, kTokenHeader, credentials.session_token);
    } else {
      RemoveHeader(request, kTokenHeader);  // added after signing
    }
  }

  std::string payload_hash;
  if (const long i = FindHeader(request, kContentHashHeader); i >= 0) {
    payload_hash = std::string(Trim(request.headers[i].second));
  } else {
    payload_hash = Sha256Hex(request.body);
    if (options.add_content_sha256) {
      request.headers.emplace_back(std::string(kContentHashHeader), payload_hash);
    }
  }

  // Canonical headers, sorted by lower-case name; repeated headers joined by ','.
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : request.headers) {
    std::string lower = ToLower(Trim(name));
    if (IsUnsignedHeader(lower)) continue;
    std::string canonical = CanonicalHeaderValue(value);
    auto [it, inserted] = headers.try_emplace(std::move(lower), canonical);
    if (!inserted) it->second += "," + canonical;
  }
  std::string canonical_headers, signed_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ":" + value + "\n";
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += name;
  }

  SigV4Parts parts;
  parts.canonical_request = request.method + "\n" + CanonicalUri(url.path, options.normalize_path) +
                            "\n" + CanonicalQuery(url.query) + "\n" + canonical_headers + "\n" +
                            signed_headers + "\n" + payload_hash;

  const std::string date = amz_date.substr(0, 8);
  const std::string scope =
      date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  parts.string_to_sign = std::string(kAlgorithm) + "\n" + amz_date + "\n" + scope + "\n" +
                         Sha256Hex(parts.canonical_request);

  {
    const SecretBytes secret("AWS4" + credentials.secret_access_key);
    const SecretBytes date_key(HmacSha256(secret.view(), date));
    const SecretBytes region_key(HmacSha256(date_key.view(), region));
    const SecretBytes service_key(HmacSha256(region_key.view(), service));
    const SecretBytes signing_key(HmacSha256(service_key.view(), "aws4_request"));
    const std::string mac = HmacSha256(signing_key.view(), parts.string_to_sign);
    parts.signature = Hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
  }

  parts.authorization = std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" +
                        scope + ", SignedHeaders=" + signed_headers +
                        ", Signature=" + parts.signature;
  if (!credentials.session_token.empty() && !options.sign_session_token) {
    request.headers.emplace_back(std::string(kTokenHeader), credentials.session_token);
  }
  PutHeader(request, "Authorization", parts.authorization);
  return parts;
}

}  // namespace orb
