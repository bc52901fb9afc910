#include "store/pq_library.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "common/error.h"

namespace orb {

namespace {

constexpr const char* kLibraryName = "libpq.so.5";

template <typename F>
void Resolve(void* handle, const char* name, F& out) {
  void* symbol = ::dlsym(handle, name);
  if (!symbol) {
    throw Error(ErrorCode::kStore, std::string(kLibraryName) + " has no " + name +
                                       ": install Debian's libpq5");
  }
  out = reinterpret_cast<F>(symbol);
}

PqLibrary Load() {
  void* handle = ::dlopen(kLibraryName, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    throw Error(ErrorCode::kStore, std::string("cannot load ") + kLibraryName + ": " +
                                       (why ? why : "unknown reason") +
                                       " (install Debian's libpq5 to use the postgresql store)");
  }
  PqLibrary lib{};
  Resolve(handle, "PQconnectdb", lib.connectdb);
  Resolve(handle, "PQstatus", lib.status);
  Resolve(handle, "PQerrorMessage", lib.error_message);
  Resolve(handle, "PQfinish", lib.finish);
  Resolve(handle, "PQexec", lib.exec);
  Resolve(handle, "PQexecParams", lib.exec_params);
  Resolve(handle, "PQresultStatus", lib.result_status);
  Resolve(handle, "PQresultErrorField", lib.result_error_field);
  Resolve(handle, "PQresultErrorMessage", lib.result_error_message);
  Resolve(handle, "PQclear", lib.clear);
  Resolve(handle, "PQntuples", lib.ntuples);
  Resolve(handle, "PQgetvalue", lib.getvalue);
  Resolve(handle, "PQgetisnull", lib.getisnull);
  Resolve(handle, "PQcmdTuples", lib.cmd_tuples);
  Resolve(handle, "PQtransactionStatus", lib.transaction_status);
  Resolve(handle, "PQescapeIdentifier", lib.escape_identifier);
  Resolve(handle, "PQfreemem", lib.freemem);
  Resolve(handle, "PQsetNoticeProcessor", lib.set_notice_processor);
  Resolve(handle, "PQserverVersion", lib.server_version);
  return lib;  // the library stays loaded for the life of the process
}

}  // namespace

const PqLibrary& Pq() {
  static std::once_flag once;
  static PqLibrary library;
  std::call_once(once, [] { library = Load(); });
  return library;
}

}  // namespace orb
