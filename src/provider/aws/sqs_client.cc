#include "provider/aws/sqs_client.h"

#include <algorithm>

namespace orb {

namespace {

std::string Str(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::vector<SqsMessage> SqsClient::ReceiveMessage(const std::string& queue_url,
                                                  int max_messages) {
  const int n = std::clamp(max_messages, 1, static_cast<int>(kMaxBatch));
  nlohmann::json answer =
      aws_.CallJson(AwsService::kSqs, "AmazonSQS.ReceiveMessage",
                    {{"QueueUrl", queue_url}, {"MaxNumberOfMessages", n}, {"WaitTimeSeconds", 0}});
  std::vector<SqsMessage> out;
  auto messages = answer.find("Messages");
  if (messages == answer.end() || !messages->is_array()) return out;
  for (const nlohmann::json& m : *messages) {
    if (!m.is_object()) continue;
    SqsMessage message{Str(m, "MessageId"), Str(m, "ReceiptHandle"), Str(m, "Body")};
    if (!message.receipt_handle.empty()) out.push_back(std::move(message));
  }
  return out;
}

std::vector<std::string> SqsClient::DeleteMessageBatch(
    const std::string& queue_url, const std::vector<std::string>& receipt_handles) {
  std::vector<std::string> failed;
  for (std::size_t at = 0; at < receipt_handles.size(); at += kMaxBatch) {
    const std::size_t end = std::min(receipt_handles.size(), at + kMaxBatch);
    nlohmann::json entries = nlohmann::json::array();
    for (std::size_t i = at; i < end; ++i) {
      entries.push_back({{"Id", std::to_string(i - at)}, {"ReceiptHandle", receipt_handles[i]}});
    }
    nlohmann::json answer =
        aws_.CallJson(AwsService::kSqs, "AmazonSQS.DeleteMessageBatch",
                      {{"QueueUrl", queue_url}, {"Entries", entries}});
    auto errors = answer.find("Failed");
    if (errors == answer.end() || !errors->is_array()) continue;
    for (const nlohmann::json& e : *errors) {
      // Ids are the entry's position in this batch, as sent above.
      const std::string id = e.is_object() ? Str(e, "Id") : "";
      std::size_t index = 0;
      bool digits = !id.empty() && id.size() <= 2;
      for (char c : id) {
        digits = digits && c >= '0' && c <= '9';
        if (digits) index = index * 10 + static_cast<std::size_t>(c - '0');
      }
      if (digits && index < end - at) failed.push_back(receipt_handles[at + index]);
    }
  }
  return failed;
}

std::string SqsClient::CreateQueue(const std::string& name,
                                   const std::map<std::string, std::string>& attributes) {
  nlohmann::json body = {{"QueueName", name}};
  if (!attributes.empty()) body["Attributes"] = attributes;
  return Str(aws_.CallJson(AwsService::kSqs, "AmazonSQS.CreateQueue", body), "QueueUrl");
}

std::string SqsClient::SendMessage(const std::string& queue_url, const std::string& body) {
  return Str(aws_.CallJson(AwsService::kSqs, "AmazonSQS.SendMessage",
                           {{"QueueUrl", queue_url}, {"MessageBody", body}}),
             "MessageId");
}

}  // namespace orb
