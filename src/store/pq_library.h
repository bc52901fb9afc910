#pragma once

// libpq (PostgreSQL's client library), loaded on first use with dlopen instead of at
// process start: HostFactory starts a new orb process for every call, and libpq with
// the two dozen libraries it pulls in (TLS, Kerberos, LDAP) would cost every call,
// even on the embedded SQLite store, several milliseconds.

#include <libpq-fe.h>

namespace orb {

struct PqLibrary {
  decltype(&::PQconnectdb) connectdb;
  decltype(&::PQstatus) status;
  decltype(&::PQerrorMessage) error_message;
  decltype(&::PQfinish) finish;
  decltype(&::PQexec) exec;
  decltype(&::PQexecParams) exec_params;
  decltype(&::PQresultStatus) result_status;
  decltype(&::PQresultErrorField) result_error_field;
  decltype(&::PQresultErrorMessage) result_error_message;
  decltype(&::PQclear) clear;
  decltype(&::PQntuples) ntuples;
  decltype(&::PQgetvalue) getvalue;
  decltype(&::PQgetisnull) getisnull;
  decltype(&::PQcmdTuples) cmd_tuples;
  decltype(&::PQtransactionStatus) transaction_status;
  decltype(&::PQescapeIdentifier) escape_identifier;
  decltype(&::PQfreemem) freemem;
  decltype(&::PQsetNoticeProcessor) set_notice_processor;
  decltype(&::PQserverVersion) server_version;
};

// The loaded library (libpq.so.5). Thread-safe. Throws Error(kStore) naming the
// library and dlerror()'s reason when it cannot be loaded (install Debian's libpq5).
const PqLibrary& Pq();

}  // namespace orb
