// What only the PostgreSQL store does (its shared behaviour is in store_suite_test.cc):
// connecting with a password kept out of every message, refusing a schema it does not
// own or one newer than it knows, surviving a connection the server dropped, and the
// storage.* settings as `orb` reads them. Runs against the test cluster
// (tools/pg-test-cluster.sh, ctest's fixture "postgres").

#include "store/postgres_store.h"

#include <libpq-fe.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "support/orb_process.h"
#include "support/store_backends.h"

namespace orb {
namespace {

namespace fs = std::filesystem;

// Runs `sql` on the test cluster as the test role (outside any store), failing the
// test when it fails.
void Admin(const StoreOptions& o, const std::string& sql) {
  const std::string conninfo = o.url + "?password=" + o.password;
  PGconn* c = PQconnectdb(conninfo.c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  PGresult* r = PQexec(c, sql.c_str());
  const ExecStatusType status = PQresultStatus(r);
  EXPECT_TRUE(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
      << sql << ": " << PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
}

Error OpenError(const StoreOptions& o) {
  try {
    PostgresStore store(o);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "the store opened";
  return Error(ErrorCode::kInternal, "");
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = testing::MakeStoreBackend("postgresql");
    options_ = backend_->Options();
  }

  std::unique_ptr<testing::StoreBackend> backend_;
  StoreOptions options_;
};

TEST(RedactUrlTest, PasswordsInTheUrlAreReplaced) {
  EXPECT_EQ(RedactUrl("postgresql://orb:s3cret@db:5432/orb"), "postgresql://orb:***@db:5432/orb");
  EXPECT_EQ(RedactUrl("postgresql://db/orb?sslmode=require&password=s3cret&connect_timeout=5"),
            "postgresql://db/orb?sslmode=require&password=***&connect_timeout=5");
  EXPECT_EQ(RedactUrl("postgresql://orb@db/orb"), "postgresql://orb@db/orb");
  EXPECT_EQ(RedactUrl("postgresql://db/orb"), "postgresql://db/orb");
}

TEST_F(PostgresStoreTest, AWrongPasswordIsAClearErrorThatNeverShowsIt) {
  StoreOptions o = options_;
  o.password = "Wr0ngPassw0rdForTheTest";
  Error e = OpenError(o);
  EXPECT_EQ(e.code(), ErrorCode::kStore);
  const std::string message = e.what();
  EXPECT_NE(message.find("cannot connect to PostgreSQL " + o.url), std::string::npos) << message;
  EXPECT_NE(message.find("password authentication failed"), std::string::npos) << message;
  EXPECT_EQ(message.find(o.password), std::string::npos) << message;
}

TEST_F(PostgresStoreTest, AServerThatIsNotThereIsAClearError) {
  StoreOptions o = options_;
  o.url = "postgresql://orb@127.0.0.1:1/orb_test";
  Error e = OpenError(o);
  EXPECT_EQ(e.code(), ErrorCode::kStore);
  EXPECT_NE(std::string(e.what()).find("cannot connect to PostgreSQL postgresql://orb@127.0.0.1:1"),
            std::string::npos)
      << e.what();
  EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
}

TEST_F(PostgresStoreTest, AMissingUrlOrSchemaOrAnotherSchemeIsAConfigurationError) {
  StoreOptions o = options_;
  o.url = "";
  EXPECT_EQ(OpenError(o).code(), ErrorCode::kInvalidConfig);
  o.url = "mysql://orb:pw@db/orb";
  Error e = OpenError(o);
  EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
  EXPECT_EQ(std::string(e.what()).find(":pw@"), std::string::npos) << e.what();
  o = options_;
  o.schema = "";
  EXPECT_EQ(OpenError(o).code(), ErrorCode::kInvalidConfig);
}

TEST_F(PostgresStoreTest, APasswordInTheUrlWorksAndIsNeverShown) {
  StoreOptions o = options_;
  o.url.replace(o.url.find("orb@"), 4, "orb:" + o.password + "@");
  o.password.clear();
  PostgresStore store(o);
  const StoreInfo info = store.Info();
  EXPECT_EQ(info.strategy, "postgresql");
  EXPECT_EQ(info.schema_version, PostgresStore::CurrentSchemaVersion());
  EXPECT_EQ(info.location.find(options_.password), std::string::npos) << info.location;
  EXPECT_NE(info.location.find("orb:***@"), std::string::npos) << info.location;
  EXPECT_NE(info.location.find("schema " + o.schema), std::string::npos) << info.location;
}

TEST_F(PostgresStoreTest, ASchemaHoldingAnotherProgramsTablesIsRefusedAndLeftAlone) {
  Admin(options_, "CREATE SCHEMA \"" + options_.schema + "\"; CREATE TABLE \"" + options_.schema +
                      "\".invoices (id int); INSERT INTO \"" + options_.schema +
                      "\".invoices VALUES (7)");
  Error e = OpenError(options_);
  EXPECT_EQ(e.code(), ErrorCode::kStore);
  EXPECT_NE(std::string(e.what()).find("holds another program's tables"), std::string::npos)
      << e.what();
  Admin(options_, "DO $$ BEGIN IF (SELECT count(*) FROM \"" + options_.schema +
                      "\".invoices) <> 1 THEN RAISE 'touched'; END IF; END $$");
}

TEST_F(PostgresStoreTest, ANewerSchemaIsRefusedAndAnOpenStoreNoticesTheChange) {
  auto store = backend_->Open();
  store->CheckHealth();
  Admin(options_, "UPDATE \"" + options_.schema + "\".schema_version SET version = 99");
  Error e = OpenError(options_);
  EXPECT_NE(std::string(e.what()).find("schema version 99 is newer than this orb supports"),
            std::string::npos)
      << e.what();
  try {
    store->CheckHealth();
    ADD_FAILURE() << "the health check passed";
  } catch (const Error& h) {
    EXPECT_NE(std::string(h.what()).find("schema version 99"), std::string::npos) << h.what();
  }
}

TEST_F(PostgresStoreTest, ASchemaNameThatNeedsQuotingWorks) {
  StoreOptions o = options_;
  o.schema = options_.schema + " Mixed-Case";
  {
    PostgresStore store(o);
    Request r;
    r.request_id = "req-quoted";
    r.template_id = "T";
    r.provider_name = "awsinst";
    store.InsertRequest(r);
  }
  PostgresStore again(o);
  EXPECT_TRUE(again.GetRequest("req-quoted").has_value());
  Admin(options_, "DROP SCHEMA \"" + o.schema + "\" CASCADE");
}

TEST_F(PostgresStoreTest, AConnectionTheServerDroppedIsReportedThenReplaced) {
  StoreOptions o = options_;
  const std::string app = "orb-test-" + std::to_string(::getpid()) + "-" + o.schema;
  o.url += "?application_name=" + app;
  PostgresStore store(o);
  Request r;
  r.request_id = "req-before-drop";
  r.template_id = "T";
  r.provider_name = "awsinst";
  store.InsertRequest(r);
  Admin(options_, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" +
                      app + "'");
  try {
    store.GetRequest("req-before-drop");
    // libpq may notice only on the next call; either way the store goes on below.
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStore);
    EXPECT_NE(std::string(e.what()).find("lost the connection"), std::string::npos) << e.what();
  }
  std::optional<Request> read = store.GetRequest("req-before-drop");
  ASSERT_TRUE(read.has_value()) << "[the next call connects again]";
  EXPECT_EQ(read->version, 1);
}

// `orb storage health` and `orb storage show` on the postgresql store, the password
// from a file: what a site admin runs after configuring it.
TEST_F(PostgresStoreTest, OrbUsesThePasswordFileAndNeverPrintsTheSecret) {
  char tmpl[] = "/tmp/orb-pgcli-XXXXXX";
  const fs::path dir = ::mkdtemp(tmpl);
  const fs::path password_file = dir / "db-password";
  {
    std::ofstream(password_file) << options_.password << "\n";
  }
  ::chmod(password_file.c_str(), 0600);
  std::map<std::string, std::string> env = {
      {"HOME", dir.string()},
      {"PATH", "/usr/bin:/bin"},
      {"ORB_WORK_DIR", (dir / "work").string()},
      {"ORB_CONF_DIR", (dir / "conf").string()},
      {"ORB_LOG_FILE", (dir / "orb.log").string()},
      {"ORB_STORAGE_STRATEGY", "postgresql"},
      {"ORB_STORAGE_URL", options_.url},
      {"ORB_STORAGE_SCHEMA", options_.schema},
      {"ORB_STORAGE_PASSWORD_FILE", password_file.string()},
  };
  fs::create_directories(dir / "work");
  fs::create_directories(dir / "conf");
  testing::OrbOutcome health = testing::RunOrb({"storage", "health"}, env, dir);
  EXPECT_EQ(health.code, 0) << health.out << health.err;
  testing::OrbOutcome show = testing::RunOrb({"storage", "show", "--format", "json"}, env, dir);
  EXPECT_EQ(show.code, 0) << show.out << show.err;
  EXPECT_NE(show.out.find("postgresql"), std::string::npos) << show.out;

  ::chmod(password_file.c_str(), 0644);
  testing::OrbOutcome open_file = testing::RunOrb({"storage", "health"}, env, dir);
  EXPECT_NE(open_file.code, 0) << open_file.out;
  EXPECT_NE(open_file.err.find("storage.password_file"), std::string::npos) << open_file.err;
  EXPECT_NE(open_file.err.find("chmod 600"), std::string::npos) << open_file.err;

  std::ofstream(password_file, std::ios::trunc) << "not-the-password\n";
  ::chmod(password_file.c_str(), 0600);
  testing::OrbOutcome wrong = testing::RunOrb({"storage", "health"}, env, dir);
  EXPECT_NE(wrong.code, 0);
  EXPECT_NE(wrong.err.find("password authentication failed"), std::string::npos) << wrong.err;

  for (const auto& run : {health, show, open_file, wrong}) {
    EXPECT_EQ(run.out.find(options_.password), std::string::npos) << run.out;
    EXPECT_EQ(run.err.find(options_.password), std::string::npos) << run.err;
    EXPECT_EQ(run.err.find("not-the-password"), std::string::npos) << run.err;
  }
  const std::string log = testing::ReadWholeFile(dir / "orb.log");
  EXPECT_EQ(log.find(options_.password), std::string::npos);
  EXPECT_EQ(log.find("not-the-password"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace orb
