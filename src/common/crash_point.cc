#include "common/crash_point.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace orb {
namespace {

// ORB_CRASH_AT read once: the point's name and the hit to crash on (1 = first).
struct CrashPlan {
  std::string point;
  long hit = 1;
};

const CrashPlan& Plan() {
  static const CrashPlan plan = [] {
    CrashPlan p;
    const char* env = std::getenv("ORB_CRASH_AT");
    if (env == nullptr) return p;
    p.point = env;
    if (const auto colon = p.point.rfind(':'); colon != std::string::npos) {
      p.hit = std::strtol(p.point.c_str() + colon + 1, nullptr, 10);
      p.point.resize(colon);
    }
    return p;
  }();
  return plan;
}

}  // namespace

void CrashPoint(std::string_view point) {
  const CrashPlan& plan = Plan();
  if (plan.point.empty() || plan.point != point) return;
  static std::atomic<long> hits{0};
  if (hits.fetch_add(1) + 1 != plan.hit) return;
  ::kill(::getpid(), SIGKILL);
  ::_exit(137);  // not reached
}

}  // namespace orb
