"""Static checks of the CloudFormation templates infra/cloudformation/intake.yaml and consumer.yaml.

The checks read the effective template (tests/support/templates.py): intake.yaml with its nested
consumer stacks expanded in place, so `ValidateQueue` is the `Queue` of the nested stack `Validate`
with the parameters intake.yaml passes it. Every property check is a function returning a list of
problems. The tests assert that the real templates have none, and the mutation tests assert that
each check notices a deliberately broken copy (of the effective template, and of the source
templates through the expansion), so a check cannot silently pass on anything.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file

from tests.support.templates import effective_template, load, set_at

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "infra" / "cloudformation" / "intake.yaml"
CONSUMER_TEMPLATE_PATH = ROOT / "infra" / "cloudformation" / "consumer.yaml"
TEMPLATE_PATHS = (TEMPLATE_PATH, CONSUMER_TEMPLATE_PATH)
ARCHITECTURE_PATH = ROOT / "docs" / "architecture.md"

CONSUMERS = ("Validate", "Thumbnail", "Index", "Notify")
TOPIC_OF = {
    "Validate": "UploadEventsTopic",
    "Thumbnail": "UploadEventsTopic",
    "Index": "UploadEventsTopic",
    "Notify": "FinishedTopic",
}
BUCKETS = ("UploadBucket", "ThumbnailBucket")
SOURCE_KEYS = {"aws:sourcearn", "aws:sourceaccount"}
PARAMETER_DEFAULTS: dict[str, Any] = {
    "LambdaArchitecture": "x86_64",
    "WebOrigin": None,  # required: no default, so no localhost origin on AWS (make deploy asks for it)
    "SenderEmail": "intake@example.com",
    "OpsEmail": "ops@example.com",
    "AllowedContentTypes": "image/jpeg,image/png,image/webp,image/gif",
    "MaxUploadBytes": 5368709120,
    "MultipartThresholdBytes": 104857600,
    "MultipartMinPartBytes": 16777216,
    "MaxImagePixels": 40000000,
    "FunctionTimeout": 30,
    "QueueVisibilityTimeout": 180,
    "MaxReceiveCount": 5,
    "NotifyMaxConcurrency": 2,
    "OldestMessageAgeThreshold": 300,
    "LogRetentionDays": 14,
}

Template = dict[str, Any]
Problems = list[str]


# ---------------------------------------------------------------------------------------------------
# Loading and helpers
# ---------------------------------------------------------------------------------------------------
def load_template() -> Template:
    """The effective template as plain dicts/lists (nested consumer stacks expanded, long forms)."""
    return effective_template()


@pytest.fixture(scope="module")
def pristine() -> Template:
    return load_template()


@pytest.fixture
def template(pristine: Template) -> Template:
    return copy.deepcopy(pristine)


def resources(t: Template, type_: str | None = None) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in t.get("Resources", {}).items() if type_ is None or v.get("Type") == type_}


def props(t: Template, logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = t["Resources"][logical_id].get("Properties", {})
    return properties


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def number(t: Template, value: Any) -> int:
    """A literal number, or the Default of the Number parameter it !Refs."""
    if isinstance(value, dict) and "Ref" in value:
        return int(t["Parameters"][value["Ref"]]["Default"])
    return int(value)


def minimum(t: Template, value: Any) -> int:
    """The smallest value a deployment can choose: a literal, or the referenced parameter's MinValue."""
    if isinstance(value, dict) and "Ref" in value:
        param = t["Parameters"][value["Ref"]]
        return int(param.get("MinValue", param["Default"]))
    return int(value)


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return as_list(document.get("Statement", []))


def condition_keys(statement: dict[str, Any]) -> set[str]:
    return {key.lower() for block in statement.get("Condition", {}).values() for key in block}


def condition_value(statement: dict[str, Any], key: str) -> Any:
    for block in statement.get("Condition", {}).values():
        for name, value in block.items():
            if name.lower() == key.lower():
                return value
    return None


def principal_is_own_account(principal: Any) -> bool:
    if not isinstance(principal, dict) or set(principal) != {"AWS"}:
        return False
    return all("AWS::AccountId" in json.dumps(p) for p in as_list(principal["AWS"]))


def is_tls_deny(statement: dict[str, Any]) -> bool:
    return (
        statement.get("Effect") == "Deny"
        and statement.get("Principal") in ("*", {"AWS": "*"})
        and str(condition_value(statement, "aws:SecureTransport")).lower() == "false"
    )


def role_policies(t: Template, role: str) -> list[dict[str, Any]]:
    """The role's policies: its inline Policies, then every AWS::IAM::Policy attached to it."""
    attached = [
        {
            "PolicyName": res["Properties"].get("PolicyName"),
            "PolicyDocument": res["Properties"]["PolicyDocument"],
        }
        for res in resources(t, "AWS::IAM::Policy").values()
        if {"Ref": role} in res["Properties"].get("Roles", [])
    ]
    inline: list[dict[str, Any]] = t["Resources"][role].get("Properties", {}).get("Policies", [])
    return [*inline, *attached]


def policy_documents(t: Template) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every policy document in the template, with a label saying where it is."""
    for name, res in resources(t).items():
        p = res.get("Properties", {})
        if "PolicyDocument" in p:
            yield name, p["PolicyDocument"]
        if "AssumeRolePolicyDocument" in p:
            yield f"{name}.AssumeRolePolicyDocument", p["AssumeRolePolicyDocument"]
        # A role's inline policies (a user pool's Policies is its password policy, not a list).
        for inline in p.get("Policies", []) if isinstance(p.get("Policies"), list) else []:
            yield f"{name}.{inline.get('PolicyName')}", inline["PolicyDocument"]


def architecture_names(heading: str, pattern: str = r"[A-Z][A-Za-z0-9]+") -> list[str]:
    """Backticked names matching `pattern` in the paragraph of architecture.md that starts with `heading`."""
    text = ARCHITECTURE_PATH.read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.find("\n\n", start)
    paragraph = text[start : end if end != -1 else len(text)]
    return [name for name in re.findall(r"`([^`]+)`", paragraph) if re.fullmatch(pattern, name)]


def architecture_env_vars() -> set[str]:
    return set(architecture_names("Environment of every consumer", r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+"))


def per_consumer(names: list[str]) -> set[str]:
    """Expands the doc's `XName` placeholders to one name per consumer."""
    return {x + n[1:] if re.fullmatch(r"X[A-Z]\w*", n) else n for n in names for x in CONSUMERS}


# ---------------------------------------------------------------------------------------------------
# Property checks
# ---------------------------------------------------------------------------------------------------
def check_queues(t: Template) -> Problems:
    problems: Problems = []
    for x in CONSUMERS:
        queue, dlq = props(t, f"{x}Queue"), props(t, f"{x}DLQ")
        redrive = queue.get("RedrivePolicy")
        if not redrive:
            problems.append(f"{x}Queue has no RedrivePolicy")
            continue
        if redrive.get("deadLetterTargetArn") != {"Fn::GetAtt": [f"{x}DLQ", "Arn"]}:
            problems.append(f"{x}Queue does not redrive to {x}DLQ")
        if "maxReceiveCount" not in redrive or minimum(t, redrive["maxReceiveCount"]) < 5:
            problems.append(f"{x}Queue maxReceiveCount can be below 5")
        source_retention = number(t, queue.get("MessageRetentionPeriod", 345600))
        dlq_retention = number(t, dlq.get("MessageRetentionPeriod", 345600))
        if dlq_retention <= source_retention:
            problems.append(
                f"{x}DLQ retention {dlq_retention} is not longer than {x}Queue's {source_retention}"
            )
        if "RedrivePolicy" in dlq:
            problems.append(f"{x}DLQ must not redrive further")
        for name, q in ((f"{x}Queue", queue), (f"{x}DLQ", dlq)):
            if not (q.get("SqsManagedSseEnabled") or q.get("KmsMasterKeyId")):
                problems.append(f"{name} is not encrypted")
    return problems


def check_visibility_timeout(t: Template) -> Problems:
    problems: Problems = []
    if number(t, {"Ref": "QueueVisibilityTimeout"}) < 6 * number(t, {"Ref": "FunctionTimeout"}):
        problems.append("QueueVisibilityTimeout default is below 6 x FunctionTimeout default")
    for x in CONSUMERS:
        timeout = number(t, props(t, f"{x}Function").get("Timeout", 3))
        visibility = number(t, props(t, f"{x}Queue").get("VisibilityTimeout", 30))
        if visibility < 6 * timeout:
            problems.append(f"{x}Queue VisibilityTimeout {visibility} < 6 x {x}Function Timeout {timeout}")
    return problems


def check_event_source_mappings(t: Template) -> Problems:
    problems: Problems = []
    mappings = resources(t, "AWS::Lambda::EventSourceMapping")
    if set(mappings) != {f"{x}EventSourceMapping" for x in CONSUMERS}:
        problems.append(f"unexpected event source mappings: {sorted(mappings)}")
    for name, res in mappings.items():
        p = res.get("Properties", {})
        if "ReportBatchItemFailures" not in p.get("FunctionResponseTypes", []):
            problems.append(f"{name} lacks ReportBatchItemFailures")
    for x in CONSUMERS:
        p = props(t, f"{x}EventSourceMapping") if f"{x}EventSourceMapping" in mappings else {}
        if p.get("EventSourceArn") != {"Fn::GetAtt": [f"{x}Queue", "Arn"]}:
            problems.append(f"{x}EventSourceMapping does not read {x}Queue")
        if p.get("FunctionName") != {"Ref": f"{x}Function"}:
            problems.append(f"{x}EventSourceMapping does not invoke {x}Function")
    notify = props(t, "NotifyEventSourceMapping") if "NotifyEventSourceMapping" in mappings else {}
    concurrency = notify.get("ScalingConfig", {}).get("MaximumConcurrency")
    if concurrency != {"Ref": "NotifyMaxConcurrency"}:
        problems.append("NotifyEventSourceMapping MaximumConcurrency is not NotifyMaxConcurrency")
    return problems


