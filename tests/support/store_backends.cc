#include "support/store_backends.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>

#ifndef ORB_PG_TEST_DIR
#error "ORB_PG_TEST_DIR must name the directory holding the PostgreSQL test cluster's url and password"
#endif

namespace orb::testing {
namespace {

namespace fs = std::filesystem;

// A SQLite file in a directory of its own under the system's temporary directory;
// the directory and everything in it go with the object.
class SqliteBackend : public StoreBackend {
 public:
  SqliteBackend() {
    std::string tmpl = (fs::temp_directory_path() / "orb_store_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      throw std::runtime_error("cannot create a temporary directory from " + tmpl);
    }
    dir_ = tmpl;
  }

  ~SqliteBackend() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string name() const override { return "sqlite"; }

  StoreOptions Options() const override {
    StoreOptions options;
    options.strategy = "sqlite";
    options.path = (dir_ / "orb.db").string();
    options.busy_timeout_ms = 10000;
    return options;
  }

 private:
  fs::path dir_;
};

// The first line of the file at `path`; nullopt when it cannot be read.
std::optional<std::string> FirstLine(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// `text` percent-encoded for a URI query value: everything but the unreserved
// characters (RFC 3986) as %XX.
std::string PercentEncode(const std::string& text) {
  static const char* const kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

// A schema name no other backend object, in this or another process, uses:
// t_<pid>_<counter>_<random hex>.
std::string FreshSchemaName() {
  static std::atomic<unsigned> counter{0};
  std::random_device random;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(random()));
  return "t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" + hex;
}

// A schema of its own in the PostgreSQL test cluster, dropped (with everything in
// it) when the object goes.
class PostgresBackend : public StoreBackend {
 public:
  PostgresBackend() {
    const fs::path dir = ORB_PG_TEST_DIR;
    std::optional<std::string> url = FirstLine(dir / "url");
    if (!url) {
      throw std::runtime_error(
          "the PostgreSQL test cluster is not running (" + (dir / "url").string() +
          " missing): ctest starts it (fixture postgres), or run tools/pg-test-cluster.sh start " +
          dir.string());
    }
    url_ = *url;
    password_ = FirstLine(dir / "password").value_or("");
    schema_ = FreshSchemaName();
  }

  ~PostgresBackend() override {
    // Best effort: a schema left behind holds only test data.
    const std::string connection = url_ + (url_.find('?') == std::string::npos ? "?" : "&") +
                                   "password=" + PercentEncode(password_);
    PGconn* c = PQconnectdb(connection.c_str());
    if (PQstatus(c) == CONNECTION_OK) {
      PQclear(PQexec(c, ("DROP SCHEMA IF EXISTS \"" + schema_ + "\" CASCADE").c_str()));
    }
    PQfinish(c);
  }

  std::string name() const override { return "postgresql"; }

  StoreOptions Options() const override {
    StoreOptions options;
    options.strategy = "postgresql";
    options.url = url_;
    options.password = password_;
    options.schema = schema_;
    options.busy_timeout_ms = 10000;
    return options;
  }

 private:
  std::string url_;
  std::string password_;
  std::string schema_;
};

}  // namespace

std::vector<std::string> StoreBackendNames() { return {"sqlite", "postgresql"}; }

std::unique_ptr<StoreBackend> MakeStoreBackend(const std::string& name) {
  if (name == "sqlite") return std::make_unique<SqliteBackend>();
  if (name == "postgresql") return std::make_unique<PostgresBackend>();
  throw std::runtime_error("unknown store back end \"" + name + "\"");
}

}  // namespace orb::testing
