#pragma once

// JWT bearer tokens signed with HS256 (a shared secret, server.jwt_hs256_secret_file)
// or RS256 (server.jwt_rs256_public_key_file, PEM). A token is accepted only when:
// its header's alg is one a key is configured for, and libjwt verifies it with that
// key and no other (so alg=none, and an HS256 token "signed" with the RSA public key
// text, fail); `exp` is present and not past; `nbf` and `iat`, when present, are not
// in the future; `iss` and `aud` match server.jwt_issuer and server.jwt_audience when
// those are set. Clock skew of kJwtLeewaySec is tolerated. The role comes from the
// `role` claim (a string), else the highest known entry of a `roles` array, else the
// highest "orb:<role>" (or bare "<role>") word of a space-separated `scope`.

#include <ctime>
#include <memory>
#include <string>

#include "api/server_state.h"

namespace orb::api {

inline constexpr long kJwtLeewaySec = 60;

// What a JWT says about its bearer once verified.
struct JwtIdentity {
  std::string subject;  // `sub`, empty when absent
  Role role = Role::kViewer;
};

// Why a token was refused: 401 (not authentic, expired, ...) or 403 (authentic but
// granting no known role), with a message that never repeats the token.
struct JwtRejection {
  int status = 401;
  std::string message;
};

class JwtVerifier {
 public:
  // Reads the key files (either may be empty, not both). Throws Error(kInvalidConfig)
  // naming the file when it cannot be read, the HS256 secret is shorter than 32
  // bytes or readable by group or others, or the public key is not an RSA PEM key.
  JwtVerifier(const std::string& hs256_secret_file, const std::string& rs256_public_key_file,
              std::string issuer, std::string audience);
  ~JwtVerifier();

  // Verifies `token` at time `now`: the identity, or the rejection in `why`.
  bool Verify(const std::string& token, std::time_t now, JwtIdentity* identity,
              JwtRejection* why) const;

 private:
  std::string hs256_secret_;
  std::string rs256_public_pem_;
  std::string issuer_, audience_;
};

}  // namespace orb::api
