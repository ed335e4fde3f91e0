"""Scoring: answers to capability levels, area and overall scores, gaps and draft actions.

Pure functions over plain data, shared by the API, the reports and the exports.
"""

from app.scoring.gaps import DraftAction, Gap, GapAnalysis, draft_actions, rank_gaps
from app.scoring.maturity import (
    SUPPORTED_METHOD_VERSIONS,
    AnswerKey,
    Answers,
    AnswerValue,
    AreaScore,
    AssessmentScore,
    CapabilityScore,
    Completeness,
    ScoringError,
    ScoringProvenance,
    capability_level,
    display_score,
    provenance,
    round_for_display,
    score_assessment,
    score_capability,
)
from app.scoring.strengths import Strengths, find_strengths, strength_floor

__all__ = [
    "SUPPORTED_METHOD_VERSIONS",
    "AnswerKey",
    "AnswerValue",
    "Answers",
    "AreaScore",
    "AssessmentScore",
    "CapabilityScore",
    "Completeness",
    "DraftAction",
    "Gap",
    "GapAnalysis",
    "ScoringError",
    "ScoringProvenance",
    "Strengths",
    "capability_level",
    "display_score",
    "draft_actions",
    "find_strengths",
    "provenance",
    "rank_gaps",
    "round_for_display",
    "score_assessment",
    "score_capability",
    "strength_floor",
]
