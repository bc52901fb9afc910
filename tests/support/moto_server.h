#pragma once

#include <memory>
#include <string>

#include "provider/aws/aws_client.h"
#include "provider/aws/credentials.h"

namespace orb::testing {

// The moto AWS emulator, run from Debian's python3-moto package as unpacked by
// tools/fetch-moto.sh (into <repo>/.deps/moto, or $ORB_MOTO_DIR), with Debian's
// /usr/bin/python3, on a free loopback port. One server per test program: started
// on first use, stopped (SIGTERM, then SIGKILL) when the program exits.
class MotoServer {
 public:
  // The shared server, started if needed. Throws std::runtime_error saying what
  // to run (tools/fetch-moto.sh --deps) when moto is missing or does not start
  // within 30 s; its log is kept in the test's temp directory and named.
  static MotoServer& Shared();

  // "http://127.0.0.1:<port>".
  std::string endpoint() const { return endpoint_; }

  // Forgets every resource (moto's /moto-api/reset), for test isolation.
  void Reset();

  ~MotoServer();

 private:
  MotoServer();
  std::string endpoint_;
  int pid_ = -1;
  std::string log_path_;
};

// Options for an AwsClient pointed at `endpoint` for every service, signing for
// `region`, with fast retries (tests must not sleep long).
AwsClientOptions TestClientOptions(const std::string& endpoint,
                                   const std::string& region = "us-east-1");

// Fixed test credentials (moto accepts any).
std::shared_ptr<CredentialsProvider> TestCredentials();

}  // namespace orb::testing
