"""ECR: the recent tags of a repository, newest first (what a deploy without a version lists)."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from tools.aws.ecr import EcrRegistry


class _Session:
    region = "eu-west-1"

    def __init__(self) -> None:
        self._ecr = boto3.client("ecr", region_name=self.region, aws_access_key_id="x", aws_secret_access_key="y")

    def client(self, name: str):  # type: ignore[no-untyped-def]
        assert name == "ecr"
        return self._ecr


@mock_aws
def test_recent_images_newest_first() -> None:
    session = _Session()
    ecr = session.client("ecr")
    ecr.create_repository(repositoryName="checkout-api")
    for number, tag in enumerate(("1.2.2", "1.2.3", "1.2.4")):
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                               "config": {"digest": f"sha256:{number:064x}", "size": 1, "mediaType": "x"},
                               "layers": []})
        ecr.put_image(repositoryName="checkout-api", imageManifest=manifest, imageTag=tag)
    images = EcrRegistry(session).recent_images("checkout-api", limit=2)  # type: ignore[arg-type]
    assert len(images) == 2 and {i.tag for i in images} <= {"1.2.2", "1.2.3", "1.2.4"}
    assert images[0].pushed_at >= images[1].pushed_at
    assert all(i.uri.endswith(f"checkout-api:{i.tag}") and i.digest.startswith("sha256:") for i in images)
