"""ECR: find an image by tag (digest, size, pushed-at)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from tools.aws.errors import aws_call, error_code
from tools.aws.session import AwsSession
from tools.backend import NotFound
from tools.models import Image


def split_repository(repository: str) -> tuple[str | None, str | None, str]:
    """'123.dkr.ecr.eu-west-1.amazonaws.com/team/api' -> (registry id, host, 'team/api'); a bare name -> (None, None, name)."""
    host, _, rest = repository.partition("/")
    if rest and ".dkr.ecr." in host:
        return host.split(".", 1)[0], host, rest
    return None, None, repository


class EcrRegistry:
    def __init__(self, session: AwsSession) -> None:
        self.session = session
        self._uris: dict[str, str] = {}

    def find_image(self, repository: str, tag: str) -> Image | None:
        registry_id, host, name = split_repository(repository)
        ecr = self.session.client("ecr")
        where = f"ECR repository {name}"
        kwargs = {"repositoryName": name, "imageIds": [{"imageTag": tag}]}
        if registry_id:
            kwargs["registryId"] = registry_id
        try:
            with aws_call("ecr:DescribeImages", where):
                try:
                    detail = ecr.describe_images(**kwargs)["imageDetails"]
                except ClientError as exc:
                    if error_code(exc) == "ImageNotFoundException":
                        return None
                    if error_code(exc) == "RepositoryNotFoundException":
                        raise NotFound(
                            f"ECR repository {name} does not exist in {self.session.region}; check"
                            " image_repository in runbook.yaml."
                        ) from None
                    raise
        except NotFound:
            raise
        if not detail:
            return None
        image = detail[0]
        base = f"{host}/{name}" if host else self._repository_uri(name, registry_id)
        return Image(
            repository=repository,
            tag=tag,
            uri=f"{base}:{tag}",
            digest=image["imageDigest"],
            size_bytes=int(image.get("imageSizeInBytes", 0)),
            pushed_at=image["imagePushedAt"],
        )

    def recent_images(self, repository: str, limit: int = 10) -> list[Image]:
        """Tagged images, most recently pushed first (one entry per tag)."""
        registry_id, host, name = split_repository(repository)
        kwargs: dict[str, object] = {"repositoryName": name, "filter": {"tagStatus": "TAGGED"}}
        if registry_id:
            kwargs["registryId"] = registry_id
        details: list[dict] = []  # type: ignore[type-arg]
        with aws_call("ecr:DescribeImages", f"ECR repository {name}"):
            for page in self.session.client("ecr").get_paginator("describe_images").paginate(**kwargs):
                details.extend(page.get("imageDetails", []))
        details.sort(key=lambda d: d["imagePushedAt"], reverse=True)
        base = f"{host}/{name}" if host else None
        found: list[Image] = []
        for image in details:
            for tag in image.get("imageTags", []):
                if len(found) < limit:
                    uri = f"{base or self._repository_uri(name, registry_id)}:{tag}"
                    found.append(Image(repository=repository, tag=tag, uri=uri, digest=image["imageDigest"],
                                       size_bytes=int(image.get("imageSizeInBytes", 0)),
                                       pushed_at=image["imagePushedAt"]))
        return found

    def _repository_uri(self, name: str, registry_id: str | None) -> str:
        if name not in self._uris:
            kwargs: dict[str, object] = {"repositoryNames": [name]}
            if registry_id:
                kwargs["registryId"] = registry_id
            with aws_call("ecr:DescribeRepositories", f"ECR repository {name}"):
                repos = self.session.client("ecr").describe_repositories(**kwargs)["repositories"]
            self._uris[name] = repos[0]["repositoryUri"]
        return self._uris[name]
