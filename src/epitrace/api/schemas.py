"""Request and response shapes of the API, in families (Create / Update / Public / ...sPublic)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Any

from fastapi import Path as FastAPIPath
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from epitrace.domain import limits

UtcDatetime = Annotated[datetime, AfterValidator(lambda moment: moment if moment.tzinfo else
                                                 moment.replace(tzinfo=timezone.utc))]
"""A stored time (naive UTC in the database) answered as RFC 3339 with its +00:00 offset."""
RecordId = Annotated[int, FastAPIPath(ge=1, le=limits.MAX_ID, description="A record id.")]
Day = Annotated[date, Field(ge=limits.FIRST_DATE, le=limits.LAST_DATE)]
"""A date a person types: within the dates epitrace stores (``domain.limits``); the domain rules narrow it."""
Moment = Annotated[AwareDatetime, Field(ge=limits.FIRST_MOMENT, le=limits.LAST_MOMENT)]
"""A time with its UTC offset, within the dates epitrace stores."""
Version = Annotated[int, Field(ge=1, le=limits.MAX_ID, description=(
    "The record's version: 1 when made, one more with every change. Send the one you read back with a change "
    "(this field or If-Match); a change since is a 409 with the current state."))]
ExpectedVersion = Annotated[int | None, Field(None, ge=1, le=limits.MAX_ID, description=(
    "The version you read (as the ETag or the `version` field): if the record changed since, nothing is "
    "written and the answer is 409 with the current state. Same as If-Match; when both are sent they must agree. "
    "Optional, so older clients keep working, but send it: without it a change made meanwhile is overwritten."))]


class LoginRequest(BaseModel):
    username: str = Field(max_length=limits.USERNAME, description="Account name.")
    password: str = Field(max_length=limits.PASSWORD, description="Password.")


class AccountPublic(BaseModel):
    username: str
    role: str
    jurisdiction: str
    jurisdiction_name: str
    csrf_token: str | None = Field(None, description="Send as X-CSRF-Token with cookie-authenticated writes.")


class PersonBrief(BaseModel):
    id: int
    name: str
    date_of_birth: date | None


class CasePublic(BaseModel):
    id: int
    person: PersonBrief
    status: str
    jurisdiction: str
    reported_on: date
    onset: date | None
    interviewed_on: date | None
    days_since_result: int


class CasesPublic(BaseModel):
    data: list[CasePublic] = Field(description="One page, in the order asked for.")
    count: int = Field(description="How many match the filters in all, not only this page.")


class CaseUpdate(BaseModel):
    version: ExpectedVersion
    onset: Day | None = Field(None, description="Symptom onset.")
    isolation: Day | None = Field(None, description="Date the case isolated.")
    interviewed_on: Day | None = Field(None, description="Date of the interview; closes the interview task.")
    symptoms: str | None = Field(None, max_length=limits.SYMPTOMS, description="Symptoms reported, e.g. 'fever, cough'.")


class VisitCreate(BaseModel):
    place: str = Field(min_length=1, max_length=limits.NAME, description="Place name.")
    kind: str = Field("venue", max_length=16, description="home, work, school, venue or other.")
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    start: Moment = Field(description="Arrival, ISO-8601 with offset.")
    end: Moment = Field(description="Departure, ISO-8601 with offset.")
    source: str = Field("interview", max_length=16, description="interview, check-in or trail.")
    confirm: bool = Field(False, description="The tracer confirms an unusual visit (longer than 24 hours).")


class ContactCreate(BaseModel):
    given_name: str = Field(min_length=1, max_length=limits.NAME)
    family_name: str = Field(min_length=1, max_length=limits.NAME)
    date_of_birth: Day | None = None
    phone: str | None = Field(None, max_length=limits.PHONE)
    national_id: str | None = Field(None, max_length=limits.NATIONAL_ID)
    setting: str = Field(min_length=1, max_length=limits.SETTING, description="household, work, school, venue, ...")
    relationship: str | None = Field(None, max_length=limits.RELATIONSHIP)
    last_exposure: Day
    identified_on: Day | None = Field(None, description="Default: today.")
    confirm: bool = Field(False, description="The tracer confirms a last exposure outside the case's infectious period.")


class ContactCreated(BaseModel):
    contact_id: int
    person_id: int
    created: bool
    tasks: int


class TaskPublic(BaseModel):
    id: int
    version: Version
    kind: str
    person: PersonBrief
    case_id: int | None
    contact_id: int | None
    due_on: date
    status: str
    overdue: bool
    reason: str
    result: str | None
    completed_on: date | None


class TasksPublic(BaseModel):
    data: list[TaskPublic] = Field(description="One page, in the order asked for.")
    count: int = Field(description="How many match the filters in all, not only this page.")


class TaskResult(BaseModel):
    result: str = Field(min_length=1, max_length=limits.RESULT, description="For tests: positive, negative or inconclusive; otherwise free text.")
    on: Day | None = Field(None, description="Default: today.")
    version: ExpectedVersion


class PersonsPublic(BaseModel):
    data: list[PersonBrief] = Field(description="One page, in the order asked for.")
    count: int = Field(description="How many match the filters in all, not only this page.")


class MergeRequest(BaseModel):
    keep: int = Field(ge=1, le=limits.MAX_ID, description="Person id to keep.")
    other: int = Field(ge=1, le=limits.MAX_ID, description="Person id merged into it.")


class LinkPublic(BaseModel):
    id: int
    infector_case: int
    infectee_case: int
    certainty: str
    source: str
    evidence: str
    reviewed_by: str | None = Field(description="Who confirmed or rejected it, if anyone has.")


class LinksPublic(BaseModel):
    data: list[LinkPublic]
    count: int


class LinkReview(BaseModel):
    decision: str = Field(max_length=limits.CODE, pattern="^(confirm|reject)$")


LabValue = Annotated[str, Field(max_length=limits.CSV_FIELD)] | int | float | bool | None
"""A value of a lab row: text (as in the CSV) or a number; the importer checks each column's length."""


