#pragma once

// Checks a template's cloud references before anything is launched: the ids a
// template names must exist in the account and region, and its subnets and
// security groups must share a VPC. Each catches a launch failure that would
// otherwise appear only when HostFactory asks for machines.

#include <string>
#include <vector>

#include "model/template.h"
#include "provider/aws/ec2_client.h"
#include "provider/aws/image_resolver.h"

namespace orb {

// The problems of template `t` in the cloud, one message each, naming the template
// and the field ("template T: subnetIds: subnet-1 does not exist ..."): subnets,
// security groups, the AMI (after resolving an SSM reference through `images`) and
// the launch template (and its numeric version) that do not exist; security groups
// of another VPC than the subnets (or than the default VPC when no subnet is
// given); no subnet and no default VPC. Empty when all is well. With `images` null,
// an SSM image reference is not checked. Uses one call per kind of resource (a
// default-VPC lookup only when the template names no subnet and no launch
// template). Throws AwsError when AWS cannot be asked (network, throttling,
// permissions): that is not a problem of the template.
std::vector<std::string> CheckTemplateInCloud(const Template& t, Ec2Client& ec2,
                                              ImageResolver* images);

}  // namespace orb
