#pragma once

#include <memory>
#include <string>

#include "provider/aws/aws_client.h"
#include "provider/aws/credentials.h"

namespace orb::testing {

// The moto AWS emulator, run from Debian's python3-moto package as unpacked by
// tools/fetch-moto.sh (into <repo>/.deps/moto, or $ORB_MOTO_DIR), with Debian's
// /usr/bin/python3, on a free loopback port. One server per test program: started
// on first use, stopped (SIGTERM, then SIGKILL) when the program exits, and also
// when the program dies without exiting (the child asks the kernel for SIGTERM
// when its parent goes away).
class MotoServer {
 public:
  // The shared server, started if needed. Throws std::runtime_error saying what
  // to run (tools/fetch-moto.sh --deps) when moto is missing or does not start
  // within 30 s; its log is kept in the test's temp directory and named.
  static MotoServer& Shared();

  // "http://127.0.0.1:<port>".
  std::string endpoint() const { return endpoint_; }

  // The file moto's output goes to.
  const std::string& log_path() const { return log_path_; }

  // Forgets every resource (moto's /moto-api/reset), for test isolation.
  void Reset();

  ~MotoServer();
  MotoServer(const MotoServer&) = delete;
  MotoServer& operator=(const MotoServer&) = delete;

 private:
  MotoServer();
  void Stop();
  std::string endpoint_;
  int pid_ = -1;
  std::string log_path_;
};

// The folder holding moto's Python package (the dist-packages folder to put on
// PYTHONPATH): $ORB_MOTO_DIR (an unpack folder, or a dist-packages folder itself),
// else <ORB_SOURCE_DIR>/.deps/moto. Returns "" when moto is not there.
std::string FindMotoPythonPath();

// Options for an AwsClient pointed at `endpoint` for every service, signing for
// `region`, with fast retries (tests must not sleep long) and token buckets large
// enough that orb's own pacing never delays a test.
AwsClientOptions TestClientOptions(const std::string& endpoint,
                                   const std::string& region = "us-east-1");

// Fixed test credentials (moto accepts any).
std::shared_ptr<CredentialsProvider> TestCredentials();

// An AwsClient with TestClientOptions(endpoint, region) and TestCredentials().
AwsClient MakeTestAwsClient(const std::string& endpoint, const std::string& region = "us-east-1");

}  // namespace orb::testing