def check_queue_policies(t: Template) -> Problems:
    problems: Problems = []
    for name, res in resources(t, "AWS::SQS::QueuePolicy").items():
        for st in statements(res["Properties"]["PolicyDocument"]):
            if st.get("Effect") == "Allow" and not condition_keys(st) & SOURCE_KEYS:
                problems.append(f"{name} {st.get('Sid')}: Allow without aws:SourceArn/aws:SourceAccount")
    for x in CONSUMERS:
        topic = {"Ref": TOPIC_OF[x]}
        if f"{x}QueuePolicy" not in t["Resources"]:
            problems.append(f"{x}QueuePolicy is missing")
            continue
        p = props(t, f"{x}QueuePolicy")
        if p.get("Queues") != [{"Ref": f"{x}Queue"}]:
            problems.append(f"{x}QueuePolicy is not attached to {x}Queue")
        sends = [
            st
            for st in statements(p["PolicyDocument"])
            if st.get("Effect") == "Allow" and "sqs:SendMessage" in as_list(st.get("Action"))
        ]
        if not sends or any(condition_value(st, "aws:SourceArn") != topic for st in sends):
            problems.append(f"{x}QueuePolicy SendMessage is not limited to aws:SourceArn = {TOPIC_OF[x]}")
        if any(st.get("Principal") != {"Service": "sns.amazonaws.com"} for st in sends):
            problems.append(f"{x}QueuePolicy SendMessage is not limited to sns.amazonaws.com")
        sub = props(t, f"{x}Subscription")
        if sub.get("TopicArn") != topic or sub.get("Protocol") != "sqs":
            problems.append(f"{x}Subscription is not an sqs subscription to {TOPIC_OF[x]}")
        if sub.get("Endpoint") != {"Fn::GetAtt": [f"{x}Queue", "Arn"]}:
            problems.append(f"{x}Subscription does not deliver to {x}Queue")
        if str(sub.get("RawMessageDelivery")).lower() != "true":
            problems.append(f"{x}Subscription is not raw message delivery")
    return problems


def check_topic_policies(t: Template) -> Problems:
    problems: Problems = []
    policies = resources(t, "AWS::SNS::TopicPolicy")
    covered = {json.dumps(topic) for res in policies.values() for topic in res["Properties"]["Topics"]}
    for topic in resources(t, "AWS::SNS::Topic"):
        if json.dumps({"Ref": topic}) not in covered:
            problems.append(f"{topic} has no topic policy")
    for name, res in policies.items():
        for st in statements(res["Properties"]["PolicyDocument"]):
            if st.get("Effect") != "Allow":
                continue
            if not (condition_keys(st) & SOURCE_KEYS or principal_is_own_account(st.get("Principal"))):
                problems.append(f"{name} {st.get('Sid')}: Allow not scoped by source or own account")
            if st.get("Principal") in ("*", {"AWS": "*"}) and not condition_keys(st) & SOURCE_KEYS:
                problems.append(f"{name} {st.get('Sid')}: Allow for any principal")
    # The upload events topic: only S3, only from UploadBucket, only in this account.
    if "UploadEventsTopicPolicy" not in policies:
        return [*problems, "UploadEventsTopicPolicy is missing"]
    upload = statements(props(t, "UploadEventsTopicPolicy")["PolicyDocument"])
    allows = [st for st in upload if st.get("Effect") == "Allow"]
    bucket_name = props(t, "UploadBucket").get("BucketName")
    for st in allows:
        if st.get("Principal") != {"Service": "s3.amazonaws.com"}:
            problems.append("UploadEventsTopicPolicy allows a principal other than s3.amazonaws.com")
        if condition_value(st, "aws:SourceAccount") != {"Ref": "AWS::AccountId"}:
            problems.append("UploadEventsTopicPolicy lacks aws:SourceAccount = AWS::AccountId")
        source_arn = condition_value(st, "aws:SourceArn")
        expected = None
        if isinstance(bucket_name, dict) and "Fn::Sub" in bucket_name:
            sub = bucket_name["Fn::Sub"]
            name_template, variables = (sub, None) if isinstance(sub, str) else sub
            arn_template = "arn:${AWS::Partition}:s3:::" + name_template
            expected = {"Fn::Sub": arn_template if variables is None else [arn_template, variables]}
        if expected is None or source_arn != expected:
            problems.append("UploadEventsTopicPolicy aws:SourceArn does not match UploadBucket's BucketName")
    if not allows:
        problems.append("UploadEventsTopicPolicy allows nothing")
    return problems


def check_buckets(t: Template) -> Problems:
    problems: Problems = []
    bucket_policies = resources(t, "AWS::S3::BucketPolicy")
    for bucket in BUCKETS:
        p = props(t, bucket)
        block = p.get("PublicAccessBlockConfiguration", {})
        for flag in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
            if block.get(flag) is not True:
                problems.append(f"{bucket} {flag} is not true")
        rules = p.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        algorithms = {r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules}
        if not algorithms & {"AES256", "aws:kms", "aws:kms:dsse"}:
            problems.append(f"{bucket} has no default encryption")
        ownership = [r.get("ObjectOwnership") for r in p.get("OwnershipControls", {}).get("Rules", [])]
        if ownership != ["BucketOwnerEnforced"]:
            problems.append(f"{bucket} does not enforce bucket-owner object ownership (ACLs off)")
        cors_origins = [
            o for r in p.get("CorsConfiguration", {}).get("CorsRules", []) for o in r["AllowedOrigins"]
        ]
        if cors_origins != [{"Ref": "WebOrigin"}]:
            problems.append(f"{bucket} CORS is not limited to WebOrigin")
        tls_denies = [
            st
            for res in bucket_policies.values()
            if res["Properties"].get("Bucket") == {"Ref": bucket}
            for st in statements(res["Properties"]["PolicyDocument"])
            if is_tls_deny(st)
        ]
        covered = json.dumps([r for st in tls_denies for r in as_list(st.get("Resource"))])
        if not tls_denies or f'["{bucket}", "Arn"]' not in covered or f"${{{bucket}.Arn}}/*" not in covered:
            problems.append(f"{bucket} has no TLS-only deny for the bucket and its objects")
    if "NotificationConfiguration" in props(t, "ThumbnailBucket"):
        problems.append("ThumbnailBucket has a NotificationConfiguration (thumbnails could re-trigger)")
    topics = props(t, "UploadBucket").get("NotificationConfiguration", {}).get("TopicConfigurations", [])
    wanted = {"Name": "prefix", "Value": "uploads/"}
    if not any(
        c.get("Topic") == {"Ref": "UploadEventsTopic"}
        and c.get("Event") == "s3:ObjectCreated:*"
        and c.get("Filter", {}).get("S3Key", {}).get("Rules") == [wanted]
        for c in topics
    ):
        problems.append("UploadBucket does not send ObjectCreated on uploads/ to UploadEventsTopic")
    if "UploadEventsTopicPolicy" not in as_list(t["Resources"]["UploadBucket"].get("DependsOn", [])):
        problems.append("UploadBucket does not DependsOn UploadEventsTopicPolicy")
    return problems


def check_iam(t: Template) -> Problems:
    problems: Problems = []
    for label, document in policy_documents(t):
        for st in statements(document):
            actions = as_list(st.get("Action", [])) + as_list(st.get("NotAction", []))
            if "*" in actions:
                problems.append(f"{label} {st.get('Sid')}: Action '*'")
            if "NotAction" in st and st.get("Effect") == "Allow":
                problems.append(f"{label} {st.get('Sid')}: Allow with NotAction")
    for name, res in resources(t, "AWS::IAM::Role").items():
        p = res["Properties"]
        if any("AdministratorAccess" in json.dumps(arn) for arn in p.get("ManagedPolicyArns", [])):
            problems.append(f"{name} has AdministratorAccess")
        for inline in role_policies(t, name):
            for st in statements(inline["PolicyDocument"]):
                if st.get("Effect") == "Allow" and "*" in as_list(st.get("Resource")):
                    problems.append(f"{name} {st.get('Sid')}: Allow on Resource '*'")
    for x in CONSUMERS:
        allowed = [
            st
            for inline in role_policies(t, f"{x}FunctionRole")
            for st in statements(inline["PolicyDocument"])
            if st.get("Effect") == "Allow"
        ]
        for st in allowed:
            if any(a.startswith("sqs:") for a in as_list(st.get("Action"))) and as_list(
                st.get("Resource")
            ) != [{"Fn::GetAtt": [f"{x}Queue", "Arn"]}]:
                problems.append(f"{x}FunctionRole has SQS rights beyond {x}Queue")
            if any(a.startswith("logs:") for a in as_list(st.get("Action"))) and as_list(
                st.get("Resource")
            ) != [{"Fn::GetAtt": [f"{x}LogGroup", "Arn"]}]:
                problems.append(f"{x}FunctionRole has log rights beyond {x}LogGroup")
    return problems