class LabRowsRequest(BaseModel):
    rows: list[dict[str, LabValue]] = Field(max_length=limits.CSV_ROWS,
                                            description="Lab results with the CSV's columns, as JSON objects.")
    dry_run: bool = False


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=limits.USERNAME)
    password: str | None = Field(None, max_length=limits.PASSWORD, description=(
        "Leave out to get a one-time first-password link; must be left out when the account needs approval."))
    role: str = Field(max_length=limits.CODE)
    jurisdiction: str = Field(max_length=limits.CODE)


class AuditEventPublic(BaseModel):
    id: int
    at: UtcDatetime
    actor: str
    action: str
    record_type: str
    record_id: str
    purpose: str


class DenialCount(BaseModel):
    account: str = Field(description="Who was refused (user:NAME).")
    day: date = Field(description="The day (UTC).")
    denials: int = Field(description="Refused out-of-scope accesses that day.")


class DenialsPublic(BaseModel):
    """Refused out-of-scope accesses per account and day, for accounts of your jurisdiction."""

    data: list[DenialCount]
    count: int = Field(description="How many rows (account and day).")
    since: date
    until: date


# Records: what the detail and write routes answer.

class Period(BaseModel):
    first_day: date
    last_day: date
    basis: str = Field(description="The rule and dates that made it, in words.")


class VisitPublic(BaseModel):
    id: int
    place: str
    kind: str
    start: UtcDatetime = Field(description="UTC.")
    end: UtcDatetime = Field(description="UTC.")
    source: str
    window_id: int | None = Field(description="The exposure window this visit made, if inside the infectious period.")


class CaseContactPublic(BaseModel):
    id: int
    version: Version
    person: PersonBrief
    setting: str
    last_exposure: date
    status: str


class CaseTaskPublic(BaseModel):
    id: int
    version: Version
    kind: str
    due_on: date
    status: str
    reason: str


class CaseLinkPublic(LinkPublic):
    reviewed_by: str | None = None


class CaseDetail(BaseModel):
    id: int
    version: Version
    updated_by: str | None = Field(description="Who last changed (or made) the case; none for a case untouched since before versions were kept.")
    updated_at: UtcDatetime | None = Field(description="When the case was last changed, UTC.")
    status: str
    person: PersonBrief
    jurisdiction: str
    reported_on: date
    specimen_date: date | None
    onset: date | None
    isolation: date | None
    interviewed_on: date | None
    symptoms: str | None
    infectious_period: Period | None
    visits: list[VisitPublic]
    contacts: list[CaseContactPublic]
    tasks: list[CaseTaskPublic]
    links: list[CaseLinkPublic]


class WindowPublic(BaseModel):
    id: int
    place: str
    kind: str
    lat: float | None
    lon: float | None
    radius_m: float | None
    start: UtcDatetime = Field(description="UTC.")
    end: UtcDatetime = Field(description="UTC.")
    basis: str


class VisitCreated(BaseModel):
    visit_id: int


class TaskResultRecorded(BaseModel):
    task_id: int
    version: Version
    status: str
    case_id: int | None = Field(description="The case a positive test opened or joined.")
    new_case: bool


class LabResultPublic(BaseModel):
    lab_id: str
    specimen_id: str
    collected_on: date
    resulted_on: date
    result: str
    test_type: str


class PersonCasePublic(BaseModel):
    id: int
    status: str
    reported_on: date


class PersonContactPublic(BaseModel):
    id: int
    case_id: int
    setting: str
    last_exposure: date
    status: str


