#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"
#include "provider/aws/http_client.h"

namespace orb {

struct Credentials;

// The intermediate results of signing, for tests and debugging (never logged:
// they name the access key id, and the canonical request carries any session token).
struct SigV4Parts {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // lower-case hex
  std::string authorization;  // the Authorization header's value
};

// The choices in which signings differ. The defaults are what every service orb
// calls expects; the others exist for AWS's test suite and for unusual endpoints.
struct SigV4Options {
  // Remove "." and ".." segments and empty segments (duplicate slashes) from the
  // path before encoding it, as every service but S3 requires. The path is
  // URI-encoded once more either way (AWS's "double encoding" of non-S3 paths).
  bool normalize_path = true;
  // With a session token: true = add X-Amz-Security-Token before signing and sign
  // it; false = add it after signing, unsigned (a few services want this).
  bool sign_session_token = true;
  // Add and sign X-Amz-Content-Sha256 (the payload hash), as S3 requires.
  bool add_content_sha256 = false;
};

// Signs `request` in place with AWS Signature Version 4 for `region` and
// `service` ("ec2", "autoscaling", "sts", "dynamodb", "sqs", ...): sets the
// X-Amz-Date header (from `now`, unless the request already has one), the
// Host header when missing (from the URL, with its port only when it is not the
// scheme's default), X-Amz-Security-Token when the credentials carry a session
// token, and Authorization (replacing any earlier one). Works for GET and POST
// alike (Query and JSON protocols): the body is hashed as given, unless the request
// already carries X-Amz-Content-Sha256, whose value is then used.
//
// The canonical request follows AWS's rules: the path as it appears in the URL
// (already percent-encoded for the wire) is normalised and URI-encoded again; query
// keys and values are percent-decoded, re-encoded and sorted ('+' is a literal plus,
// so encode spaces as %20); header names are lower-cased, values trimmed with inner
// white space (including line folds) collapsed, repeated headers joined with ','.
// Every header is signed except Authorization, User-Agent, X-Amzn-Trace-Id and
// hop-by-hop headers (Connection, Expect, Keep-Alive, Proxy-*, TE, Trailer,
// Transfer-Encoding, Upgrade), which proxies and libcurl may change.
//
// Returns the intermediate parts. Throws Error(kInvalidConfig) when the credentials
// lack a key id or secret or `region` is empty, Error(kInternal) when the URL is not
// absolute, `service` is empty or X-Amz-Date is malformed. Messages never carry a
// secret.
SigV4Parts SignV4(HttpRequest& request, const Credentials& credentials, std::string_view region,
                  std::string_view service, EpochSeconds now);

// As above, with explicit `options`.
SigV4Parts SignV4(HttpRequest& request, const Credentials& credentials, std::string_view region,
                  std::string_view service, EpochSeconds now, const SigV4Options& options);

// Percent-encodes `s` as RFC 3986 requires for SigV4 and query strings: every
// byte except A-Z a-z 0-9 - _ . ~ becomes %XX (upper-case hex); with
// `keep_slash`, '/' is kept too (for paths).
std::string UriEncode(std::string_view s, bool keep_slash = false);

// The lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace orb