def check_functions(t: Template) -> Problems:
    problems: Problems = []
    expected_env = architecture_env_vars()
    for x in CONSUMERS:
        p = props(t, f"{x}Function")
        if p.get("Runtime") != "python3.12" or p.get("Handler") != "handler.handler":
            problems.append(f"{x}Function is not python3.12 / handler.handler")
        if p.get("Role") != {"Fn::GetAtt": [f"{x}FunctionRole", "Arn"]}:
            problems.append(f"{x}Function does not use {x}FunctionRole")
        if p.get("Layers") != [{"Ref": "DependenciesLayer"}]:
            problems.append(f"{x}Function does not use DependenciesLayer")
        env = p.get("Environment", {}).get("Variables", {})
        if set(env) != expected_env:
            problems.append(
                f"{x}Function environment differs from architecture.md: {sorted(set(env) ^ expected_env)}"
            )
        if env.get("POWERTOOLS_SERVICE_NAME") != x.lower():
            problems.append(f"{x}Function POWERTOOLS_SERVICE_NAME is not {x.lower()}")
        if env.get("POWERTOOLS_METRICS_NAMESPACE") != "Intake":
            problems.append(f"{x}Function POWERTOOLS_METRICS_NAMESPACE is not Intake")
        log_group = props(t, f"{x}LogGroup").get("LogGroupName")
        name = p.get("FunctionName")
        if not (isinstance(name, dict) and log_group == {"Fn::Sub": "/aws/lambda/" + name["Fn::Sub"]}):
            problems.append(f"{x}LogGroup is not /aws/lambda/<{x}Function name>")
    return problems


def check_alarms(t: Template) -> Problems:
    problems: Problems = []
    for x in CONSUMERS:
        for suffix, queue, metric in (
            ("DLQDepthAlarm", f"{x}DLQ", "ApproximateNumberOfMessagesVisible"),
            ("QueueAgeAlarm", f"{x}Queue", "ApproximateAgeOfOldestMessage"),
        ):
            name = f"{x}{suffix}"
            if name not in t["Resources"]:
                problems.append(f"{name} is missing")
                continue
            p = props(t, name)
            if p.get("Namespace") != "AWS/SQS" or p.get("MetricName") != metric:
                problems.append(f"{name} does not watch AWS/SQS {metric}")
            if p.get("Dimensions") != [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]:
                problems.append(f"{name} does not watch {queue}")
            for actions in ("AlarmActions", "OKActions"):
                if p.get(actions) != [{"Ref": "OpsTopic"}]:
                    problems.append(f"{name} {actions} is not OpsTopic")
            if p.get("TreatMissingData") != "notBreaching" or not p.get("AlarmDescription"):
                problems.append(f"{name} needs TreatMissingData notBreaching and an AlarmDescription")
    # The API's refusal it could not announce: the EMF count shared/intake/api.py adds.
    p = props(t, "RefusalsNotAnnouncedAlarm") if "RefusalsNotAnnouncedAlarm" in t["Resources"] else {}
    watched = (p.get("Namespace"), p.get("MetricName"), p.get("Dimensions"))
    if watched != ("Intake", "RefusalsNotAnnounced", [{"Name": "service", "Value": "api"}]):
        problems.append("RefusalsNotAnnouncedAlarm does not watch Intake RefusalsNotAnnounced of service api")
    if p.get("AlarmActions") != [{"Ref": "OpsTopic"}] or p.get("TreatMissingData") != "notBreaching":
        problems.append(
            "RefusalsNotAnnouncedAlarm must notify OpsTopic and treat missing data as not breaching"
        )
    return problems


def check_outputs(t: Template) -> Problems:
    outputs = t.get("Outputs", {})
    expected = per_consumer(architecture_names("Outputs:"))
    problems = [f"output {name} is missing" for name in sorted(expected - set(outputs))]
    problems += [
        f"output {name} has no Description" for name, o in outputs.items() if not o.get("Description")
    ]
    return problems


def check_parameters(t: Template) -> Problems:
    params = t.get("Parameters", {})
    problems = [f"parameter {n} is missing" for n in architecture_names("Parameters") if n not in params]
    for name, default in PARAMETER_DEFAULTS.items():
        if name in params and params[name].get("Default") != default:
            problems.append(f"parameter {name} default {params[name].get('Default')!r} != {default!r}")
    problems += [f"parameter {n} has no Description" for n, p in params.items() if not p.get("Description")]
    return problems


def check_logical_ids(t: Template) -> Problems:
    names = [n for n in architecture_names("Logical ids") if n not in t.get("Parameters", {})]
    expected = per_consumer(names)
    return [f"resource {n} is missing" for n in sorted(expected - set(t["Resources"]))]


# ---------------------------------------------------------------------------------------------------
# The customer-managed key (DataKey): what it encrypts, its key policy, and each role's use of it
# ---------------------------------------------------------------------------------------------------
KEY_ARN = {"Fn::GetAtt": ["DataKey", "Arn"]}
STAGE_KMS = {
    ("kms:Decrypt", "sqs"),  # consume the encrypted queue (consumer.yaml)
    ("kms:Decrypt", "dynamodb"),  # read and write the encrypted tables (consumer.yaml)
    ("kms:GenerateDataKey", "dynamodb"),
    ("kms:GenerateDataKey", "sns"),  # publish to the encrypted FinishedTopic
    ("kms:Decrypt", "sns"),
}
READ_UPLOADS_KMS = {("kms:Decrypt", "s3")}  # read SSE-KMS uploads' bytes (index only HEADs them)
#: Role -> the (action, service of kms:ViaService) it needs on DataKey; it may have no other.
REQUIRED_KMS: dict[str, set[tuple[str, str]]] = {
    # Presigned uploads to an SSE-KMS bucket carry the signer's rights (GenerateDataKey; a multipart
    # upload's parts Decrypt the data key its create made); downloads are CloudFront signed URLs (the
    # API role has no s3:GetObject); the index table is encrypted; a multipart upload refused at
    # completion is announced on the encrypted FinishedTopic.
    "ApiFunctionRole": {
        ("kms:GenerateDataKey", "s3"),
        ("kms:Decrypt", "s3"),
        ("kms:GenerateDataKey", "dynamodb"),
        ("kms:Decrypt", "dynamodb"),
        ("kms:GenerateDataKey", "sns"),
        ("kms:Decrypt", "sns"),
    },
    "ValidateFunctionRole": STAGE_KMS | READ_UPLOADS_KMS,
    # write SSE-KMS thumbnails
    "ThumbnailFunctionRole": STAGE_KMS | READ_UPLOADS_KMS | {("kms:GenerateDataKey", "s3")},
    "IndexFunctionRole": STAGE_KMS,
    "NotifyFunctionRole": {
        ("kms:Decrypt", "sqs"),
        ("kms:Decrypt", "dynamodb"),
        ("kms:GenerateDataKey", "dynamodb"),
    },
}
#: Rights a role may have without needing them here (the API reads the SecureString signing key).
ALLOWED_KMS: dict[str, set[tuple[str, str]]] = {"ApiFunctionRole": {("kms:Decrypt", "ssm")}}
_VIA_SERVICE = re.compile(r"^([a-z0-9-]+)\.\$\{AWS::Region\}\.amazonaws\.com$")


def sub_text(value: Any) -> str | None:
    """The text of a plain `Fn::Sub` string (None for anything else)."""
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return str(value["Fn::Sub"])
    return None


def via_service(statement: dict[str, Any]) -> str | None:
    """The service a statement's kms:ViaService names (`s3.${AWS::Region}.amazonaws.com` -> s3)."""
    match = _VIA_SERVICE.match(sub_text(condition_value(statement, "kms:ViaService")) or "")
    return match.group(1) if match else None


def kms_grants(t: Template, role: str) -> tuple[set[tuple[str, str]], Problems]:
    """The (kms action, ViaService service) pairs a role's policies allow on DataKey, and problems."""
    grants: set[tuple[str, str]] = set()
    problems: Problems = []
    for policy in role_policies(t, role):
        for st in statements(policy["PolicyDocument"]):
            actions = [a for a in as_list(st.get("Action", [])) if str(a).lower().startswith("kms:")]
            if st.get("Effect") != "Allow" or not actions:
                continue
            if as_list(st.get("Resource")) != [KEY_ARN]:
                problems.append(f"{role} {st.get('Sid')}: kms rights beyond DataKey")
            service = via_service(st)
            if service is None:
                problems.append(f"{role} {st.get('Sid')}: kms rights without kms:ViaService")
                continue
            grants |= {(str(a), service) for a in actions}
    return grants, problems


def check_kms_rights(t: Template) -> Problems:
    problems: Problems = []
    for role, required in REQUIRED_KMS.items():
        grants, found = kms_grants(t, role)
        problems += found
        problems += [f"{role} lacks {a} through {s}" for a, s in sorted(required - grants)]
        extra = grants - required - ALLOWED_KMS.get(role, set())
        problems += [f"{role} has {a} through {s}, which it does not need" for a, s in sorted(extra)]
    return problems


def check_data_key(t: Template) -> Problems:
    problems: Problems = []
    key = t["Resources"].get("DataKey", {})
    if key.get("Type") != "AWS::KMS::Key":
        return ["DataKey (AWS::KMS::Key) is missing"]
    if key.get("Properties", {}).get("EnableKeyRotation") is not True:
        problems.append("DataKey rotation is off")
    alias = t["Resources"].get("DataKeyAlias", {})
    if alias.get("Type") != "AWS::KMS::Alias" or alias.get("Properties") != {
        "AliasName": {"Fn::Sub": "alias/${AWS::StackName}-data"},
        "TargetKeyId": {"Ref": "DataKey"},
    }:
        problems.append("DataKeyAlias is not alias/${AWS::StackName}-data for DataKey")
    outputs = t.get("Outputs", {})
    if outputs.get("DataKeyArn", {}).get("Value") != KEY_ARN:
        problems.append("output DataKeyArn is not DataKey's ARN")
    if outputs.get("DataKeyId", {}).get("Value") != {"Ref": "DataKey"}:
        problems.append("output DataKeyId is not DataKey's id")
    return problems


