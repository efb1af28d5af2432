"""Bodies of ratings, feedback and satisfaction."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.db import StoredId
from shared.feedback.models import TargetKind


class RatingCreate(BaseModel):
    """A score of 1–5 for a delivered order, an attended booking or an activity."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    target_kind: TargetKind
    target_id: StoredId
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=1000)


class RatingPublic(BaseModel):
    """A rating (the rater sees their own)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    target_kind: TargetKind
    target_id: int
    org_unit_id: int
    score: int
    comment: str
    rated_at: datetime


class FeedbackCreate(BaseModel):
    """Free feedback to an org unit."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    org_unit_id: StoredId
    text: str = Field(min_length=1, max_length=2000)


class Reply(BaseModel):
    """The unit's answer."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reply: str = Field(min_length=1, max_length=2000)


class FeedbackPublic(BaseModel):
    """Feedback and its reply."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    org_unit_id: int
    text: str
    reply: str
    replied_at: datetime | None
    created_at: datetime


class KindSatisfaction(BaseModel):
    """Ratings of one kind of target."""

    target_kind: TargetKind
    ratings: int
    mean_score: float | None


class Satisfaction(BaseModel):
    """Satisfaction of a unit's subtree over a period: share of ratings 4 or 5, mean score, by kind."""

    org_unit_id: int
    period: str
    ratings: int
    satisfied: int
    satisfaction: float | None = Field(description="share of ratings of 4 or 5 (a fraction); null without ratings")
    mean_score: float | None
    by_kind: list[KindSatisfaction]
