#!/usr/bin/env python3
"""Writes the seed corpus of the AWS fuzz targets (fuzz/corpus/ec2_response,
autoscaling_response, ssm_response) from answers recorded from moto (the AWS emulator
the integration tests use) and from tests/data/aws, plus AWS's error shapes.

Usage: PYTHONPATH="$(tools/fetch-moto.sh)" python3 tools/gen-fuzz-corpus.py

Each seed is laid out as fuzz/aws_fake.h reads it: one byte for the call (an index
into the target's table, repeated below as EC2_CALLS, ASG_CALLS, SSM_CALLS), one byte
for the HTTP statuses (low 4 bits: the first answer, high 4 bits: the later ones, as
indexes into kStatuses), then the answer bodies separated by "@@NEXT@@". Running it
again rewrites the same files (ids in moto's answers differ from run to run).
"""

import os
import pathlib
import sys

import boto3
from moto.server import ThreadedMotoServer

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "corpus"

# The call tables of fuzz/ec2_response_fuzz.cc, autoscaling_response_fuzz.cc and
# ssm_response_fuzz.cc, in order.
EC2_CALLS = [
    "RunInstances", "DescribeInstancesById", "DescribeInstancesByFilter",
    "DescribeInstanceStatus", "TerminateInstances", "CreateFleet", "DescribeFleets",
    "DescribeFleetInstances", "DeleteFleets", "ModifyFleet", "RequestSpotFleet",
    "DescribeSpotFleetRequests", "DescribeSpotFleetInstances", "ModifySpotFleetRequest",
    "CancelSpotFleetRequests", "CreateTags", "DescribeInstanceTypes", "Ec2InstanceTypeFetch",
    "DescribeSpotPriceHistory", "CreateLaunchTemplate", "CreateLaunchTemplateVersion",
    "DescribeLaunchTemplates", "DeleteLaunchTemplate", "DescribeImages", "DescribeSubnets",
    "DescribeSecurityGroups", "DescribeVpcs", "DescribeSpotInstanceRequests",
]
ASG_CALLS = [
    "CreateAutoScalingGroup", "UpdateAutoScalingGroup", "DeleteAutoScalingGroup",
    "DescribeAutoScalingGroups", "DescribeAutoScalingGroupsFiltered", "SetDesiredCapacity",
    "TerminateInstanceInAutoScalingGroup", "DetachInstances", "CreateOrUpdateTags",
    "DescribeScalingActivities", "GetCallerIdentity", "AssumeRole",
]
SSM_CALLS = ["GetParameter", "GetParameters", "ImageResolver", "CallJson"]
# Indexes into kStatuses (fuzz/aws_fake.h).
OK, S400, S403, S500, S503, S429 = 0, 8, 11, 13, 14, 15
SEPARATOR = b"@@NEXT@@"


def seed(target, table, call, bodies, first=OK, later=OK, tag=""):
    index = table.index(call)
    name = f"{call}{'-' + tag if tag else ''}"
    data = bytes([index, first | (later << 4)]) + SEPARATOR.join(bodies)
    path = OUT / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def recorder(client):
    answers = {}

    def keep(**kw):
        answers.setdefault(kw["operation_model"].name, []).append(
            (kw["response_dict"]["status_code"], kw["response_dict"]["body"]))

    client.meta.events.register("before-parse.*.*", keep)
    return answers


