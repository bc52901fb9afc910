#include "provider/aws/curl_library.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "common/error.h"

namespace orb {

namespace {

constexpr const char* kLibraryName = "libcurl.so.4";

template <typename F>
void Resolve(void* handle, const char* name, F& out) {
  void* symbol = ::dlsym(handle, name);
  if (!symbol) {
    throw Error(ErrorCode::kInternal, std::string(kLibraryName) + " has no " + name +
                                          ": install Debian's libcurl4");
  }
  out = reinterpret_cast<F>(symbol);
}

CurlLibrary Load() {
  void* handle = ::dlopen(kLibraryName, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    throw Error(ErrorCode::kInternal, std::string("cannot load ") + kLibraryName + ": " +
                                          (why ? why : "unknown reason") +
                                          " (install Debian's libcurl4)");
  }
  CurlLibrary lib{};
  Resolve(handle, "curl_global_init", lib.global_init);
  Resolve(handle, "curl_easy_init", lib.easy_init);
  Resolve(handle, "curl_easy_setopt", lib.easy_setopt);
  Resolve(handle, "curl_easy_perform", lib.easy_perform);
  Resolve(handle, "curl_easy_getinfo", lib.easy_getinfo);
  Resolve(handle, "curl_easy_reset", lib.easy_reset);
  Resolve(handle, "curl_easy_cleanup", lib.easy_cleanup);
  Resolve(handle, "curl_easy_strerror", lib.easy_strerror);
  Resolve(handle, "curl_slist_append", lib.slist_append);
  Resolve(handle, "curl_slist_free_all", lib.slist_free_all);
  Resolve(handle, "curl_share_init", lib.share_init);
  Resolve(handle, "curl_share_setopt", lib.share_setopt);
  Resolve(handle, "curl_share_cleanup", lib.share_cleanup);
  if (lib.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    throw Error(ErrorCode::kInternal, "libcurl failed to initialise");
  }
  return lib;  // the library stays loaded for the life of the process
}

}  // namespace

const CurlLibrary& Curl() {
  static std::once_flag once;
  static CurlLibrary library;
  std::call_once(once, [] { library = Load(); });
  return library;
}

}  // namespace orb
