"""Deployments as ECS reports them, for a service the stand-in scheduler runs (moto keeps the service's
first deployment forever and never adds one, so every rollout reads as "no deployment on this revision").

`report_deployments(world)` returns an after-call hook for the backend's ECS client: DescribeServices and
UpdateService answers get one PRIMARY deployment for the service's revision and one ACTIVE deployment per
older revision still running, with running counts from the world's tasks and `rolloutState` COMPLETED once
the primary one runs every desired task and nothing else runs. Used by `evals/bench_aws.py`, so a rollout
costs the calls it costs against ECS (one DescribeServices per poll), not moto's task counting.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from tests.tools.aws.world import CLUSTER, World

STARTED = datetime(2026, 1, 1, tzinfo=UTC)


def report_deployments(world: World) -> Any:
    def edit(parsed: dict[str, Any], **_: Any) -> None:
        found = parsed.get("services") or ([parsed["service"]] if parsed.get("service") else [])
        if not found:
            return
        arns = world.ecs.list_tasks(cluster=CLUSTER)["taskArns"]
        tasks = world.ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []
        for svc in found:
            group = f"service:{svc['serviceName']}"
            running = Counter(t["taskDefinitionArn"] for t in tasks
                              if t.get("group") == group and t.get("lastStatus") == "RUNNING")
            desired, primary = int(svc.get("desiredCount", 0)), svc["taskDefinition"]
            done = running[primary] >= desired and sum(running.values()) == running[primary]
            deployments = [_deployment(primary, "PRIMARY", running[primary], desired,
                                       "COMPLETED" if done else "IN_PROGRESS")]
            deployments += [_deployment(arn, "ACTIVE", count, 0, "COMPLETED")
                            for arn, count in sorted(running.items()) if arn != primary and count]
            svc["deployments"] = deployments

    return edit


def _deployment(revision: str, status: str, running: int, desired: int, state: str) -> dict[str, Any]:
    return {"id": f"ecs-svc/{revision.rsplit(':', 1)[-1]}", "status": status, "taskDefinition": revision,
            "desiredCount": desired, "runningCount": running, "pendingCount": 0, "failedTasks": 0,
            "rolloutState": state, "createdAt": STARTED, "updatedAt": STARTED}
