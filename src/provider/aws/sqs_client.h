#pragma once

// Typed SQS calls on top of AwsClient::CallJson (JSON 1.0, X-Amz-Target
// "AmazonSQS.<Action>"): what orb needs to read an interruption queue that an
// EventBridge rule feeds. Failures are AwsError.

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "provider/aws/aws_client.h"

namespace orb {

// One message as ReceiveMessage delivers it.
struct SqsMessage {
  std::string message_id;
  std::string receipt_handle;  // needed to delete it
  std::string body;
};

// The SQS calls orb makes. Thread-safe as AwsClient is.
class SqsClient {
 public:
  // AWS's limit on messages per ReceiveMessage and entries per DeleteMessageBatch.
  static constexpr std::size_t kMaxBatch = 10;

  // Uses `aws` (not owned; must outlive this client) for every call.
  explicit SqsClient(AwsClient& aws) : aws_(aws) {}

  // Up to `max_messages` (1..10) messages of `queue_url`, without waiting for more
  // (short polling): an empty answer does not prove the queue empty.
  std::vector<SqsMessage> ReceiveMessage(const std::string& queue_url, int max_messages);

  // Deletes the messages of `receipt_handles` from `queue_url`, 10 per call. Returns
  // the handles SQS failed to delete (they are delivered again later).
  std::vector<std::string> DeleteMessageBatch(const std::string& queue_url,
                                              const std::vector<std::string>& receipt_handles);

  // Creates queue `name` with `attributes` (e.g. VisibilityTimeout) or finds it, and
  // returns its URL. For tests and set-up.
  std::string CreateQueue(const std::string& name,
                          const std::map<std::string, std::string>& attributes = {});

  // Sends `body` to `queue_url`; returns the message id. For tests and set-up.
  std::string SendMessage(const std::string& queue_url, const std::string& body);

 private:
  AwsClient& aws_;
};

}  // namespace orb