def main():
    server = ThreadedMotoServer(port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    kw = dict(region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{port}",
              aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="secret")
    ec2, asg = boto3.client("ec2", **kw), boto3.client("autoscaling", **kw)
    sts, ssm = boto3.client("sts", **kw), boto3.client("ssm", **kw)
    e, a, s, t = recorder(ec2), recorder(asg), recorder(sts), recorder(ssm)

    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "orb:request-id", "Value": "req-1"}]}]
    run = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, InstanceType="m5.large",
                            TagSpecifications=tags, ClientToken="req-1")
    ids = [i["InstanceId"] for i in run["Instances"]]
    ec2.describe_instances(InstanceIds=ids)
    ec2.describe_instances(Filters=[{"Name": "tag:orb:request-id", "Values": ["req-1"]}])
    try:
        ec2.describe_instances(InstanceIds=["i-0123456789abcdef0"])
    except Exception:
        pass
    ec2.describe_instance_status(InstanceIds=ids, IncludeAllInstances=True)
    ec2.create_tags(Resources=ids, Tags=[{"Key": "orb:broker-id", "Value": "b-1"}])
    lt = ec2.create_launch_template(LaunchTemplateName="orb-req-1", LaunchTemplateData={
        "ImageId": image, "InstanceType": "m5.large"})["LaunchTemplate"]
    ec2.create_launch_template_version(LaunchTemplateId=lt["LaunchTemplateId"],
                                       LaunchTemplateData={"ImageId": image})
    ec2.describe_launch_templates(LaunchTemplateIds=[lt["LaunchTemplateId"]])
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    config = [{"LaunchTemplateSpecification": {"LaunchTemplateId": lt["LaunchTemplateId"],
                                               "Version": "$Latest"},
               "Overrides": [{"InstanceType": "m5.large", "SubnetId": subnet},
                             {"InstanceType": "c5.large", "SubnetId": subnet}]}]
    for kind in ("instant", "request"):
        fleet = ec2.create_fleet(Type=kind, LaunchTemplateConfigs=config, TargetCapacitySpecification={
            "TotalTargetCapacity": 2, "DefaultTargetCapacityType": "spot"})
    ec2.describe_fleets(FleetIds=[fleet["FleetId"]])
    ec2.describe_fleet_instances(FleetId=fleet["FleetId"])
    # (moto answers ModifyFleet with a server error: tests/data/aws/modify_fleet.xml seeds it.)
    ec2.delete_fleets(FleetIds=[fleet["FleetId"]],
                      TerminateInstances=True)
    sfr = ec2.request_spot_fleet(SpotFleetRequestConfig={
        "IamFleetRole": "arn:aws:iam::123456789012:role/fleet", "TargetCapacity": 2,
        "AllocationStrategy": "lowestPrice", "LaunchTemplateConfigs": config,
        "Type": "request"})["SpotFleetRequestId"]
    ec2.describe_spot_fleet_requests(SpotFleetRequestIds=[sfr])
    ec2.describe_spot_fleet_instances(SpotFleetRequestId=sfr)
    ec2.modify_spot_fleet_request(SpotFleetRequestId=sfr, TargetCapacity=1)
    ec2.cancel_spot_fleet_requests(SpotFleetRequestIds=[sfr], TerminateInstances=True)
    ec2.describe_instance_types(InstanceTypes=["m5.large", "c6g.xlarge"])
    ec2.describe_spot_price_history(InstanceTypes=["m5.large"], MaxResults=5)
    ec2.describe_images(ImageIds=[image])
    ec2.describe_security_groups()
    ec2.describe_vpcs()
    ec2.request_spot_instances(InstanceCount=1, LaunchSpecification={"ImageId": image,
                                                                     "InstanceType": "m5.large"})
    ec2.describe_spot_instance_requests()
    ec2.terminate_instances(InstanceIds=ids)
    ec2.delete_launch_template(LaunchTemplateId=lt["LaunchTemplateId"])

    asg_lt = ec2.create_launch_template(LaunchTemplateName="orb-asg", LaunchTemplateData={
        "ImageId": image, "InstanceType": "m5.large"})["LaunchTemplate"]["LaunchTemplateId"]
    asg.create_auto_scaling_group(AutoScalingGroupName="orb-req-1", MinSize=0, MaxSize=4,
                                  DesiredCapacity=2, VPCZoneIdentifier=subnet,
                                  LaunchTemplate={"LaunchTemplateId": asg_lt, "Version": "$Latest"},
                                  Tags=[{"Key": "orb:request-id", "Value": "req-1",
                                         "PropagateAtLaunch": True}])
    asg.update_auto_scaling_group(AutoScalingGroupName="orb-req-1", MaxSize=5)
    groups = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["orb-req-1"])
    member = groups["AutoScalingGroups"][0]["Instances"][0]["InstanceId"]
    asg.set_desired_capacity(AutoScalingGroupName="orb-req-1", DesiredCapacity=3)
    asg.describe_scaling_activities(AutoScalingGroupName="orb-req-1")
    asg.create_or_update_tags(Tags=[{"ResourceId": "orb-req-1", "ResourceType": "auto-scaling-group",
                                     "Key": "orb:broker-id", "Value": "b-1",
                                     "PropagateAtLaunch": False}])
    asg.detach_instances(AutoScalingGroupName="orb-req-1", InstanceIds=[member],
                         ShouldDecrementDesiredCapacity=True)
    members = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["orb-req-1"])
    asg.terminate_instance_in_auto_scaling_group(
        InstanceId=members["AutoScalingGroups"][0]["Instances"][0]["InstanceId"],
        ShouldDecrementDesiredCapacity=True)
    asg.delete_auto_scaling_group(AutoScalingGroupName="orb-req-1", ForceDelete=True)
    try:
        asg.delete_auto_scaling_group(AutoScalingGroupName="no-such-group")
    except Exception:
        pass
    sts.get_caller_identity()
    sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/orb", RoleSessionName="orb")

    ssm.put_parameter(Name="/orb/image", Value=image, Type="String", DataType="aws:ec2:image")
    ssm.get_parameter(Name="/orb/image")
    ssm.get_parameters(Names=["/orb/image", "/orb/missing"])
    try:
        ssm.get_parameter(Name="/orb/missing")
    except Exception:
        pass
    server.stop()

    def body(answers, op, n=0):
        return answers[op][n][1]

    ec2_seeds = {
        "RunInstances": body(e, "RunInstances"),
        "DescribeInstancesById": body(e, "DescribeInstances", 0),
        "DescribeInstancesByFilter": body(e, "DescribeInstances", 1),
        "DescribeInstanceStatus": body(e, "DescribeInstanceStatus"),
        "TerminateInstances": body(e, "TerminateInstances"),
        "CreateFleet": body(e, "CreateFleet", 0),
        "DescribeFleets": body(e, "DescribeFleets"),
        "DescribeFleetInstances": body(e, "DescribeFleetInstances"),
        "DeleteFleets": body(e, "DeleteFleets"),
        "RequestSpotFleet": body(e, "RequestSpotFleet"),
        "DescribeSpotFleetRequests": body(e, "DescribeSpotFleetRequests"),
        "DescribeSpotFleetInstances": body(e, "DescribeSpotFleetInstances"),
        "ModifySpotFleetRequest": body(e, "ModifySpotFleetRequest"),
        "CancelSpotFleetRequests": body(e, "CancelSpotFleetRequests"),
        "CreateTags": body(e, "CreateTags"),
        "DescribeInstanceTypes": body(e, "DescribeInstanceTypes"),
        "Ec2InstanceTypeFetch": body(e, "DescribeInstanceTypes"),
        "DescribeSpotPriceHistory": body(e, "DescribeSpotPriceHistory"),
        "CreateLaunchTemplate": body(e, "CreateLaunchTemplate"),
        "CreateLaunchTemplateVersion": body(e, "CreateLaunchTemplateVersion"),
        "DescribeLaunchTemplates": body(e, "DescribeLaunchTemplates"),
        "DeleteLaunchTemplate": body(e, "DeleteLaunchTemplate"),
        "DescribeImages": body(e, "DescribeImages", 1),
        "DescribeSubnets": body(e, "DescribeSubnets"),
        "DescribeSecurityGroups": body(e, "DescribeSecurityGroups"),
        "DescribeVpcs": body(e, "DescribeVpcs"),
        "DescribeSpotInstanceRequests": body(e, "DescribeSpotInstanceRequests"),
    }
    for call, xml in ec2_seeds.items():
        seed("ec2_response", EC2_CALLS, call, [xml], tag="moto")
    seed("ec2_response", EC2_CALLS, "CreateFleet", [body(e, "CreateFleet", 1)], tag="moto-request")
    # AWS's own recordings.
    data = ROOT / "tests" / "data" / "aws"
    seed("ec2_response", EC2_CALLS, "CreateFleet",
         [(data / "create_fleet_instant_partial.xml").read_bytes()], tag="aws-partial")
    seed("ec2_response", EC2_CALLS, "ModifyFleet", [(data / "modify_fleet.xml").read_bytes()],
         tag="aws")
    # Errors: an id AWS does not know (then the rest asked again), throttling, an
    # outage page, and a truncated answer.
    not_found = body(e, "DescribeInstances", 2)
    seed("ec2_response", EC2_CALLS, "DescribeInstancesById", [not_found, ec2_seeds["DescribeInstancesById"]],
         first=S400, tag="not-found-then-ok")
    seed("ec2_response", EC2_CALLS, "TerminateInstances", [not_found, ec2_seeds["TerminateInstances"]],
         first=S400, tag="not-found-then-ok")
    seed("ec2_response", EC2_CALLS, "DescribeInstanceStatus", [not_found], first=S400, later=S400,
         tag="not-found")
    throttled = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
                 b"<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
                 b"</Error></Errors><RequestID>5f9a8e0c-0000-4000-8000-000000000000</RequestID>"
                 b"</Response>")
    seed("ec2_response", EC2_CALLS, "RunInstances", [throttled], first=S503, tag="throttled")
    capacity = throttled.replace(b"RequestLimitExceeded", b"InsufficientInstanceCapacity").replace(
        b"Request limit exceeded.", b"We currently do not have sufficient m5.large capacity in "
        b"the Availability Zone you requested (us-east-1a).")
    seed("ec2_response", EC2_CALLS, "RunInstances", [capacity], first=S500, tag="capacity")
    seed("ec2_response", EC2_CALLS, "DescribeFleets",
         [b"<html><head><title>503 Service Unavailable</title></head><body><h1>Service "
          b"Unavailable</h1></body></html>"], first=S503, tag="html")
    seed("ec2_response", EC2_CALLS, "DescribeInstancesByFilter",
         [ec2_seeds["DescribeInstancesByFilter"][:300]], tag="truncated")
    page1 = ec2_seeds["DescribeInstancesByFilter"].replace(
        b"</reservationSet>", b"</reservationSet><nextToken>page-2</nextToken>")
    seed("ec2_response", EC2_CALLS, "DescribeInstancesByFilter",
         [page1, ec2_seeds["DescribeInstancesByFilter"]], tag="two-pages")

    asg_seeds = {
        "CreateAutoScalingGroup": body(a, "CreateAutoScalingGroup"),
        "UpdateAutoScalingGroup": body(a, "UpdateAutoScalingGroup"),
        "DeleteAutoScalingGroup": body(a, "DeleteAutoScalingGroup"),
        "DescribeAutoScalingGroups": body(a, "DescribeAutoScalingGroups", 0),
        "DescribeAutoScalingGroupsFiltered": body(a, "DescribeAutoScalingGroups", 1),
        "SetDesiredCapacity": body(a, "SetDesiredCapacity"),
        "TerminateInstanceInAutoScalingGroup": body(a, "TerminateInstanceInAutoScalingGroup"),
        "DetachInstances": body(a, "DetachInstances"),
        "CreateOrUpdateTags": body(a, "CreateOrUpdateTags"),
        "DescribeScalingActivities": body(a, "DescribeScalingActivities"),
        "GetCallerIdentity": body(s, "GetCallerIdentity"),
        "AssumeRole": body(s, "AssumeRole"),
    }
    for call, xml in asg_seeds.items():
        seed("autoscaling_response", ASG_CALLS, call, [xml], tag="moto")
    seed("autoscaling_response", ASG_CALLS, "DescribeScalingActivities",
         [(data / "describe_scaling_activities_page1.xml").read_bytes(),
          (data / "describe_scaling_activities_page2.xml").read_bytes()], tag="aws-two-pages")
    seed("autoscaling_response", ASG_CALLS, "DeleteAutoScalingGroup",
         [a["DeleteAutoScalingGroup"][1][1]], first=S400, tag="html-error")
    seed("autoscaling_response", ASG_CALLS, "SetDesiredCapacity",
         [b'<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error>'
          b"<Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
          b"<RequestId>7c9e8f00-0000-4000-8000-000000000000</RequestId></ErrorResponse>"],
         first=S400, tag="throttling")

    seed("ssm_response", SSM_CALLS, "GetParameter", [body(t, "GetParameter", 0)], tag="moto")
    seed("ssm_response", SSM_CALLS, "ImageResolver", [body(t, "GetParameter", 0)], tag="moto")
    seed("ssm_response", SSM_CALLS, "GetParameters", [body(t, "GetParameters")], tag="moto")
    seed("ssm_response", SSM_CALLS, "GetParameter", [body(t, "GetParameter", 1)], first=S400,
         tag="not-found")
    seed("ssm_response", SSM_CALLS, "CallJson",
         [b'{"__type":"com.amazon.coral.availability#ThrottlingException","message":"Rate exceeded"}'],
         first=S400, tag="throttling")
    seed("ssm_response", SSM_CALLS, "ImageResolver",
         [b'{"Parameter":{"Name":"/orb/image","Type":"String","Value":"not-an-image","Version":3}}'],
         tag="not-an-ami")
    print(f"wrote the seeds under {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
