"""CloudFormation support the local cloud adds to moto, so every template resource is real.

moto 5.2.5 skips some resource types and properties while still reporting CREATE_COMPLETE. Each
module here adds one piece, faithful to the CloudFormation reference, on top of moto's backends:

- `sns`: AWS::SNS::Subscription, AWS::SNS::TopicPolicy
- `sqs`: AWS::SQS::QueuePolicy, and AWS::SQS::Queue's SSE-SQS flag beside a KMS key
- `kms`: AWS::KMS::Key (its policy as text, rotation, state, updates)
- `cloudwatch`: AWS::CloudWatch::Alarm
- `ses`: AWS::SES::EmailIdentity
- `s3`: AWS::S3::Bucket properties (notifications, CORS, public access block, ownership, lifecycle,
  versioning, default encryption with its bucket key flag)
- `s3_bucket_policy`: AWS::S3::BucketPolicy, and condition-aware bucket-policy enforcement
- `awslambda`: AWS::Lambda::Function properties (Layers, Architectures, ...), AWS::Lambda::LayerVersion
- `dynamodb`: AWS::DynamoDB::Table TimeToLiveSpecification, PointInTimeRecoverySpecification and
  SSESpecification (SSE-KMS with the template's key)
- `cognito`: AWS::Cognito::UserPool, AWS::Cognito::UserPoolClient
- `apigateway`: AWS::ApiGateway::Authorizer
- `apigateway_rest`: AWS::ApiGateway::RestApi (its OpenAPI Body), ::Deployment, ::Stage
- `apigateway_account`: AWS::ApiGateway::Account (the account's CloudWatch Logs role, which a stage's
  AccessLogSetting requires)
- `wafv2`: AWS::WAFv2::WebACL, AWS::WAFv2::WebACLAssociation
- `awslambda_permission`: AWS::Lambda::Permission (a physical id, update and delete)
- `nested_stack`: AWS::CloudFormation::Stack outputs (`Fn::GetAtt`/`Fn::Sub` on `Outputs.<name>`)
- `include`: the AWS::Include transform in resource properties (moto only expands it in Mappings)
- `no_builtin_esm`: moto never consumes SQS queues for event source mappings itself
- `stack_reads`: reading a stack (DescribeStacks, ListStackResources) while it deploys creates
  nothing, and lists no resource whose Condition is false
- `iam_role_policies`: AWS::IAM::Role's `Policies` kept as JSON (GetRolePolicy answers JSON)
- `logs`: AWS::Logs::LogGroup's `Fn::GetAtt Arn` with CloudFormation's trailing `:*`
- `deletion_policy`: a stack deletion keeps `DeletionPolicy: RetainExceptOnCreate` resources, as Retain
- `cloudfront_distribution`, `cloudfront_origin_access_control`, `cloudfront_public_key`,
  `cloudfront_key_group` (on moto's CloudFront backend), `cloudfront_response_headers_policy`,
  `cloudfront_cache_policy` (kept locally; moto has no such API): the delivery side, which the local
  CloudFront front (localcloud.cdn) serves; `_cloudfront` holds what they share

`_model` implements moto's CloudFormationModel interface once (`LocalModel` for a type moto skips,
`MotoModelExtension` for one it models in part), so each module above reads as what its AWS type does;
`_props` holds the property coercions and ARN helpers they share.

Call `install()` in the process that runs the moto server, before it handles its first request.
"""

from __future__ import annotations

import threading

from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel

from . import (
    deletion_policy,
    iam_role_policies,
    include,
    logs,
    nested_stack,
    no_builtin_esm,
    s3_bucket_policy,
    stack_reads,
)
from .apigateway import ApiGatewayAuthorizer
from .apigateway_account import ApiGatewayAccount
from .apigateway_rest import ApiGatewayDeployment, ApiGatewayRestApi, ApiGatewayStage
from .awslambda import LambdaFunctionWithAllProperties, LambdaLayerVersion
from .awslambda_permission import LambdaPermission
from .cloudfront_cache_policy import CloudFrontCachePolicy
from .cloudfront_distribution import CloudFrontDistribution
from .cloudfront_key_group import CloudFrontKeyGroup
from .cloudfront_origin_access_control import CloudFrontOriginAccessControl
from .cloudfront_public_key import CloudFrontPublicKey
from .cloudfront_response_headers_policy import CloudFrontResponseHeadersPolicy
from .cloudwatch import CloudWatchAlarm
from .cognito import CognitoUserPool, CognitoUserPoolClient
from .dynamodb import DynamoDBTable
from .kms import KMSKey
from .s3 import S3Bucket
from .s3_bucket_policy import S3BucketPolicy
from .ses import SESEmailIdentity
from .sns import SNSSubscription, SNSTopicPolicy
from .sqs import SQSQueue, SQSQueuePolicy
from .wafv2 import WAFv2WebACL, WAFv2WebACLAssociation

__all__ = ["MODELS", "install"]

#: The CloudFormation models this package registers with moto.
MODELS: tuple[type[CloudFormationModel], ...] = (
    SNSSubscription,
    SNSTopicPolicy,
    SQSQueuePolicy,
    SQSQueue,
    KMSKey,
    CloudWatchAlarm,
    SESEmailIdentity,
    S3Bucket,
    S3BucketPolicy,
    LambdaFunctionWithAllProperties,
    LambdaLayerVersion,
    DynamoDBTable,
    CognitoUserPool,
    CognitoUserPoolClient,
    ApiGatewayAuthorizer,
    ApiGatewayRestApi,
    ApiGatewayDeployment,
    ApiGatewayStage,
    LambdaPermission,
    ApiGatewayAccount,
    WAFv2WebACL,
    WAFv2WebACLAssociation,
    CloudFrontOriginAccessControl,
    CloudFrontPublicKey,
    CloudFrontKeyGroup,
    CloudFrontResponseHeadersPolicy,
    CloudFrontCachePolicy,
    CloudFrontDistribution,
)

_lock = threading.Lock()


def install() -> None:
    """Register every model with moto's CloudFormation and apply the behaviour patches.

    Idempotent. moto builds its type -> model map from `CloudFormationModel.__subclasses__()` once
    and caches it; importing this package defined the models, and the caches are cleared so the map
    is rebuilt with them (a later direct subclass wins for a type moto already models).
    """
    with _lock:
        no_builtin_esm.install()
        include.install()
        nested_stack.install()
        stack_reads.install()
        iam_role_policies.install()
        logs.install()
        deletion_policy.install()
        s3_bucket_policy.install_condition_aware_enforcement()
        parsing.get_model_list.cache_clear()
        parsing.get_model_map.cache_clear()
        parsing.get_name_type_map.cache_clear()
        model_map = parsing.get_model_map()
        wrong = [m.cloudformation_type() for m in MODELS if model_map.get(m.cloudformation_type()) is not m]
        if wrong:
            raise RuntimeError(f"localcloud.cfn: moto did not pick up the models for {wrong}")