def check_encryption_at_rest(t: Template) -> Problems:
    problems: Problems = []
    for bucket in BUCKETS:
        rules = props(t, bucket).get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        wanted = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_ARN}
        if [r.get("ServerSideEncryptionByDefault") for r in rules] != [wanted]:
            problems.append(f"{bucket} does not default to SSE-KMS with DataKey")
        if not all(r.get("BucketKeyEnabled") is True for r in rules):
            problems.append(f"{bucket} does not use S3 Bucket Keys")
    for name, res in resources(t, "AWS::SNS::Topic").items():
        if res["Properties"].get("KmsMasterKeyId") != KEY_ARN:
            problems.append(f"{name} is not encrypted with DataKey")
    for name, res in resources(t, "AWS::SQS::Queue").items():
        if res["Properties"].get("KmsMasterKeyId") != KEY_ARN:
            problems.append(f"{name} is not encrypted with DataKey")
        if str(res["Properties"].get("SqsManagedSseEnabled", False)).lower() == "true":
            problems.append(f"{name} asks for SSE-SQS as well as DataKey")
    wanted_sse = {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": KEY_ARN}
    for name, res in resources(t, "AWS::DynamoDB::Table").items():
        if res["Properties"].get("SSESpecification") != wanted_sse:
            problems.append(f"{name} is not encrypted with DataKey")
    return problems


def _key_statements(t: Template) -> dict[str, dict[str, Any]]:
    document = props(t, "DataKey").get("KeyPolicy", {}) if "DataKey" in t["Resources"] else {}
    return {str(st.get("Sid")): st for st in statements(document)}


def _service_statement(key: dict[str, dict[str, Any]], service: str) -> dict[str, Any]:
    found = [st for st in key.values() if st.get("Principal") == {"Service": service}]
    return found[0] if len(found) == 1 else {}


def _arn_from_name(name: Any, arn_prefix: str) -> Any:
    """The ARN `Fn::Sub` for a resource whose name property is an `Fn::Sub` (string or with variables)."""
    if not (isinstance(name, dict) and "Fn::Sub" in name):
        return None
    sub = name["Fn::Sub"]
    return {"Fn::Sub": arn_prefix + sub if isinstance(sub, str) else [arn_prefix + sub[0], sub[1]]}


def _service_problems(t: Template, key: dict[str, dict[str, Any]]) -> Problems:
    problems: Problems = []
    own_account = {"Ref": "AWS::AccountId"}
    s3 = _service_statement(key, "s3.amazonaws.com")
    bucket_arn = _arn_from_name(props(t, "UploadBucket").get("BucketName"), "arn:${AWS::Partition}:s3:::")
    if not s3 or bucket_arn is None or condition_value(s3, "aws:SourceArn") != bucket_arn:
        problems.append("DataKey: s3.amazonaws.com is not limited to aws:SourceArn = UploadBucket")
    sns = _service_statement(key, "sns.amazonaws.com")
    topic_prefix = "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:"
    topic_arns = {
        json.dumps(_arn_from_name(props(t, topic).get("TopicName"), topic_prefix))
        for topic in set(TOPIC_OF.values())
    }
    if not sns or {json.dumps(a) for a in as_list(condition_value(sns, "aws:SourceArn"))} != topic_arns:
        problems.append("DataKey: sns.amazonaws.com is not limited to the consumer queues' topics")
    cloudwatch = _service_statement(key, "cloudwatch.amazonaws.com")
    if ":alarm:" not in (sub_text(condition_value(cloudwatch, "aws:SourceArn")) or ""):
        problems.append("DataKey: cloudwatch.amazonaws.com is not limited to this account's alarms")
    for name, st in (("s3", s3), ("sns", sns), ("cloudwatch", cloudwatch)):
        if condition_value(st, "aws:SourceAccount") != own_account:
            problems.append(f"DataKey: {name}.amazonaws.com lacks aws:SourceAccount = AWS::AccountId")
        if st and not {"kms:GenerateDataKey*", "kms:Decrypt"} <= set(as_list(st.get("Action"))):
            problems.append(f"DataKey: {name}.amazonaws.com cannot GenerateDataKey* and Decrypt")
    return problems


def check_key_policy(t: Template) -> Problems:
    key = _key_statements(t)
    problems: Problems = []
    root = [
        st
        for st in key.values()
        if principal_is_own_account(st.get("Principal"))
        and ":root" in json.dumps(st["Principal"])
        and st.get("Effect") == "Allow"
        and as_list(st.get("Action")) == ["kms:*"]
    ]
    if not root:
        problems.append(
            "DataKey: the account root (IAM policies) is not allowed kms:*, the key can be orphaned"
        )
    for sid, st in key.items():
        if st.get("Effect") != "Allow":
            continue
        principal = st.get("Principal")
        if principal in ("*", {"AWS": "*"}):
            problems.append(f"DataKey {sid}: Allow for any principal")
        if (
            isinstance(principal, dict)
            and "Service" in principal
            and condition_value(st, "aws:SourceArn") is None
        ):
            problems.append(f"DataKey {sid}: a service principal without aws:SourceArn")
    return problems + _service_problems(t, key)


CHECKS: dict[str, Callable[[Template], Problems]] = {
    "queues": check_queues,
    "visibility_timeout": check_visibility_timeout,
    "event_source_mappings": check_event_source_mappings,
    "queue_policies": check_queue_policies,
    "topic_policies": check_topic_policies,
    "buckets": check_buckets,
    "iam": check_iam,
    "functions": check_functions,
    "alarms": check_alarms,
    "outputs": check_outputs,
    "parameters": check_parameters,
    "logical_ids": check_logical_ids,
    "data_key": check_data_key,
    "encryption_at_rest": check_encryption_at_rest,
    "key_policy": check_key_policy,
    "kms_rights": check_kms_rights,
}


# ---------------------------------------------------------------------------------------------------
# Tests on the real template
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", TEMPLATE_PATHS, ids=[p.name for p in TEMPLATE_PATHS])
def test_cfn_lint_reports_nothing(path: Path) -> None:
    matches = lint_file(path)
    assert not matches, "\n".join(str(m) for m in matches)


@pytest.mark.parametrize("path", TEMPLATE_PATHS, ids=[p.name for p in TEMPLATE_PATHS])
def test_no_transform_and_parameters_come_first(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "Transform" not in load(path)
    top_level = re.findall(r"^([A-Za-z]+):", text, flags=re.MULTILINE)
    assert top_level.index("Parameters") < top_level.index("Resources") < top_level.index("Outputs")


@pytest.mark.parametrize("check", list(CHECKS))
def test_template_property(template: Template, check: str) -> None:
    assert CHECKS[check](template) == []


def test_architecture_doc_is_parsed() -> None:
    """Guards the doc-driven checks against parsing nothing at all."""
    assert len(architecture_env_vars()) == 15
    assert "Intake" not in architecture_env_vars()
    assert len(per_consumer(architecture_names("Outputs:"))) == 7 + 2 * len(CONSUMERS)
    assert "UploadBucketName" in architecture_names("Outputs:")
    assert "QueueVisibilityTimeout" in architecture_names("Parameters")
    assert "XEventSourceMapping" in architecture_names("Logical ids")


# ---------------------------------------------------------------------------------------------------
# Mutation tests: each check must notice a broken template
# ---------------------------------------------------------------------------------------------------
def _drop(path: list[str]) -> Callable[[Template], None]:
    def mutate(t: Template) -> None:
        node: Any = t
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _add_statement(role: str, statement: dict[str, Any]) -> Callable[[Template], None]:
    def mutate(t: Template) -> None:
        props(t, role)["Policies"][0]["PolicyDocument"]["Statement"].append(statement)

    return mutate


def _strip_conditions(policy: str) -> Callable[[Template], None]:
    def mutate(t: Template) -> None:
        for st in statements(props(t, policy)["PolicyDocument"]):
            if st.get("Effect") == "Allow":
                st.pop("Condition", None)

    return mutate


def _drop_tls_deny(policy: str) -> Callable[[Template], None]:
    def mutate(t: Template) -> None:
        doc = props(t, policy)["PolicyDocument"]
        doc["Statement"] = [st for st in statements(doc) if not is_tls_deny(st)]

    return mutate


def _key_statement(sid: str, change: Callable[[dict[str, Any]], None]) -> Callable[[Template], None]:
    def mutate(t: Template) -> None:
        [statement] = [st for st in props(t, "DataKey")["KeyPolicy"]["Statement"] if st.get("Sid") == sid]
        change(statement)

    return mutate


def _drop_condition(key: str) -> Callable[[dict[str, Any]], None]:
    def change(statement: dict[str, Any]) -> None:
        for block in statement["Condition"].values():
            block.pop(key, None)

    return change


def _drop_statement(policy: str, sid: str) -> Callable[[Template], None]:
    def mutate(t: Template) -> None:
        document = props(t, policy)["PolicyDocument"]
        document["Statement"] = [st for st in statements(document) if st.get("Sid") != sid]

    return mutate


R = "Resources"
P = "Properties"
MUTATIONS: list[tuple[str, str, Callable[[Template], None]]] = [
    ("no redrive", "queues", _drop([R, "ValidateQueue", P, "RedrivePolicy"])),
    ("low maxReceiveCount", "queues", set_at([R, "IndexQueue", P, "RedrivePolicy", "maxReceiveCount"], 3)),
    ("MaxReceiveCount MinValue", "queues", set_at(["Parameters", "MaxReceiveCount", "MinValue"], 1)),
    ("short DLQ retention", "queues", set_at([R, "NotifyDLQ", P, "MessageRetentionPeriod"], 345600)),
    (
        "short visibility",
        "visibility_timeout",
        set_at(["Parameters", "QueueVisibilityTimeout", "Default"], 60),
    ),
    ("long timeout", "visibility_timeout", set_at([R, "ThumbnailFunction", P, "Timeout"], 120)),
    (
        "no batch item failures",
        "event_source_mappings",
        set_at([R, "IndexEventSourceMapping", P, "FunctionResponseTypes"], []),
    ),
    (
        "no notify concurrency",
        "event_source_mappings",
        _drop([R, "NotifyEventSourceMapping", P, "ScalingConfig"]),
    ),
    ("open queue policy", "queue_policies", _strip_conditions("ThumbnailQueuePolicy")),
    (
        "queue policy wrong topic",
        "queue_policies",
        set_at(
            [
                R,
                "NotifyQueuePolicy",
                P,
                "PolicyDocument",
                "Statement",
                0,
                "Condition",
                "ArnEquals",
                "aws:SourceArn",
            ],
            {"Ref": "UploadEventsTopic"},
        ),
    ),
    ("open upload topic policy", "topic_policies", _strip_conditions("UploadEventsTopicPolicy")),
    ("open ops topic policy", "topic_policies", _strip_conditions("OpsTopicPolicy")),
    (
        "source arn drift",
        "topic_policies",
        set_at([R, "UploadBucket", P, "BucketName"], {"Fn::Sub": "other-${AWS::AccountId}"}),
    ),
    (
        "public policy allowed",
        "buckets",
        set_at([R, "UploadBucket", P, "PublicAccessBlockConfiguration", "BlockPublicPolicy"], False),
    ),
    ("unencrypted bucket", "buckets", _drop([R, "ThumbnailBucket", P, "BucketEncryption"])),
    ("no TLS deny", "buckets", _drop_tls_deny("UploadBucketPolicy")),
    (
        "thumbnail notifications",
        "buckets",
        set_at([R, "ThumbnailBucket", P, "NotificationConfiguration"], {"TopicConfigurations": []}),
    ),
    (
        "action star",
        "iam",
        _add_statement(
            "ValidateFunctionRole", {"Effect": "Allow", "Action": "*", "Resource": {"Ref": "FinishedTopic"}}
        ),
    ),
    (
        "resource star",
        "iam",
        _add_statement("IndexFunctionRole", {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),
    ),
    (
        "foreign queue",
        "iam",
        _add_statement(
            "NotifyFunctionRole",
            {
                "Effect": "Allow",
                "Action": "sqs:DeleteMessage",
                "Resource": {"Fn::GetAtt": ["ValidateQueue", "Arn"]},
            },
        ),
    ),
    ("missing env var", "functions", _drop([R, "IndexFunction", P, "Environment", "Variables", "LOG_LEVEL"])),
    ("alarm without action", "alarms", _drop([R, "ValidateDLQDepthAlarm", P, "AlarmActions"])),
    (
        "refusal alarm on another service",
        "alarms",
        set_at([R, "RefusalsNotAnnouncedAlarm", P, "Dimensions"], [{"Name": "service", "Value": "notify"}]),
    ),
    ("missing output", "outputs", _drop(["Outputs", "NotifyDLQUrl"])),
    ("renamed parameter", "parameters", _drop(["Parameters", "OldestMessageAgeThreshold"])),
    ("missing resource", "logical_ids", _drop([R, "ThumbnailSubscription"])),
    ("rotation off", "data_key", set_at([R, "DataKey", P, "EnableKeyRotation"], False)),
    ("alias on another key", "data_key", set_at([R, "DataKeyAlias", P, "TargetKeyId"], "alias/aws/s3")),
    ("no key id output", "data_key", _drop(["Outputs", "DataKeyId"])),
    ("queue without KmsMasterKeyId", "encryption_at_rest", _drop([R, "NotifyDLQ", P, "KmsMasterKeyId"])),
    (
        "bucket on AES256",
        "encryption_at_rest",
        set_at(
            [R, "ThumbnailBucket", P, "BucketEncryption", "ServerSideEncryptionConfiguration", 0],
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True},
        ),
    ),
    (
        "no bucket key",
        "encryption_at_rest",
        set_at(
            [
                R,
                "UploadBucket",
                P,
                "BucketEncryption",
                "ServerSideEncryptionConfiguration",
                0,
                "BucketKeyEnabled",
            ],
            False,
        ),
    ),
    (
        "topic on alias/aws/sns",
        "encryption_at_rest",
        set_at([R, "OpsTopic", P, "KmsMasterKeyId"], "alias/aws/sns"),
    ),
    (
        "table on the AWS managed key",
        "encryption_at_rest",
        _drop([R, "IdempotencyTable", P, "SSESpecification", "KMSMasterKeyId"]),
    ),
    (
        "s3 statement without SourceArn",
        "key_policy",
        _key_statement("AllowS3EventsToUploadTopic", _drop_condition("aws:SourceArn")),
    ),
    (
        "cloudwatch statement without SourceAccount",
        "key_policy",
        _key_statement("AllowCloudWatchAlarmsToOpsTopic", _drop_condition("aws:SourceAccount")),
    ),
    (
        "sns statement for one topic",
        "key_policy",
        _key_statement(
            "AllowSnsDeliveryToQueues",
            lambda st: st["Condition"]["ArnEquals"].update(
                {"aws:SourceArn": st["Condition"]["ArnEquals"]["aws:SourceArn"][:1]}
            ),
        ),
    ),
    (
        "topic renamed away from the key policy",
        "key_policy",
        set_at([R, "FinishedTopic", P, "TopicName"], {"Fn::Sub": "${AWS::StackName}-done"}),
    ),
    (
        "no root statement",
        "key_policy",
        _key_statement("EnableIamPolicies", lambda st: st.update(Action="kms:Decrypt")),
    ),
    (
        "key for anyone",
        "key_policy",
        _key_statement("AllowCloudWatchAlarmsToOpsTopic", lambda st: st.update(Principal="*")),
    ),
    (
        "api role lacks GenerateDataKey for presigned uploads",
        "kms_rights",
        set_at([R, "ApiFunctionKeyPolicy", P, "PolicyDocument", "Statement", 0, "Action"], ["kms:Decrypt"]),
    ),
    (
        "thumbnails cannot be encrypted",
        "kms_rights",
        _drop_statement("ThumbnailFunctionPolicy", "EncryptThumbnails"),
    ),
    ("kms without ViaService", "kms_rights", _strip_conditions("StageFunctionsPolicy")),
    (
        "kms on every key",
        "kms_rights",
        set_at([R, "StageFunctionsPolicy", P, "PolicyDocument", "Statement", 3, "Resource"], "*"),
    ),
    (
        "validate may encrypt uploads",
        "kms_rights",
        _add_statement(
            "ValidateFunctionRole",
            {
                "Effect": "Allow",
                "Action": "kms:GenerateDataKey",
                "Resource": KEY_ARN,
                "Condition": {
                    "StringEquals": {"kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}}
                },
            },
        ),
    ),
]


@pytest.mark.parametrize(
    ("check", "mutate"), [(c, m) for _, c, m in MUTATIONS], ids=[n for n, _, _ in MUTATIONS]
)
def test_check_detects_broken_template(
    template: Template, check: str, mutate: Callable[[Template], None]
) -> None:
    mutate(template)
    assert CHECKS[check](template), f"check {check!r} did not notice the mutation"


# ---------------------------------------------------------------------------------------------------
# Mutations of the source templates: a break in consumer.yaml or in how intake.yaml instantiates it
# reaches the effective template, and the same checks notice it
# ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sources() -> tuple[Template, Template]:
    return load(TEMPLATE_PATH), load(CONSUMER_TEMPLATE_PATH)


def _in_child(path: list[Any], value: Any = None) -> Callable[[Template, Template], None]:
    change = _drop(path) if value is None else set_at(path, value)
    return lambda parent, child: change(child)


def _in_parent(path: list[Any], value: Any = None) -> Callable[[Template, Template], None]:
    change = _drop(path) if value is None else set_at(path, value)
    return lambda parent, child: change(parent)


SOURCE_MUTATIONS: list[tuple[str, str, Callable[[Template, Template], None]]] = [
    ("child queue without redrive", "queues", _in_child([R, "Queue", P, "RedrivePolicy"])),
    (
        "child mapping without batch item failures",
        "event_source_mappings",
        _in_child([R, "EventSourceMapping", P, "FunctionResponseTypes"], []),
    ),
    (
        "child role on every queue",
        "iam",
        _in_child([R, "FunctionRole", P, "Policies", 0, "PolicyDocument", "Statement", 0, "Resource"], "*"),
    ),
    ("child log group renamed", "functions", _in_child([R, "LogGroup", P, "LogGroupName"], "/aws/lambda/x")),
    (
        "notify fed by upload events",
        "queue_policies",
        _in_parent([R, "Notify", P, "Parameters", "SourceTopicArn"], {"Ref": "UploadEventsTopic"}),
    ),
    (
        "notify concurrency left at the default",
        "event_source_mappings",
        _in_parent([R, "Notify", P, "Parameters", "MaximumConcurrency"]),
    ),
    (
        "stage policy on every resource",
        "iam",
        _in_parent([R, "StageFunctionsPolicy", P, "PolicyDocument", "Statement", 0, "Resource"], "*"),
    ),
    (
        "child queue on SSE-SQS",
        "encryption_at_rest",
        _in_child([R, "Queue", P], {"VisibilityTimeout": 180, "SqsManagedSseEnabled": True}),
    ),
    (
        "child role cannot decrypt its queue",
        "kms_rights",
        lambda parent, child: props(child, "FunctionRole")["Policies"][0]["PolicyDocument"].update(
            Statement=[
                st
                for st in props(child, "FunctionRole")["Policies"][0]["PolicyDocument"]["Statement"]
                if st.get("Sid") != "DecryptOwnQueue"
            ]
        ),
    ),
    (
        "a consumer stack not given the key",
        "encryption_at_rest",
        _in_parent([R, "Index", P, "Parameters", "DataKeyArn"], "alias/aws/sqs"),
    ),
]


@pytest.mark.parametrize(
    ("check", "mutate"), [(c, m) for _, c, m in SOURCE_MUTATIONS], ids=[n for n, _, _ in SOURCE_MUTATIONS]
)
def test_check_detects_broken_source_template(
    sources: tuple[Template, Template], check: str, mutate: Callable[[Template, Template], None]
) -> None:
    parent, child = copy.deepcopy(sources)
    assert CHECKS[check](effective_template(parent, {CONSUMER_TEMPLATE_PATH.name: child})) == []
    mutate(parent, child)
    broken = effective_template(parent, {CONSUMER_TEMPLATE_PATH.name: child})
    assert CHECKS[check](broken), f"check {check!r} did not notice the mutation"


def test_a_nested_stack_must_pass_every_child_parameter_without_default(
    sources: tuple[Template, Template],
) -> None:
    parent, child = copy.deepcopy(sources)
    del parent[R]["Index"][P]["Parameters"]["PipelineName"]
    with pytest.raises(ValueError, match="Index does not pass the child parameter PipelineName"):
        effective_template(parent, {CONSUMER_TEMPLATE_PATH.name: child})


# ---------------------------------------------------------------------------------------------------
# WAF and API logging: the API stage's REGIONAL WebACL, the CLOUDFRONT WebACL in
# us-east-1, the stage's JSON access log and the account's CloudWatch role
# ---------------------------------------------------------------------------------------------------
MANAGED_GROUPS = {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
STAGE_ARN = {
    "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${Api}/stages/${ApiStage}"
}
#: What each access log line must carry: field -> the $context variable.
ACCESS_LOG_VARIABLES = {
    "requestId": "$context.requestId",
    "sub": "$context.authorizer.claims.sub",
    "status": "$context.status",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "method": "$context.httpMethod",
    "path": "$context.path",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
}
WAF_WINDOWS = {60, 120, 300, 600}


def acl_rules(t: Template, acl: str) -> dict[str, dict[str, Any]]:
    return {r.get("Name"): r for r in props(t, acl).get("Rules", [])} if acl in t["Resources"] else {}


def rate_statement(rule: dict[str, Any]) -> dict[str, Any]:
    statement: dict[str, Any] = rule.get("Statement", {}).get("RateBasedStatement", {})
    return statement


def check_rate_rule(t: Template, acl: str, name: str, aggregate: str, limit_param: str) -> Problems:
    rule = acl_rules(t, acl).get(name)
    if rule is None:
        return [f"{acl} has no rule {name}"]
    statement, problems = rate_statement(rule), []
    if statement.get("AggregateKeyType") != aggregate:
        problems.append(f"{acl} {name} is not keyed on {aggregate}")
    if statement.get("Limit") != {"Ref": limit_param}:
        problems.append(f"{acl} {name} Limit is not {limit_param}")
    param = t["Parameters"].get(limit_param, {})
    if int(param.get("MinValue", 0)) < 10 or int(param.get("Default", 0)) < 10:
        problems.append(f"{limit_param} allows a Limit below WAF's minimum of 10")
    window = statement.get("EvaluationWindowSec")
    windows = set(t["Parameters"].get("ApiRateWindowSec", {}).get("AllowedValues", []))
    if window != {"Ref": "ApiRateWindowSec"} or not windows or not windows <= WAF_WINDOWS:
        problems.append(f"{acl} {name} EvaluationWindowSec is not ApiRateWindowSec (60/120/300/600)")
    if "Block" not in rule.get("Action", {}):
        problems.append(f"{acl} {name} does not block")
    return problems


def check_managed_groups_and_metrics(t: Template, acl: str) -> Problems:
    problems: Problems = []
    p = props(t, acl)
    if p.get("DefaultAction") != {"Allow": {}}:
        problems.append(f"{acl} default action is not allow")
    managed = {}
    for rule in p.get("Rules", []):
        group = rule.get("Statement", {}).get("ManagedRuleGroupStatement")
        if group and group.get("VendorName") == "AWS":
            managed[group.get("Name")] = rule
    for name in sorted(MANAGED_GROUPS - set(managed)):
        problems.append(f"{acl} lacks the AWS managed rule group {name}")
    for name, rule in managed.items():
        if rule.get("OverrideAction") != {"None": {}}:
            problems.append(f"{acl} {name}: OverrideAction is not None (the group's own actions)")
    for label, config in [("WebACL", p.get("VisibilityConfig", {}))] + [
        (r.get("Name"), r.get("VisibilityConfig", {})) for r in p.get("Rules", [])
    ]:
        if config.get("CloudWatchMetricsEnabled") is not True or not config.get("MetricName"):
            problems.append(f"{acl} {label}: no CloudWatch metric")
    return problems


def check_api_web_acl(t: Template) -> Problems:
    if "ApiWebAcl" not in t["Resources"]:
        return ["ApiWebAcl is missing"]
    problems = check_managed_groups_and_metrics(t, "ApiWebAcl")
    if props(t, "ApiWebAcl").get("Scope") != "REGIONAL":
        problems.append("ApiWebAcl is not REGIONAL")
    problems += check_rate_rule(t, "ApiWebAcl", "PerIpRateLimit", "IP", "ApiRateLimitPerIp")
    problems += check_rate_rule(t, "ApiWebAcl", "PerUserRateLimit", "CUSTOM_KEYS", "ApiRateLimitPerUser")
    per_user = rate_statement(acl_rules(t, "ApiWebAcl").get("PerUserRateLimit", {}))
    keys = [(k.get("Header") or {}).get("Name") for k in per_user.get("CustomKeys", [])]
    if keys != ["Authorization"]:
        problems.append(f"PerUserRateLimit is keyed on {keys}, not only the Authorization header")
    associations = [
        p
        for p in (res.get("Properties", {}) for res in resources(t, "AWS::WAFv2::WebACLAssociation").values())
        if p.get("WebACLArn") == {"Fn::GetAtt": ["ApiWebAcl", "Arn"]}
    ]
    if [a.get("ResourceArn") for a in associations] != [STAGE_ARN]:
        problems.append("ApiWebAcl is not associated with the API stage (and only with it)")
    return problems


def check_cloudfront_web_acl(t: Template) -> Problems:
    if "CloudFrontWebAcl" not in t["Resources"]:
        return ["CloudFrontWebAcl is missing"]
    problems = check_managed_groups_and_metrics(t, "CloudFrontWebAcl")
    problems += check_rate_rule(t, "CloudFrontWebAcl", "PerIpRateLimit", "IP", "ApiRateLimitPerIp")
    if props(t, "CloudFrontWebAcl").get("Scope") != "CLOUDFRONT":
        problems.append("CloudFrontWebAcl is not of scope CLOUDFRONT")
    if t["Conditions"].get("IsUsEast1") != {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}:
        problems.append("condition IsUsEast1 is not Region = us-east-1")
    if t["Resources"]["CloudFrontWebAcl"].get("Condition") != "IsUsEast1":
        problems.append("CloudFrontWebAcl is not limited to us-east-1 (condition IsUsEast1)")
    output = t.get("Outputs", {}).get("CloudFrontWebAclArn", {})
    if output.get("Condition") != "IsUsEast1" or output.get("Value") != {
        "Fn::GetAtt": ["CloudFrontWebAcl", "Arn"]
    }:
        problems.append("output CloudFrontWebAclArn is not CloudFrontWebAcl.Arn under IsUsEast1")
    return problems


def access_log_format(t: Template) -> dict[str, Any] | None:
    text = props(t, "ApiStage").get("AccessLogSetting", {}).get("Format")
    try:
        parsed = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def check_access_logging(t: Template) -> Problems:
    problems: Problems = []
    setting = props(t, "ApiStage").get("AccessLogSetting", {})
    if setting.get("DestinationArn") != {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}:
        problems.append("ApiStage access logs do not go to ApiAccessLogGroup")
    if "ApiAccessLogGroup" not in t["Resources"]:
        problems.append("ApiAccessLogGroup is missing")
    elif props(t, "ApiAccessLogGroup").get("RetentionInDays") != {"Ref": "LogRetentionDays"}:
        problems.append("ApiAccessLogGroup retention is not LogRetentionDays")
    fields = access_log_format(t)
    if fields is None:
        return [*problems, "ApiStage access log Format is not a JSON object"]
    for name, variable in ACCESS_LOG_VARIABLES.items():
        if fields.get(name) != variable:
            problems.append(f"access log field {name} is not {variable}")
    return problems


def check_api_gateway_account(t: Template) -> Problems:
    problems: Problems = []
    if t["Conditions"].get("ManagesApiGatewayAccount") != {
        "Fn::Equals": [{"Ref": "ManageApiGatewayAccount"}, "true"]
    }:
        problems.append("condition ManagesApiGatewayAccount is not ManageApiGatewayAccount = true")
    for name in ("ApiGatewayAccount", "ApiGatewayCloudWatchRole"):
        if t["Resources"].get(name, {}).get("Condition") != "ManagesApiGatewayAccount":
            problems.append(f"{name} is not conditional on ManagesApiGatewayAccount")
    if props(t, "ApiGatewayAccount").get("CloudWatchRoleArn") != {
        "Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]
    }:
        problems.append("ApiGatewayAccount does not use ApiGatewayCloudWatchRole")
    role = props(t, "ApiGatewayCloudWatchRole")
    trusted = [st.get("Principal") for st in statements(role.get("AssumeRolePolicyDocument", {}))]
    if trusted != [{"Service": "apigateway.amazonaws.com"}]:
        problems.append("ApiGatewayCloudWatchRole is not assumable by apigateway.amazonaws.com only")
    if "AmazonAPIGatewayPushToCloudWatchLogs" not in json.dumps(role.get("ManagedPolicyArns", [])):
        problems.append("ApiGatewayCloudWatchRole lacks AmazonAPIGatewayPushToCloudWatchLogs")
    ordering = t["Resources"]["ApiStage"].get("Metadata", {})
    if '{"Ref": "ApiGatewayAccount"}' not in json.dumps(ordering):
        problems.append("ApiStage is not created after ApiGatewayAccount (access logging needs the role)")
    return problems


WAF_CHECKS: dict[str, Callable[[Template], Problems]] = {
    "api_web_acl": check_api_web_acl,
    "cloudfront_web_acl": check_cloudfront_web_acl,
    "access_logging": check_access_logging,
    "api_gateway_account": check_api_gateway_account,
}


@pytest.mark.parametrize("check", list(WAF_CHECKS))
def test_waf_and_logging_property(template: Template, check: str) -> None:
    assert WAF_CHECKS[check](template) == []


def _change_rule(acl: str, name: str, change: Callable[[dict[str, Any]], None]) -> Callable[[Template], None]:
    return lambda t: change(acl_rules(t, acl)[name])


def _drop_rule(acl: str, name: str) -> Callable[[Template], None]:
    def mutate(t: Template) -> None:
        props(t, acl)["Rules"] = [r for r in props(t, acl)["Rules"] if r["Name"] != name]

    return mutate


def _log_format(change: Callable[[dict[str, Any]], None]) -> Callable[[Template], None]:
    def mutate(t: Template) -> None:
        fields = access_log_format(t)
        assert fields is not None
        change(fields)
        props(t, "ApiStage")["AccessLogSetting"]["Format"] = json.dumps(fields)

    return mutate


def _per_user_key(key: dict[str, Any]) -> Callable[[Template], None]:
    return _change_rule(
        "ApiWebAcl",
        "PerUserRateLimit",
        lambda r: r["Statement"]["RateBasedStatement"].update(CustomKeys=[key]),
    )


WAF_MUTATIONS: list[tuple[str, str, Callable[[Template], None]]] = [
    ("ACL not associated", "api_web_acl", _drop([R, "ApiWebAclAssociation"])),
    (
        "ACL on another stage",
        "api_web_acl",
        set_at(
            [R, "ApiWebAclAssociation", P, "ResourceArn"],
            {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${Api}/stages/v2"},
        ),
    ),
    ("ACL of CLOUDFRONT scope", "api_web_acl", set_at([R, "ApiWebAcl", P, "Scope"], "CLOUDFRONT")),
    ("default block", "api_web_acl", set_at([R, "ApiWebAcl", P, "DefaultAction"], {"Block": {}})),
    (
        "per-user rule keyed on another header",
        "api_web_acl",
        _per_user_key(
            {"Header": {"Name": "X-Api-Key", "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}
        ),
    ),
    ("per-user rule keyed on the IP", "api_web_acl", _per_user_key({"IP": {}})),
    ("no per-IP rule", "api_web_acl", _drop_rule("ApiWebAcl", "PerIpRateLimit")),
    (
        "per-IP rule counts only",
        "api_web_acl",
        _change_rule("ApiWebAcl", "PerIpRateLimit", lambda r: r.update(Action={"Count": {}})),
    ),
    (
        "literal limit",
        "api_web_acl",
        _change_rule(
            "ApiWebAcl", "PerUserRateLimit", lambda r: r["Statement"]["RateBasedStatement"].update(Limit=50)
        ),
    ),
    (
        "limit below WAF's minimum",
        "api_web_acl",
        set_at(["Parameters", "ApiRateLimitPerUser", "MinValue"], 1),
    ),
    (
        "window WAF lacks",
        "api_web_acl",
        set_at(["Parameters", "ApiRateWindowSec", "AllowedValues"], [30, 300]),
    ),
    ("missing managed group", "api_web_acl", _drop_rule("ApiWebAcl", "AWSManagedRulesKnownBadInputsRuleSet")),
    (
        "managed group only counts",
        "api_web_acl",
        _change_rule(
            "ApiWebAcl", "AWSManagedRulesCommonRuleSet", lambda r: r.update(OverrideAction={"Count": {}})
        ),
    ),
    (
        "rule without metrics",
        "api_web_acl",
        _change_rule(
            "ApiWebAcl",
            "PerUserRateLimit",
            lambda r: r["VisibilityConfig"].update(CloudWatchMetricsEnabled=False),
        ),
    ),
    ("CloudFront ACL in every region", "cloudfront_web_acl", _drop([R, "CloudFrontWebAcl", "Condition"])),
    (
        "CloudFront ACL regional",
        "cloudfront_web_acl",
        set_at([R, "CloudFrontWebAcl", P, "Scope"], "REGIONAL"),
    ),
    (
        "CloudFront ACL without common rules",
        "cloudfront_web_acl",
        _drop_rule("CloudFrontWebAcl", "AWSManagedRulesCommonRuleSet"),
    ),
    (
        "CloudFront ACL without rate rule",
        "cloudfront_web_acl",
        _drop_rule("CloudFrontWebAcl", "PerIpRateLimit"),
    ),
    ("CloudFront ACL not output", "cloudfront_web_acl", _drop(["Outputs", "CloudFrontWebAclArn"])),
    ("no access log", "access_logging", _drop([R, "ApiStage", P, "AccessLogSetting"])),
    ("log format lacks requestId", "access_logging", _log_format(lambda f: f.pop("requestId"))),
    ("log format lacks sub", "access_logging", _log_format(lambda f: f.pop("sub"))),
    ("log format lacks latency", "access_logging", _log_format(lambda f: f.pop("integrationLatency"))),
    (
        "log format not JSON",
        "access_logging",
        set_at([R, "ApiStage", P, "AccessLogSetting", "Format"], "$context.requestId"),
    ),
    ("access log kept forever", "access_logging", _drop([R, "ApiAccessLogGroup", P, "RetentionInDays"])),
    ("account setting always made", "api_gateway_account", _drop([R, "ApiGatewayAccount", "Condition"])),
    ("stage not after the account", "api_gateway_account", _drop([R, "ApiStage", "Metadata"])),
    (
        "account role without logs policy",
        "api_gateway_account",
        set_at([R, "ApiGatewayCloudWatchRole", P, "ManagedPolicyArns"], []),
    ),
]


@pytest.mark.parametrize(
    ("check", "mutate"), [(c, m) for _, c, m in WAF_MUTATIONS], ids=[n for n, _, _ in WAF_MUTATIONS]
)
def test_waf_check_detects_broken_template(
    template: Template, check: str, mutate: Callable[[Template], None]
) -> None:
    mutate(template)
    assert WAF_CHECKS[check](template), f"check {check!r} did not notice the mutation"


# ---------------------------------------------------------------------------------------------------
# Hardening (security review): Cognito, S3 audit trail and multipart abort, DLQ policies, WebOrigin
# ---------------------------------------------------------------------------------------------------
def check_cognito(t: Template) -> Problems:
    problems: Problems = []
    pool, client = props(t, "UserPool"), props(t, "UserPoolClient")
    if pool.get("UserAttributeUpdateSettings", {}).get("AttributesRequireVerificationBeforeUpdate") != [
        "email"
    ]:
        problems.append("UserPool: an email change does not need verification first")
    writable = client.get("WriteAttributes")
    if not writable or {"email", "email_verified"} & set(writable):
        problems.append("UserPoolClient WriteAttributes is unset, empty or lets users write email")
    if "email" not in client.get("ReadAttributes", []):
        problems.append("UserPoolClient ReadAttributes is unset or lacks email")
    if pool.get("MfaConfiguration") != "OPTIONAL" or pool.get("EnabledMfas") != ["SOFTWARE_TOKEN_MFA"]:
        problems.append("UserPool MFA is not optional TOTP")
    policy = pool.get("Policies", {}).get("PasswordPolicy", {})
    flags = ("RequireUppercase", "RequireLowercase", "RequireNumbers", "RequireSymbols")
    if int(policy.get("MinimumLength", 0)) < 12 or not all(policy.get(f) is True for f in flags):
        problems.append("UserPool has no stated password policy of 12+ characters of all four kinds")
    mode = t["Parameters"].get("ThreatProtectionMode", {})
    if mode.get("Default") != "OFF" or pool.get("UserPoolAddOns") != {
        "AdvancedSecurityMode": {"Ref": "ThreatProtectionMode"}
    }:
        problems.append("threat protection is not the ThreatProtectionMode parameter, default OFF")
    if pool.get("UserPoolTier") != {"Fn::If": ["HasThreatProtection", "PLUS", "ESSENTIALS"]}:
        problems.append("UserPoolTier does not follow HasThreatProtection (Plus is needed for it)")
    flows = set(client.get("ExplicitAuthFlows", []))
    if not {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"} <= flows or flows - {
        "ALLOW_USER_SRP_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",  # the page and the CLI sign in with it (see the template's comment)
    }:
        problems.append(f"UserPoolClient auth flows are not SRP + refresh (+ password): {sorted(flows)}")
    return problems


def check_audit_and_lifecycle(t: Template) -> Problems:
    problems: Problems = []
    if t["Parameters"].get("EnableS3AccessLogs", {}).get("Default") != "true":
        problems.append("EnableS3AccessLogs is missing or off by default")
    log_policy = props(t, "AccessLogBucketPolicy") if "AccessLogBucketPolicy" in t["Resources"] else {}
    allows = [st for st in statements(log_policy.get("PolicyDocument", {})) if st.get("Effect") == "Allow"]
    for bucket, prefix in (("UploadBucket", "upload-bucket/"), ("ThumbnailBucket", "thumbnail-bucket/")):
        p = props(t, bucket)
        rules = p.get("LifecycleConfiguration", {}).get("Rules", [])
        if not any(
            int(r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation", 99)) <= 1
            for r in rules
        ):
            problems.append(f"{bucket} does not abort incomplete multipart uploads after a day")
        wanted = {
            "Fn::If": [
                "LogsS3Access",
                {"DestinationBucketName": {"Ref": "AccessLogBucket"}, "LogFilePrefix": prefix},
                {"Ref": "AWS::NoValue"},
            ]
        }
        if p.get("LoggingConfiguration") != wanted:
            problems.append(
                f"{bucket} does not log access to AccessLogBucket/{prefix} when EnableS3AccessLogs"
            )
        if "AccessLogBucketPolicy" not in as_list(t["Resources"][bucket].get("DependsOn", [])):
            problems.append(f"{bucket} is not created after AccessLogBucketPolicy")
        name = p.get("BucketName", {}).get("Fn::Sub", [""])[0]
        mine = [st for st in allows if prefix in json.dumps(st.get("Resource"))]
        if len(mine) != 1 or name[:20] not in json.dumps(condition_value(mine[0], "aws:SourceArn")):
            problems.append(f"AccessLogBucketPolicy does not admit {bucket}'s logs under {prefix} only")
        elif condition_value(mine[0], "aws:SourceAccount") != {"Ref": "AWS::AccountId"}:
            problems.append(f"AccessLogBucketPolicy lacks aws:SourceAccount for {bucket}")
    if any(st.get("Principal") != {"Service": "logging.s3.amazonaws.com"} for st in allows):
        problems.append("AccessLogBucketPolicy allows a principal other than S3 logging")
    if not any(is_tls_deny(st) for st in statements(log_policy.get("PolicyDocument", {}))):
        problems.append("AccessLogBucketPolicy has no TLS-only deny")
    return problems


def check_dlq_policies(t: Template) -> Problems:
    problems: Problems = []
    for x in CONSUMERS:
        if f"{x}DLQPolicy" not in t["Resources"]:
            problems.append(f"{x}DLQPolicy is missing")
            continue
        p = props(t, f"{x}DLQPolicy")
        if p.get("Queues") != [{"Ref": f"{x}DLQ"}]:
            problems.append(f"{x}DLQPolicy is not attached to {x}DLQ")
        sts = statements(p["PolicyDocument"])
        if not any(is_tls_deny(st) and st.get("Action") == "sqs:*" for st in sts):
            problems.append(f"{x}DLQPolicy has no TLS-only deny")
        for st in (st for st in sts if st.get("Effect") == "Allow"):
            if as_list(st.get("Action")) != ["sqs:SendMessage"]:
                problems.append(f"{x}DLQPolicy allows more than sqs:SendMessage")
            if condition_value(st, "aws:SourceArn") != {"Fn::GetAtt": [f"{x}Queue", "Arn"]}:
                problems.append(f"{x}DLQPolicy allows a source other than {x}Queue")
    for x in CONSUMERS:
        if not any(is_tls_deny(st) for st in statements(props(t, f"{x}QueuePolicy")["PolicyDocument"])):
            problems.append(f"{x}QueuePolicy has no TLS-only deny")
    return problems


def check_web_origin(t: Template) -> Problems:
    param = t["Parameters"]["WebOrigin"]
    problems = ["WebOrigin has a default"] if "Default" in param else []
    pattern = param.get("AllowedPattern", "")
    good = ("https://intake.example.com", "http://127.0.0.1:3000", "http://localhost:8080")
    bad = ("http://intake.example.com", "https://intake.example.com/", "http://127.0.0.1.example.com")
    problems += [f"WebOrigin refuses {o}" for o in good if not re.fullmatch(pattern, o)]
    problems += [f"WebOrigin accepts {o}" for o in bad if re.fullmatch(pattern, o)]
    return problems


HARDENING_CHECKS: dict[str, Callable[[Template], Problems]] = {
    "cognito": check_cognito,
    "audit_and_lifecycle": check_audit_and_lifecycle,
    "dlq_policies": check_dlq_policies,
    "web_origin": check_web_origin,
}


@pytest.mark.parametrize("check", list(HARDENING_CHECKS))
def test_hardening_property(template: Template, check: str) -> None:
    assert HARDENING_CHECKS[check](template) == []


def _drop_flag(resource: str, *path: str) -> Callable[[Template], None]:
    return _drop([R, resource, P, *path])


HARDENING_MUTATIONS: list[tuple[str, str, Callable[[Template], None]]] = [
    ("email change unverified", "cognito", _drop_flag("UserPool", "UserAttributeUpdateSettings")),
    (
        "client writes email",
        "cognito",
        set_at([R, "UserPoolClient", P, "WriteAttributes"], ["name", "email"]),
    ),
    ("client writes every attribute", "cognito", _drop_flag("UserPoolClient", "WriteAttributes")),
    ("MFA off", "cognito", set_at([R, "UserPool", P, "MfaConfiguration"], "OFF")),
    ("SMS MFA", "cognito", set_at([R, "UserPool", P, "EnabledMfas"], ["SMS_MFA"])),
    (
        "short passwords",
        "cognito",
        set_at([R, "UserPool", P, "Policies", "PasswordPolicy", "MinimumLength"], 8),
    ),
    (
        "threat protection on by default",
        "cognito",
        set_at(["Parameters", "ThreatProtectionMode", "Default"], "ENFORCED"),
    ),
    ("threat protection on Essentials", "cognito", set_at([R, "UserPool", P, "UserPoolTier"], "ESSENTIALS")),
    (
        "admin auth flow",
        "cognito",
        set_at([R, "UserPoolClient", P, "ExplicitAuthFlows"], ["ALLOW_ADMIN_USER_PASSWORD_AUTH"]),
    ),
    ("no multipart abort", "audit_and_lifecycle", _drop_flag("UploadBucket", "LifecycleConfiguration")),
    ("no access log", "audit_and_lifecycle", _drop_flag("ThumbnailBucket", "LoggingConfiguration")),
    (
        "access logs off by default",
        "audit_and_lifecycle",
        set_at(["Parameters", "EnableS3AccessLogs", "Default"], "false"),
    ),
    (
        "logging before its policy",
        "audit_and_lifecycle",
        set_at([R, "UploadBucket", "DependsOn"], ["UploadEventsTopicPolicy"]),
    ),
    ("log policy for any source", "audit_and_lifecycle", _strip_conditions("AccessLogBucketPolicy")),
    ("log bucket over HTTP", "audit_and_lifecycle", _drop_tls_deny("AccessLogBucketPolicy")),
    ("no DLQ policy", "dlq_policies", _drop([R, "IndexDLQPolicy"])),
    ("DLQ over HTTP", "dlq_policies", _drop_tls_deny("NotifyDLQPolicy")),
    ("queue over HTTP", "dlq_policies", _drop_tls_deny("ValidateQueuePolicy")),
    (
        "DLQ from another queue",
        "dlq_policies",
        set_at(
            [
                R,
                "ThumbnailDLQPolicy",
                P,
                "PolicyDocument",
                "Statement",
                0,
                "Condition",
                "ArnEquals",
                "aws:SourceArn",
            ],
            {"Fn::GetAtt": ["IndexQueue", "Arn"]},
        ),
    ),
    (
        "localhost default",
        "web_origin",
        set_at(["Parameters", "WebOrigin", "Default"], "http://127.0.0.1:3000"),
    ),
    (
        "plain http origin",
        "web_origin",
        set_at(["Parameters", "WebOrigin", "AllowedPattern"], "^https?://[^/\\s]+$"),
    ),
]


@pytest.mark.parametrize(
    ("check", "mutate"),
    [(c, m) for _, c, m in HARDENING_MUTATIONS],
    ids=[n for n, _, _ in HARDENING_MUTATIONS],
)
def test_hardening_check_detects_broken_template(
    template: Template, check: str, mutate: Callable[[Template], None]
) -> None:
    mutate(template)
    assert HARDENING_CHECKS[check](template), f"check {check!r} did not notice the mutation"


def test_the_index_table_expires_abandoned_uploads_on_the_records_ttl_attribute(template: Template) -> None:
    from intake.records import TTL_ATTRIBUTE

    ttl = props(template, "IndexTable").get("TimeToLiveSpecification")
    assert ttl == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}


def test_stages_may_delete_a_rejected_upload_and_its_thumbnails_only(template: Template) -> None:
    document = props(template, "StageFunctionsPolicy")["PolicyDocument"]
    deletes = [st for st in statements(document) if "s3:DeleteObject" in as_list(st.get("Action"))]
    assert len(deletes) == 1 and as_list(deletes[0]["Action"]) == ["s3:DeleteObject"]
    assert "Condition" not in deletes[0]
    assert as_list(deletes[0]["Resource"]) == [
        {"Fn::Sub": "${UploadBucket.Arn}/uploads/*"},
        {"Fn::Sub": "${ThumbnailBucket.Arn}/thumbnails/*"},
    ]
