#pragma once

// libcurl's declarations without its type-checking macros, so that its functions
// can be named as function-pointer types.
#ifndef CURL_DISABLE_TYPECHECK
#define CURL_DISABLE_TYPECHECK
#endif
#include <curl/curl.h>

namespace orb {

// libcurl, loaded on first use with dlopen instead of at process start.
// HostFactory starts a new orb process for every call and most calls never reach
// AWS; linking libcurl and the thirty-odd libraries it pulls in cost about 6 ms
// per start, several times orb's whole budget for a call.
struct CurlLibrary {
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_perform) easy_perform;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_reset) easy_reset;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
  decltype(&::curl_share_init) share_init;
  decltype(&::curl_share_setopt) share_setopt;
  decltype(&::curl_share_cleanup) share_cleanup;
};

// The loaded library (libcurl.so.4), with curl_global_init done once. Thread-safe.
// Throws Error(kInternal) naming the library and dlerror()'s reason when it cannot
// be loaded (install Debian's libcurl4).
const CurlLibrary& Curl();

}  // namespace orb
