"""Request and response shapes of the API, in families (Create / Update / Public / ...sPublic)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from epitrace.domain import limits


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
    data: list[CasePublic]
    count: int


class CaseUpdate(BaseModel):
    onset: date | None = Field(None, description="Symptom onset.")
    isolation: date | None = Field(None, description="Date the case isolated.")
    interviewed_on: date | None = Field(None, description="Date of the interview; closes the interview task.")
    symptoms: str | None = Field(None, max_length=limits.SYMPTOMS, description="Symptoms reported, e.g. 'fever, cough'.")


class VisitCreate(BaseModel):
    place: str = Field(min_length=1, max_length=limits.NAME, description="Place name.")
    kind: str = Field("venue", max_length=16, description="home, work, school, venue or other.")
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    start: AwareDatetime = Field(description="Arrival, ISO-8601 with offset.")
    end: AwareDatetime = Field(description="Departure, ISO-8601 with offset.")
    source: str = Field("interview", max_length=16, description="interview, check-in or trail.")
    confirm: bool = Field(False, description="The tracer confirms an unusual visit (longer than 24 hours).")


class ContactCreate(BaseModel):
    given_name: str = Field(min_length=1, max_length=limits.NAME)
    family_name: str = Field(min_length=1, max_length=limits.NAME)
    date_of_birth: date | None = None
    phone: str | None = Field(None, max_length=limits.PHONE)
    national_id: str | None = Field(None, max_length=limits.NATIONAL_ID)
    setting: str = Field(min_length=1, max_length=limits.SETTING, description="household, work, school, venue, ...")
    relationship: str | None = Field(None, max_length=limits.RELATIONSHIP)
    last_exposure: date
    identified_on: date | None = Field(None, description="Default: today.")
    confirm: bool = Field(False, description="The tracer confirms a last exposure outside the case's infectious period.")


class ContactCreated(BaseModel):
    contact_id: int
    person_id: int
    created: bool
    tasks: int


class TaskPublic(BaseModel):
    id: int
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
    data: list[TaskPublic]
    count: int


class TaskResult(BaseModel):
    result: str = Field(min_length=1, max_length=limits.RESULT, description="For tests: positive, negative or inconclusive; otherwise free text.")
    on: date | None = Field(None, description="Default: today.")


class PersonsPublic(BaseModel):
    data: list[PersonBrief]
    count: int


class MergeRequest(BaseModel):
    keep: int
    other: int


class LinkPublic(BaseModel):
    id: int
    infector_case: int
    infectee_case: int
    certainty: str
    source: str
    evidence: str
    reviewed_by: str | None


class LinksPublic(BaseModel):
    data: list[LinkPublic]
    count: int


class LinkReview(BaseModel):
    decision: str = Field(pattern="^(confirm|reject)$")


class LabRowsRequest(BaseModel):
    rows: list[dict[str, Any]] = Field(description="Lab results with the CSV's columns, as JSON objects.")
    dry_run: bool = False


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=limits.USERNAME)
    password: str = Field(max_length=limits.PASSWORD)
    role: str = Field(max_length=32)
    jurisdiction: str = Field(max_length=32)


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    record_type: str
    record_id: str
    purpose: str


class Ok(BaseModel):
    ok: bool = True


class PublicationReview(BaseModel):
    decision: str = Field(pattern="^(approve|reject)$")
    acknowledge_warnings: bool = False