class PersonTaskPublic(BaseModel):
    id: int
    kind: str
    due_on: date
    status: str
    result: str | None


class MergeCandidatePublic(BaseModel):
    id: int
    other_person: int
    evidence: str


class PersonDetail(BaseModel):
    id: int
    name: str
    date_of_birth: date | None
    sex: str | None
    phone: str | None
    national_id: str | None
    address: str | None
    merged_into: int | None
    lab_results: list[LabResultPublic]
    cases: list[PersonCasePublic]
    contacts: list[PersonContactPublic]
    tasks: list[PersonTaskPublic]
    merge_candidates: list[MergeCandidatePublic]


class Merged(BaseModel):
    kept: int
    merged: int


class LinkReviewed(BaseModel):
    id: int
    certainty: str
    reviewed_by: str | None


class Shared(BaseModel):
    visits_shared: int
    stays_outside_infectious_period: int
    checkins_shared: int
    raw_file_kept: bool


class ProposalPublic(BaseModel):
    window_id: int
    proposal_id: int | None
    refusal: str | None
    changes: list[str]
    warnings: list[str]


class PublicationPublic(BaseModel):
    id: int
    case_id: int
    place: str
    start: UtcDatetime
    end: UtcDatetime
    radius_m: float
    changes: list[str]
    warnings: list[str]
    proposed_by: str | None


class PublicationReviewed(BaseModel):
    id: int
    status: str
    reviewed_by: str | None


class AuditVerified(BaseModel):
    ok: bool
    first_broken_entry: int | None


class UserPublic(BaseModel):
    username: str
    role: str
    jurisdiction: str
    active: bool = True
    pending_approval: bool = False


class FeedBatchPublic(BaseModel):
    version: int
    previous: str
    hash: str
    signature: str
    payload: dict[str, Any]
    payload_text: str = Field(description="The exact signed text of the payload.")


class FeedDocument(BaseModel):
    format: str
    public_key: str
    starts_after: str
    batches: list[FeedBatchPublic]


# Aggregates: counts as released are a number, "<5" (1 to threshold-1) or "x" (withheld so a small count
# cannot be worked out from totals); ``legend`` says so in words.

Shown = int | str


class CurveCell(BaseModel):
    label: str = Field(description="The day (YYYY-MM-DD) or ISO week.")
    jurisdiction: str | None = None
    cases: Shown


class CurvePublic(BaseModel):
    jurisdiction: str
    by: str
    interval: str
    threshold: int
    legend: dict[str, str]
    total: Shown
    undated: Shown
    data: list[CurveCell]


class RtWindow(BaseModel):
    t_start: int
    t_end: int
    mean: float
    std: float
    q2_5: float
    q5: float
    q25: float
    median: float
    q75: float
    q95: float
    q97_5: float


class RtPublic(BaseModel):
    first_day: date | None
    si_mean: float
    si_sd: float
    withheld_windows: int = Field(description="Windows not published because a day in them is suppressed.")
    note: str | None
    data: list[RtWindow]


class KpiPublic(BaseModel):
    kpi: str
    value: float | None = Field(description="Null when its numerator or denominator is suppressed.")
    numerator: Shown | None
    denominator: Shown
    definition: str


class KpisPublic(BaseModel):
    today: date
    threshold: int
    legend: dict[str, str]
    data: list[KpiPublic]


class ClusterPublic(BaseModel):
    kind: str
    where: str = Field(description="The place (households are never named) or the setting.")
    setting: str | None
    cases: Shown
    first: date | None
    last: date | None
    status: str


class ClustersPublic(BaseModel):
    threshold: int
    legend: dict[str, str]
    data: list[ClusterPublic]


class Ok(BaseModel):
    ok: bool = True


class CaseUpdated(Ok):
    version: Version


class PublicationReview(BaseModel):
    decision: str = Field(max_length=limits.CODE, pattern="^(approve|reject)$")
    acknowledge_warnings: bool = False


class PasswordLink(BaseModel):
    username: str
    link: str = Field(description="Open once to set the password; shown only in this answer.")
    expires_at: UtcDatetime


class UserCreated(UserPublic):
    password_link: PasswordLink | None = Field(None, description="When no password was given and none is pending.")
    approval_needed_from: str | None = Field(None, description="Who must approve a pending account.")


class RoleChange(BaseModel):
    role: str = Field(max_length=limits.CODE)


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="What the token is for.")
    days: int = Field(90, ge=1, le=366, description="Days until the token expires.")


class TokenPublic(BaseModel):
    id: int
    name: str
    created_at: UtcDatetime
    expires_at: UtcDatetime
    revoked: bool


class TokenCreated(TokenPublic):
    token: str = Field(description="Send as Authorization: Bearer TOKEN; shown only in this answer.")
