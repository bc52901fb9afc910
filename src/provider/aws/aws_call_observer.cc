#include "provider/aws/aws_call_observer.h"

#include <memory>
#include <mutex>

namespace orb {

namespace {

std::mutex observer_mu;
std::shared_ptr<const std::function<void(const AwsCallRecord&)>> observer;

}  // namespace

void SetAwsCallObserver(std::function<void(const AwsCallRecord&)> fn) {
  std::lock_guard<std::mutex> lock(observer_mu);
  if (fn) {
    observer = std::make_shared<const std::function<void(const AwsCallRecord&)>>(std::move(fn));
  } else {
    observer.reset();
  }
}

void ReportAwsCall(const AwsCallRecord& record) {
  std::shared_ptr<const std::function<void(const AwsCallRecord&)>> current;
  {
    std::lock_guard<std::mutex> lock(observer_mu);
    current = observer;
  }
  if (current) (*current)(record);
}

}  // namespace orb
