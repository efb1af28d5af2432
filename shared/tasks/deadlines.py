"""Turn a deadline (a date, or a phrase as users write it) into a task's due fields for a plan."""

from dataclasses import dataclass, field
from datetime import date

from shared.errors import InvalidInput
from shared.plans.models import Plan
from shared.tasks.due_rules import DuePhraseError, DueRule, parse_due_rule, yearly_occurrences
from shared.tasks.models import DueKind


@dataclass(slots=True)
class Deadline:
    """The due fields of a task and, for yearly tasks, one due date per plan year."""

    kind: DueKind
    text: str
    starts_on: date | None
    due_date: date | None
    recurrence: str | None
    occurrences: list[tuple[int, date]] = field(default_factory=list)


def deadline_from_rule(rule: DueRule, *, plan: Plan) -> Deadline:
    """Place a parsed rule inside a plan's period."""
    if rule.kind == "yearly":
        occurrences = yearly_occurrences(rule, plan_starts_on=plan.starts_on, plan_ends_on=plan.ends_on)
        first_due = occurrences[0][1] if occurrences else None
        return Deadline(DueKind.yearly, rule.text, plan.starts_on, first_due, "yearly", occurrences)
    if rule.kind == "span" and rule.whole_plan:
        return Deadline(DueKind.span, rule.text, plan.starts_on, plan.ends_on, None)
    return Deadline(DueKind(rule.kind), rule.text, rule.starts_on, rule.due_on, None)


def deadline_for(*, plan: Plan, due_text: str | None, due_date: date | None) -> Deadline:
    """The deadline of a task created through the API, checked against the plan's period."""
    if due_date is not None:
        deadline = Deadline(DueKind.date, due_date.isoformat(), None, due_date, None)
        field_name = "due_date"
    else:
        try:
            rule = parse_due_rule(due_text or "")
        except DuePhraseError as exc:
            raise InvalidInput(f"{due_text!r} is not a deadline we can read", field="due_text") from exc
        deadline = deadline_from_rule(rule, plan=plan)
        field_name = "due_text"
    if problem := outside_plan(deadline, plan=plan):
        raise InvalidInput(problem, field=field_name)
    return deadline


def outside_plan(deadline: Deadline, *, plan: Plan) -> str | None:
    """Why a deadline falls outside the plan's period, or None when it fits."""
    for label, day in (("starts", deadline.starts_on), ("is due", deadline.due_date)):
        if day is not None and not plan.starts_on <= day <= plan.ends_on:
            return (
                f"the task {label} on {day.isoformat()}, outside the plan "
                f"({plan.starts_on.isoformat()} to {plan.ends_on.isoformat()})"
            )
    return None
