"""Secrets Manager and SSM Parameter Store: is each secret of a task definition readable?

A value is fetched only to prove it can be read and is dropped at once: never returned,
logged or stored.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from tools.aws.errors import DENIED, NOT_FOUND, denied_action, error_code, translate
from tools.aws.session import AwsSession
from tools.models import SecretCheck


def parse_reference(reference: str) -> tuple[str, str]:
    """('secretsmanager', secret id) or ('ssm', parameter name) from a task definition's valueFrom."""
    if reference.startswith("arn:"):
        parts = reference.split(":")
        if parts[2] == "secretsmanager":
            # arn:aws:secretsmanager:region:account:secret:name[:json-key:stage:version]
            return "secretsmanager", ":".join(parts[:7])
        if parts[2] == "ssm":
            return "ssm", reference  # GetParameter accepts the parameter's ARN as its name
    return "ssm", reference  # a bare valueFrom names an SSM parameter in the task's region


class AwsSecrets:
    def __init__(self, session: AwsSession) -> None:
        self.session = session

    def check_readable(self, name: str, reference: str) -> SecretCheck:
        kind, ident = parse_reference(reference)
        try:
            if kind == "secretsmanager":
                self.session.client("secretsmanager").get_secret_value(SecretId=ident)
            else:
                self.session.client("ssm").get_parameter(Name=ident, WithDecryption=True)
        except ClientError as exc:
            code = error_code(exc)
            if code in DENIED or code.endswith("AccessDeniedException"):
                named = denied_action(str(exc.response.get("Error", {}).get("Message", "")))
                if named:  # AWS's own words: kms:Decrypt on the key, or the read itself
                    reason = f"access denied: the caller lacks {named[0]} on {named[1] or 'it'}"
                else:
                    action = "secretsmanager:GetSecretValue" if kind == "secretsmanager" else "ssm:GetParameter"
                    reason = f"access denied: the caller lacks {action} (or kms:Decrypt) on it"
            elif code in NOT_FOUND:
                reason = "does not exist"
            else:
                reason = str(translate(exc, "read", reference))
            return SecretCheck(name=name, reference=reference, readable=False, reason=reason)
        except BotoCoreError as exc:
            return SecretCheck(
                name=name, reference=reference, readable=False, reason=str(translate(exc, "read", reference))
            )
        return SecretCheck(name=name, reference=reference, readable=True)
