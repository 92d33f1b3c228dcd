"""The deploy pipeline as a LangGraph StateGraph, checkpointed so a deploy outlives its process.

    prechecks → validate_config → canary → request_approval → await_approval → confirm_image → rollout → validate → finish
        └──────────────┴─────────────┴──────────────────────────────┴───────────────┴─────────────┴──────────┴→ (abort/rollback) → finish

The approval is an `interrupt()`: the graph stops there, whoever drives it waits for a person,
and resumes with `Command(resume=decision)` under the same thread id (the deployment id).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from memory.outcome import Outcome
from skills.deploy.approval_step import request_approval
from skills.deploy.canary import remove_canary, run_canary
from skills.deploy.config_check import run_config_validation
from skills.deploy.confirm import confirm_approved_image
from skills.deploy.context import DeployContext, DeployState
from skills.deploy.prechecks import run_prechecks
from skills.deploy.rollout import roll_back, run_rollout
from skills.deploy.summary import finish
from skills.deploy.validation import run_validation
from skills.events import ApprovalDecided, StepFinished

TOTAL_STEPS = 6


def build_deploy_graph(ctx: DeployContext) -> StateGraph:
    graph = StateGraph(DeployState)
    req = ctx.request

    def validate_config(state: DeployState) -> DeployState:
        update = run_config_validation(ctx, state, TOTAL_STEPS)
        if req.dry_run and not update.get("outcome"):
            update["outcome"] = Outcome.DRY_RUN
        return update

    def await_approval(state: DeployState) -> DeployState:
        if not state.get("approval_id"):
            return {}  # the environment's policy requires no approval
        # Everything before interrupt() runs again on resume, so nothing with effects goes here.
        decision: dict[str, Any] = interrupt({"approval_id": state["approval_id"], "deployment_id": req.deployment_id})
        status = decision["status"]
        override = status == "approved" and bool(decision.get("override"))
        ctx.emit(ApprovalDecided(request_id=state["approval_id"] or "", decision=status, by=decision.get("by"),
                                 decided_at=decision.get("at"), reason=decision.get("reason") or "",
                                 override=override))
        if status == "approved":
            message = "Approval granted (override: the canary was inconclusive)" if override else "Approval granted"
            ctx.emit(StepFinished(number=4, ok=True, message=message))
            return {"approver": decision.get("by"), "approval_override": override}
        ctx.emit(StepFinished(number=4, ok=False, message=f"Approval {status}"))
        # "aborted": the canary degraded while waiting, which is a canary failure.
        outcome = {"denied": Outcome.DENIED, "expired": Outcome.EXPIRED,
                   "aborted": Outcome.CANARY_FAILED}.get(status, Outcome.FAILED)
        reason = decision.get("reason") or ""
        failure = f"Approval {status}" + (f" by {decision['by']}" if decision.get("by") else "") + (
            f": {reason}" if reason else "")
        return {"outcome": outcome, "failure": failure, "approver": decision.get("by")}

    def clean_up_canary(state: DeployState) -> DeployState:
        if state.get("canary_started"):
            remove_canary(ctx)
        return {"canary_started": False}

    def after_failed_rollout(state: DeployState) -> DeployState:
        if state.get("canary_started"):
            remove_canary(ctx)
        if not req.auto_rollback or state.get("rolled_back"):
            return {"canary_started": False}
        ok = roll_back(ctx, state, state.get("failure") or "validation failed")
        return {"canary_started": False, "rolled_back": ok,
                "outcome": Outcome.ROLLED_BACK if ok else Outcome.FAILED}

    steps = {
        "prechecks": lambda s: run_prechecks(ctx, s, TOTAL_STEPS),
        "validate_config": validate_config,
        "canary": lambda s: run_canary(ctx, s, TOTAL_STEPS),
        "request_approval": lambda s: request_approval(ctx, s, TOTAL_STEPS),
        "await_approval": await_approval,
        "confirm_image": lambda s: confirm_approved_image(ctx, s),
        "rollout": lambda s: run_rollout(ctx, s, TOTAL_STEPS),
        "validate": lambda s: run_validation(ctx, s, TOTAL_STEPS),
        "clean_up_canary": clean_up_canary,
        "after_failed_rollout": after_failed_rollout,
        "finish": lambda s: finish(ctx, s),
    }
    for name, node in steps.items():
        graph.add_node(name, node)

    def ok_or(next_node: str, on_failure: str) -> Callable[[DeployState], str]:
        return lambda s: on_failure if s.get("outcome") else next_node

    graph.add_edge(START, "prechecks")
    graph.add_conditional_edges("prechecks", ok_or("validate_config", "finish"))
    graph.add_conditional_edges("validate_config", ok_or("canary", "finish"))
    graph.add_conditional_edges("canary", ok_or("request_approval", "clean_up_canary"))
    graph.add_edge("request_approval", "await_approval")
    graph.add_conditional_edges("await_approval", ok_or("confirm_image", "clean_up_canary"))
    graph.add_conditional_edges("confirm_image", ok_or("rollout", "clean_up_canary"))
    graph.add_conditional_edges("rollout", ok_or("validate", "after_failed_rollout"))
    graph.add_conditional_edges("validate", ok_or("finish", "after_failed_rollout"))
    graph.add_edge("clean_up_canary", "finish")
    graph.add_edge("after_failed_rollout", "finish")
    graph.add_edge("finish", END)
    return graph
