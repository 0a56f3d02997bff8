"""A job's names, fields, limits and state machine, with the cloud's codes and messages."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cloudtasks_emu.errors import Code, EmuError
from cloudtasks_emu.scheduler import job_rules
from cloudtasks_emu.scheduler.job_rules import (
    AppEngineTarget,
    HttpTarget,
    JobSpec,
    JobState,
    OAuthToken,
    OidcToken,
    PubsubTarget,
    validate_job,
)
from cloudtasks_emu.scheduler.retry import RetryConfig, TargetKind

PARENT = "projects/my-project/locations/us-central1"
NAME = f"{PARENT}/jobs/nightly"
HTTP_JOB = JobSpec(NAME, "0 3 * * *", "Etc/UTC", target=HttpTarget("https://example.com/run"))


def refused(job: JobSpec, code: Code = Code.INVALID_ARGUMENT) -> str:
    with pytest.raises(EmuError) as caught:
        validate_job(job)
    assert caught.value.code is code
    return caught.value.message


# --- names ---


@pytest.mark.parametrize("job_id", ["nightly", "a", "A-b_9", "x" * 500])
def test_job_ids_of_letters_digits_hyphens_underscores_up_to_500(job_id: str) -> None:
    assert job_rules.parse_job_name(f"{PARENT}/jobs/{job_id}") == (PARENT, job_id)


@pytest.mark.parametrize("job_id", ["", "x" * 501, "has.dot", "has space", "ünï"])
def test_bad_job_id_is_refused(job_id: str) -> None:
    with pytest.raises(EmuError) as caught:
        job_rules.parse_job_name(f"{PARENT}/jobs/{job_id}")
    assert caught.value.code is Code.INVALID_ARGUMENT
    assert "Job ID must be between 1 and 500 characters." in caught.value.message


@pytest.mark.parametrize("name", ["nightly", f"{PARENT}/queues/q", f"{PARENT}/jobs/a/b", "projects/p/jobs/j"])
def test_malformed_job_name_is_refused(name: str) -> None:
    with pytest.raises(EmuError) as caught:
        job_rules.parse_job_name(name)
    assert caught.value.message == job_rules.JOB_FORMAT_MESSAGE


def test_create_without_a_name_generates_a_unique_id() -> None:
    first = job_rules.job_name_for_create(PARENT, "")
    second = job_rules.job_name_for_create(PARENT, "")
    assert first.parent == PARENT
    assert first.job_id != second.job_id
    assert job_rules.parse_job_name(first.name) == first


def test_create_under_another_parent_is_refused() -> None:
    with pytest.raises(EmuError) as caught:
        job_rules.job_name_for_create("projects/other/locations/us-central1", NAME)
    assert caught.value.code is Code.INVALID_ARGUMENT


def test_already_exists_and_not_found_messages() -> None:
    exists = job_rules.already_exists(NAME)
    assert exists.code is Code.ALREADY_EXISTS
    assert exists.message == f"Job {NAME} already exists."
    missing = job_rules.not_found()
    assert missing.code is Code.NOT_FOUND
    assert missing.message == "Requested entity was not found."


# --- fields ---


def test_valid_http_job_gets_the_services_defaults() -> None:
    job = validate_job(replace(HTTP_JOB, target=HttpTarget("https://example.com/run", oidc_token=OidcToken("sa@p"))))
    assert isinstance(job.target, HttpTarget)
    assert job.target.http_method == "POST"  # unspecified means POST
    assert job.target.oidc_token == OidcToken("sa@p", "https://example.com/run")  # audience defaults to the uri
    assert job.target.headers == {"User-Agent": "Google-Cloud-Scheduler"}
    assert job.attempt_deadline_s == 180.0


def test_oauth_scope_defaults_to_cloud_platform() -> None:
    job = validate_job(replace(HTTP_JOB, target=HttpTarget("https://x.googleapis.com/", oauth_token=OAuthToken("s"))))
    assert isinstance(job.target, HttpTarget)
    assert job.target.oauth_token == OAuthToken("s", "https://www.googleapis.com/auth/cloud-platform")


def test_reserved_headers_are_dropped_and_content_type_defaulted() -> None:
    headers = {"X-Google-Foo": "1", "X-AppEngine-Bar": "2", "Content-Length": "9", "user-agent": "mine", "K": "v"}
    job = validate_job(replace(HTTP_JOB, target=HttpTarget("https://e.com", "PUT", headers, b"data")))
    assert isinstance(job.target, HttpTarget)
    assert job.target.headers == {
        "K": "v",
        "User-Agent": "Google-Cloud-Scheduler",
        "Content-Type": "application/octet-stream",
    }


def test_app_engine_keeps_the_users_agent_before_its_own() -> None:
    target = AppEngineTarget(headers={"User-Agent": "mine"}, service="api")
    job = validate_job(replace(HTTP_JOB, target=target))
    assert isinstance(job.target, AppEngineTarget)
    assert job.target.headers == {"User-Agent": "mine AppEngine-Google; (+http://code.google.com/appengine)"}
    assert (job.target.http_method, job.target.relative_uri, job.target.service) == ("POST", "/", "api")
    assert job.attempt_deadline_s is None  # the App Engine service's own deadline


def test_pubsub_job_ignores_the_attempt_deadline() -> None:
    target = PubsubTarget("projects/my-project/topics/t", attributes={"scheduled": "true"})
    assert validate_job(replace(HTTP_JOB, target=target, attempt_deadline_s=60)).attempt_deadline_s is None


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (replace(HTTP_JOB, schedule=""), "Schedule or time zone is invalid."),
        (replace(HTTP_JOB, schedule="0 3 L * *"), "Schedule or time zone is invalid."),
        (replace(HTTP_JOB, time_zone="Asia/Munbai"), "Schedule or time zone is invalid."),
        (replace(HTTP_JOB, description="d" * 501), "Job.description must be at most 500 characters."),
        (
            replace(HTTP_JOB, target=None),
            "Job.target is required: set httpTarget, appEngineHttpTarget or pubsubTarget.",
        ),
        (replace(HTTP_JOB, retry=RetryConfig(retry_count=6)), "RetryConfig.retryCount must be between 0 and 5."),
        (
            replace(HTTP_JOB, target=HttpTarget("ftp://e.com")),
            "HttpTarget.uri must start with 'http://' or 'https://'.",
        ),
        (replace(HTTP_JOB, target=HttpTarget("http://")), "HttpTarget.uri must start with 'http://' or 'https://'."),
        (
            replace(HTTP_JOB, target=HttpTarget("https://e.com/" + "a" * 2070)),
            "HttpTarget.uri must be at most 2083 characters.",
        ),
        (
            replace(HTTP_JOB, target=HttpTarget("https://e.com", "GET", body=b"x")),
            "A body can only be set when the HTTP method is POST or PUT or PATCH.",
        ),
        (
            replace(HTTP_JOB, target=HttpTarget("https://e.com", "TRACE")),
            "HTTP method TRACE is not allowed for this target.",
        ),
        (
            replace(
                HTTP_JOB, target=HttpTarget("https://e.com", oauth_token=OAuthToken("a"), oidc_token=OidcToken("b"))
            ),
            "HttpTarget can have only one of oauthToken and oidcToken.",
        ),
        (
            replace(HTTP_JOB, target=HttpTarget("https://e.com", headers={"K": "v" * 82000})),
            "Headers must be smaller than 80KB in total.",
        ),
        (
            replace(HTTP_JOB, target=AppEngineTarget("PATCH")),
            "HTTP method PATCH is not allowed for this target.",
        ),
        (
            replace(HTTP_JOB, target=AppEngineTarget("OPTIONS")),
            "HTTP method OPTIONS is not allowed for this target.",
        ),
        (
            replace(HTTP_JOB, target=AppEngineTarget("DELETE", body=b"x")),
            "A body can only be set when the HTTP method is POST or PUT.",
        ),
        (
            replace(HTTP_JOB, target=AppEngineTarget(relative_uri="run")),
            "AppEngineHttpTarget.relativeUri must begin with '/'.",
        ),
        (
            replace(HTTP_JOB, target=AppEngineTarget(relative_uri="/a b")),
            "AppEngineHttpTarget.relativeUri must have no spaces and at most 2083 characters.",
        ),
        (
            replace(HTTP_JOB, target=PubsubTarget("topics/t", b"x")),
            'PubsubTarget.topicName must be formatted: "projects/<PROJECT_ID>/topics/<TOPIC_ID>".',
        ),
        (
            replace(HTTP_JOB, target=PubsubTarget("projects/other/topics/t", b"x")),
            "PubsubTarget.topicName must be in the job's project.",
        ),
        (
            replace(HTTP_JOB, target=PubsubTarget("projects/my-project/topics/t")),
            "A Pub/Sub message must have non-empty data or at least one attribute.",
        ),
        (
            replace(HTTP_JOB, attempt_deadline_s=14),
            "Job.attemptDeadline must be between 15s and 1800s for this target.",
        ),
        (
            replace(HTTP_JOB, attempt_deadline_s=1801),
            "Job.attemptDeadline must be between 15s and 1800s for this target.",
        ),
        (
            replace(HTTP_JOB, target=AppEngineTarget(), attempt_deadline_s=86416),
            "Job.attemptDeadline must be between 15s and 86415s for this target.",
        ),
    ],
)
def test_each_documented_constraint_is_invalid_argument(job: JobSpec, message: str) -> None:
    assert refused(job) == message


@pytest.mark.parametrize(("kind", "deadline"), [(TargetKind.HTTP, 15.0), (TargetKind.HTTP, 1800.0)])
def test_http_deadline_bounds_are_inclusive(kind: TargetKind, deadline: float) -> None:
    assert job_rules.validate_attempt_deadline(kind, deadline) == deadline


def test_app_engine_deadline_up_to_24h15s() -> None:
    assert job_rules.validate_attempt_deadline(TargetKind.APP_ENGINE, 86415.0) == 86415.0


def test_job_size_limit_is_1_mb() -> None:
    job_rules.check_job_size(1024 * 1024)
    with pytest.raises(EmuError) as caught:
        job_rules.check_job_size(1024 * 1024 + 1)
    assert caught.value.code is Code.INVALID_ARGUMENT


# --- state machine ---


def test_pause_and_resume() -> None:
    assert job_rules.pause(JobState.ENABLED) is JobState.PAUSED
    assert job_rules.resume(JobState.PAUSED) is JobState.ENABLED


def test_resume_of_an_enabled_job_succeeds_as_terraform_needs() -> None:
    assert job_rules.resume(JobState.ENABLED) is JobState.ENABLED


def test_pause_of_a_paused_job_changes_nothing() -> None:
    assert job_rules.pause(JobState.PAUSED) is JobState.PAUSED


@pytest.mark.parametrize("state", [JobState.DISABLED, JobState.UPDATE_FAILED])
@pytest.mark.parametrize("transition", [job_rules.pause, job_rules.resume])
def test_other_transitions_are_failed_precondition(state: JobState, transition: object) -> None:
    assert callable(transition)
    with pytest.raises(EmuError) as caught:
        transition(state)
    assert caught.value.code is Code.FAILED_PRECONDITION


def test_a_successful_update_recovers_update_failed_and_keeps_paused() -> None:
    assert job_rules.updated(JobState.UPDATE_FAILED) is JobState.ENABLED
    assert job_rules.updated(JobState.PAUSED) is JobState.PAUSED
    assert job_rules.updated(JobState.ENABLED) is JobState.ENABLED


def test_only_enabled_jobs_run_on_schedule() -> None:
    assert [s for s in JobState if job_rules.runs_on_schedule(s)] == [JobState.ENABLED]


def test_force_run_of_enabled_or_paused_jobs() -> None:
    job_rules.check_force_run(JobState.ENABLED)
    job_rules.check_force_run(JobState.PAUSED)
    with pytest.raises(EmuError) as caught:
        job_rules.check_force_run(JobState.UPDATE_FAILED)
    assert caught.value.code is Code.FAILED_PRECONDITION
