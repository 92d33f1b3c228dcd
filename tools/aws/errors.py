"""The one place where botocore failures become `BackendError`s with one clear sentence."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

from tools.backend import AccessDenied, BackendError, NotFound

NOT_FOUND = {
    "ClusterNotFoundException",
    "ServiceNotFoundException",
    "RepositoryNotFoundException",
    "ResourceNotFoundException",
    "ParameterNotFound",
    "TargetGroupNotFound",
    "ListenerNotFound",
    "RuleNotFound",
    "LoadBalancerNotFound",
    "ResourceNotFound",
}
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
BAD_CREDENTIALS = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch"}
THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}


# "User: arn:… is not authorized to perform: iam:PassRole on resource: arn:…:role/exec because no identity-based
# policy allows the iam:PassRole action" (the resource and the reason are not always there).
_NOT_AUTHORIZED = re.compile(
    r"not authorized to perform:?\s+(?P<action>[\w-]+:[\w*-]+)"
    r"(?:\s+on resource:?\s+(?P<resource>[^\s,;]+?))?"
    r"(?:[.;,]?\s+(?P<why>(?:because|with)\b.*?))?[.\s]*$",
    re.IGNORECASE | re.DOTALL,
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def denied_action(message: str) -> tuple[str, str | None, str | None] | None:
    """(action, resource, why) that AWS's AccessDenied message names, or None if it names none."""
    match = _NOT_AUTHORIZED.search(message)
    if not match:
        return None
    why = match["why"]
    if why:
        why = re.sub(r"^because\s+", "", why.strip()).rstrip(".")
    return match["action"], match["resource"], why or None


def access_denied_sentence(message: str, action: str, resource: str) -> str:
    """One sentence naming the permission AWS says is missing (which may not be the call runbook made:
    RegisterTaskDefinition fails for a missing iam:PassRole on the task's roles)."""
    named = denied_action(message)
    if named is None:
        return (f"Access denied: the AWS identity in use lacks {action} on {resource};"
                " grant it in IAM (the README lists the minimum policy).")
    aws_action, aws_resource, why = named
    needed = [] if aws_action.lower() == action.lower() else [f"needed for {action} on {resource}"]
    if why:
        needed.append(f"AWS: {why}")
    note = f" ({'; '.join(needed)})" if needed else ""
    where = aws_resource or resource
    return f"Access denied: the AWS identity in use lacks {aws_action} on {where}{note}; grant it in IAM (the README lists the minimum policy)."


def translate(exc: Exception, action: str, resource: str) -> BackendError:
    """`action` is the IAM action ("ecs:DescribeServices"), `resource` what it was about, in words."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        message = str(exc.response.get("Error", {}).get("Message", "")).rstrip(".")
        if code in NOT_FOUND:
            return NotFound(f"{resource[0].upper()}{resource[1:]} does not exist ({message or code}).")
        if code in DENIED or code.endswith("AccessDeniedException"):
            return AccessDenied(access_denied_sentence(message, action, resource))
        if code in EXPIRED:
            return BackendError(
                "The AWS credentials have expired; refresh them (for SSO: aws sso login)"
                " and run the command again."
            )
        if code in BAD_CREDENTIALS:
            return BackendError(
                "AWS rejected the credentials in use; check AWS_PROFILE or the profile in runbook.yaml."
            )
        if code in THROTTLED:
            return BackendError(
                f"AWS kept throttling {action} on {resource} after retries; try again shortly."
            )
        return BackendError(f"AWS refused {action} on {resource}: {code}: {message}.")
    if isinstance(exc, NoCredentialsError):
        return BackendError(
            "No AWS credentials found: set AWS_PROFILE, a profile in runbook.yaml, or"
            " the standard AWS credential variables."
        )
    if isinstance(exc, ProfileNotFound):
        return BackendError(f"{exc}; fix the profile in runbook.yaml or AWS_PROFILE.")
    if isinstance(exc, NoRegionError):
        return BackendError("No AWS region configured: set region in runbook.yaml or AWS_REGION.")
    if isinstance(exc, EndpointConnectionError):
        return BackendError(f"Could not reach AWS for {action} ({exc}).")
    return BackendError(f"AWS call {action} on {resource} failed: {exc}.")


@contextmanager
def aws_call(action: str, resource: str) -> Iterator[None]:
    """Run boto3 calls; anything botocore raises leaves as a BackendError naming action and resource."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, action, resource) from exc
