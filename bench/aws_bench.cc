// Micro benchmarks of the AWS layer's own CPU work per call: signing a request
// (SigV4) and turning a DescribeInstances answer page into Instance structs.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <pugixml.hpp>
#include <string>

#include "common/clock.h"
#include "provider/aws/credentials.h"
#include "provider/aws/ec2_client.h"
#include "provider/aws/http_client.h"
#include "provider/aws/sigv4.h"

namespace orb {
namespace {

// A typical EC2 Query POST: DescribeInstances for 100 instance ids.
HttpRequest TypicalEc2Post() {
  HttpRequest r;
  r.method = "POST";
  r.url = "https://ec2.us-east-1.amazonaws.com/";
  r.SetHeader("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  r.body = "Action=DescribeInstances&Version=2016-11-15";
  for (int i = 1; i <= 100; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "i-%017x", 0xabc000 + i);
    r.body += "&InstanceId." + std::to_string(i) + "=" + id;
  }
  return r;
}

void BM_SignV4Ec2Post(benchmark::State& state) {
  Credentials c;
  c.access_key_id = "AKIAIOSFODNN7EXAMPLE";
  c.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  c.session_token = "FwoGZXIvYXdzEBYaDEXAMPLESESSIONTOKEN";
  const HttpRequest base = TypicalEc2Post();
  const EpochSeconds now = 1714564807;
  for (auto _ : state) {
    HttpRequest r = base;
    benchmark::DoNotOptimize(SignV4(r, c, "us-east-1", "ec2", now));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(base.body.size()));
}
BENCHMARK(BM_SignV4Ec2Post);

// One instance as AWS writes it in a DescribeInstances answer (the common fields,
// a network interface and three tags).
std::string InstanceXml(int n) {
  char id[32];
  std::snprintf(id, sizeof id, "i-%017x", 0x1000 + n);
  const std::string ip = "10.0." + std::to_string(n / 250) + "." + std::to_string(n % 250 + 1);
  return std::string("<item><instanceId>") + id +
         "</instanceId><imageId>ami-0abcdef1234567890</imageId><instanceState><code>16</code>"
         "<name>running</name></instanceState><privateDnsName>ip-" +
         ip +
         ".ec2.internal</privateDnsName><dnsName></dnsName><reason></reason>"
         "<keyName>hpc</keyName><amiLaunchIndex>" +
         std::to_string(n) +
         "</amiLaunchIndex><productCodes/><instanceType>c5.xlarge</instanceType>"
         "<launchTime>2024-05-01T12:00:07.000Z</launchTime><placement>"
         "<availabilityZone>us-east-1a</availabilityZone><groupName></groupName>"
         "<tenancy>default</tenancy></placement><monitoring><state>disabled</state></monitoring>"
         "<subnetId>subnet-0a1b2c3d</subnetId><vpcId>vpc-0a1b2c3d</vpcId><privateIpAddress>" +
         ip +
         "</privateIpAddress><sourceDestCheck>true</sourceDestCheck><groupSet><item>"
         "<groupId>sg-0a1b2c3d</groupId><groupName>hpc</groupName></item></groupSet>"
         "<architecture>x86_64</architecture><rootDeviceType>ebs</rootDeviceType>"
         "<rootDeviceName>/dev/xvda</rootDeviceName><blockDeviceMapping><item>"
         "<deviceName>/dev/xvda</deviceName><ebs><volumeId>vol-0a1b2c3d</volumeId>"
         "<status>attached</status><attachTime>2024-05-01T12:00:08.000Z</attachTime>"
         "<deleteOnTermination>true</deleteOnTermination></ebs></item></blockDeviceMapping>"
         "<instanceLifecycle>spot</instanceLifecycle><spotInstanceRequestId>sir-0a1b2c3d"
         "</spotInstanceRequestId><virtualizationType>hvm</virtualizationType>"
         "<clientToken>req-42-0</clientToken><tagSet>"
         "<item><key>orb:request-id</key><value>req-42</value></item>"
         "<item><key>orb:template</key><value>hpc-c5</value></item>"
         "<item><key>Name</key><value>orb-worker</value></item></tagSet>"
         "<hypervisor>xen</hypervisor><networkInterfaceSet><item>"
         "<networkInterfaceId>eni-0a1b2c3d</networkInterfaceId><subnetId>subnet-0a1b2c3d"
         "</subnetId><vpcId>vpc-0a1b2c3d</vpcId><status>in-use</status><privateIpAddress>" +
         ip +
         "</privateIpAddress></item></networkInterfaceSet><ebsOptimized>false</ebsOptimized>"
         "<enaSupport>true</enaSupport><metadataOptions><state>applied</state>"
         "<httpTokens>required</httpTokens></metadataOptions></item>";
}

// A DescribeInstances page of `count` instances, 10 per reservation.
std::string DescribeInstancesPage(int count) {
  std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeInstancesResponse "
      "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>"
      "8f7724cf-496f-496e-8fe3-example</requestId><reservationSet>";
  for (int i = 0; i < count; i += 10) {
    xml += "<item><reservationId>r-" + std::to_string(100000 + i) +
           "</reservationId><ownerId>123456789012</ownerId><groupSet/><instancesSet>";
    for (int j = i; j < count && j < i + 10; ++j) xml += InstanceXml(j);
    xml += "</instancesSet></item>";
  }
  xml += "</reservationSet><nextToken>eyJ2IjoiMiJ9</nextToken></DescribeInstancesResponse>";
  return xml;
}

void BM_ParseDescribeInstances1000(benchmark::State& state) {
  const std::string xml = DescribeInstancesPage(1000);
  for (auto _ : state) {
    pugi::xml_document doc;
    if (!doc.load_buffer(xml.data(), xml.size())) {
      state.SkipWithError("the generated page is not XML");
      return;
    }
    std::string next_token;
    auto instances = ParseDescribeInstancesPage(doc.document_element(), &next_token);
    if (instances.size() != 1000 || next_token.empty()) {
      state.SkipWithError("the page did not parse into 1000 instances");
      return;
    }
    benchmark::DoNotOptimize(instances);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 1000);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(xml.size()));
}
BENCHMARK(BM_ParseDescribeInstances1000)->Unit(benchmark::kMillisecond);

// The XML parse alone, for comparison: what pugixml costs before orb reads a field.
void BM_ParseXmlOnly1000(benchmark::State& state) {
  const std::string xml = DescribeInstancesPage(1000);
  for (auto _ : state) {
    pugi::xml_document doc;
    benchmark::DoNotOptimize(doc.load_buffer(xml.data(), xml.size()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(xml.size()));
}
BENCHMARK(BM_ParseXmlOnly1000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace orb

BENCHMARK_MAIN();
