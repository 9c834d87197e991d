"""The journey spec: YAML and flags in, YAML out, validation against a log, durations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lastmile.errors import LastmileError
from lastmile.journey import (
    Cost,
    Journey,
    Reversal,
    Stage,
    format_duration,
    parse_duration,
)

FULL = """
name: telecom installation
stages:
  - name: ordered
    activities: [Order placed]
  - name: drop laid
    activities: [Drop cable laid, Drop cable re-laid]
  - name: activated
    activities: [Service activated]
finish: activated
last_mile: drop laid
failure: [Order cancelled]
reversal:
  activities: [Contract revoked]
  window: 90d
timeout: 30d
value: order_value
cost:
  per_event: 1.0
"""


def test_full_yaml_from_contract():
    j = Journey.from_yaml(FULL)
    assert j.name == "telecom installation"
    assert j.stages[1] == Stage("drop laid", ("Drop cable laid", "Drop cable re-laid"))
    assert (j.finish, j.last_mile, j.finish_index, j.last_mile_index) == (
        "activated",
        "drop laid",
        2,
        1,
    )
    assert j.failure == ("Order cancelled",)
    assert j.reversal == Reversal(("Contract revoked",), timedelta(days=90))
    assert j.timeout == timedelta(days=30)
    assert j.value == "order_value"
    assert j.cost == Cost(per_event=1.0)
    assert j.stage_of["Drop cable re-laid"] == 1
    assert "Contract revoked" in j.activities


def test_yaml_round_trip_and_file(tmp_path):
    j = Journey.from_yaml(FULL)
    assert Journey.from_yaml(j.to_yaml()) == j
    path = tmp_path / "journey.yaml"
    path.write_text(j.to_yaml(), encoding="utf-8")
    assert Journey.from_yaml(path) == j
    assert Journey.from_yaml(str(path)) == j
    other = Journey.from_yaml(FULL.replace("per_event: 1.0", "per_activity: {Order placed: 3}"))
    assert Journey.from_yaml(other.to_yaml()).cost == Cost(per_activity={"Order placed": 3.0})


def test_defaults_and_shorthand():
    j = Journey.from_yaml("stages: [a, b, c]")
    assert j.stage_names == ("a", "b", "c")
    assert (j.finish, j.last_mile) == ("c", "b")
    assert j.failure == () and j.reversal is None and j.timeout is None and j.cost is None
    j2 = Journey.from_yaml("stages: [a, b, c]\nfinish: b\n")
    assert j2.last_mile == "a"
    j3 = Journey.from_yaml("stages: [a, b]\nreversal: [undo]\ncost: 2\n")
    assert j3.reversal == Reversal(("undo",), None)
    assert j3.cost == Cost(per_event=2.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stages: [a]", "at least two stages"),
        ("stages: [a, a]", "used twice"),
        ("stages: [a, b]\nfinish: bb", "did you mean 'b'"),
        ("stages: [a, b]\nfinish: a", "first stage"),
        ("stages: [a, b, c]\nlast_mile: c", "must begin before the finish"),
        ("stages: [a, b, c]\nfinish: b\nlast_mile: c", "must begin before the finish"),
        ("stages: [a, b]\nlast_mile: x", "not one of the stages"),
        ("stages: [a, b]\nfailure: [b]", "both a failure"),
        ("stages: [a, b]\nreversal: {activities: [a]}", "both a reversal"),
        ("stages:\n  - {name: s, activities: [x]}\n  - {name: t, activities: [x]}", "two stages"),
        ("stages: [a, b]\nstage: [c]", "did you mean 'stages'"),
        ("stages: [a, b]\ncost: {per_evnt: 1}", "did you mean 'per_event'"),
        ("stages: [a, b]\ncost: {per_event: 1, attribute: x}", "exactly one"),
        ("stages: [a, b]\ntimeout: 3 days", "cannot read the duration"),
        ("stages: [a, b]\nreversal: {activities: [r], window: -1d}", "cannot read the duration"),
        ("stages: [a, b", "not valid YAML"),
        ("- a\n- b", "must be a mapping"),
        ("name: x\nfinish: a", "needs 'stages'"),
        ("stages:\n  - {name: s, activites: [x]}\n  - b", "did you mean 'activities'"),
    ],
)
def test_bad_yaml_says_what_is_wrong(text, message):
    with pytest.raises(LastmileError, match=message):
        Journey.from_yaml(text)


def test_missing_file():
    with pytest.raises(LastmileError, match="no such journey file"):
        Journey.from_yaml("does-not-exist.yaml")


def test_from_flags():
    j = Journey.from_flags(
        "A_SUBMITTED, A_PREACCEPTED|A_PARTLYSUBMITTED ,O_SENT,O_SENT_BACK",
        finish="A_APPROVED",
        fail="A_DECLINED,A_CANCELLED",
        last_mile="O_SENT",
        timeout="2w",
        value="AMOUNT_REQ",
    )
    assert j.stage_names == ("A_SUBMITTED", "A_PREACCEPTED", "O_SENT", "O_SENT_BACK", "A_APPROVED")
    assert j.stages[1].activities == ("A_PREACCEPTED", "A_PARTLYSUBMITTED")
    assert j.finish == "A_APPROVED" and j.last_mile == "O_SENT"
    assert j.failure == ("A_DECLINED", "A_CANCELLED")
    assert j.timeout == timedelta(days=14) and j.value == "AMOUNT_REQ"
    # finish and last mile may name an activity of a multi-activity stage
    j2 = Journey.from_flags("a,b|c,d", last_mile="c")
    assert j2.last_mile == "b" and j2.finish == "d"
    assert Journey.from_flags(["a", "b"], fail=["x"]).failure == ("x",)
    with pytest.raises(LastmileError, match="empty"):
        Journey.from_flags(" , ")


def test_validate_against_log_counts():
    j = Journey.from_yaml(FULL)
    counts = {
        "Order placed": 5,
        "Drop cable laid": 4,
        "Drop cable re-laid": 1,
        "Service activated": 3,
        "Order cancelled": 1,
        "Contract revoked": 1,
    }
    assert j.validate(counts, columns=["case_id", "order_value"]) is j
    typo = dict(counts)
    typo["Service Activated"] = typo.pop("Service activated")
    with pytest.raises(
        LastmileError, match=r"'Service activated' .*did you mean 'Service Activated'"
    ):
        j.validate(typo)
    two = {k: v for k, v in counts.items() if k not in ("Order cancelled", "Contract revoked")}
    two["Order canceled"] = 1
    with pytest.raises(LastmileError) as info:
        j.validate(two)
    assert "'Order cancelled' (failure)" in str(info.value)
    assert "'Contract revoked' (reversal)" in str(info.value)
    assert "did you mean 'Order canceled'" in str(info.value)
    zero = dict(counts, **{"Order placed": 0})
    with pytest.raises(LastmileError, match="never occurs"):
        j.validate(zero)
    with pytest.raises(
        LastmileError, match=r"value column 'order_value'.*did you mean 'order_valu'"
    ):
        j.validate(counts, columns=["case_id", "order_valu"])
    nothing_close = {"zzz": 1}
    with pytest.raises(LastmileError, match="never occurs"):
        Journey.from_flags("Order placed,Service activated").validate(nothing_close)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90d", 90 * 86400),
        ("12h", 43200),
        ("30m", 1800),
        ("45s", 45),
        ("2w", 14 * 86400),
        ("1d12h", 129600),
        (" 1.5h ", 5400),
        ("3D", 3 * 86400),
        (60, 60),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "d", "90", "90x", "1d 2", "-1d", "0s", "ninety days"])
def test_parse_duration_rejects(text):
    with pytest.raises(LastmileError):
        parse_duration(text)


def test_format_duration_round_trips():
    for text in ["2w", "90d", "36h", "30m", "45s", "1d", "100s"]:
        assert format_duration(parse_duration(text)) == text
    assert format_duration(timedelta(days=7)) == "1w"
    assert format_duration(timedelta(seconds=1.5)) == "1.5s"


# ----------------------------------------------------------------------------- infer_journey
def _events(rows):
    """An event table from (case, activity, days after 2024-03-01) triples, in that order."""
    import pandas as pd

    base = pd.Timestamp("2024-03-01")
    return pd.DataFrame(
        {
            "case_id": [r[0] for r in rows],
            "activity": [r[1] for r in rows],
            "timestamp": [base + pd.Timedelta(days=r[2]) for r in rows],
            "resource": None,
            "event_index": range(len(rows)),
        }
    ).astype({"timestamp": "datetime64[us]", "event_index": "int64", "resource": "string"})


def _infer_log():

    rows = []
    for i in range(1, 7):  # finished: the longest silence before the finish is i days
        rows += [(f"c{i}", "Lead", 0.0), (f"c{i}", "Offer", float(i)), (f"c{i}", "Won", i + 0.5)]
    rows += [("c1", "Returned", 2.5), ("c2", "Returned", 5.5)]  # 1 and 3 days after the win
    for i in range(7, 11):
        rows += [(f"c{i}", "Lead", 0.0), (f"c{i}", "Offer", 1.0), (f"c{i}", "Cancelled", 2.0)]
    rows += [("c7", "Note", 0.1 * k) for k in range(5)]
    return _events(rows)


def test_infer_on_a_small_log():
    from tests.measures.lm_tables import duckdb_table

    from lastmile.infer import infer_journey

    j = infer_journey(duckdb_table(_infer_log()))
    assert j.stage_names == ("Lead", "Offer", "Won")
    assert (j.finish, j.last_mile) == ("Won", "Offer")
    assert j.failure == ("Cancelled",)
    # 95th percentile of the longest silences 1..6 days is 5.75 days, rounded up
    assert j.timeout == timedelta(days=6)
    # returns 1 and 3 days after the win: the 95th percentile is 2.9 days, rounded up
    assert j.reversal == Reversal(("Returned",), timedelta(days=3))
    text = j.to_yaml()
    assert text.startswith("# Journey proposed by `lastmile infer`")
    assert "# 95% of the finished cases never went silent for longer than 6d" in text
    assert Journey.from_yaml(text) == j
    assert "#" not in j.to_yaml(with_comments=False)


def test_infer_samples_large_logs():
    from tests.measures.lm_tables import duckdb_table

    from lastmile.infer import infer_journey

    j = infer_journey(duckdb_table(_infer_log()), sample_cases=5)
    # every 2nd of the 10 case ids in order: c1, c2, c4, c6, c8 (four finished, one cancelled)
    assert j.notes[""].startswith("Journey proposed by `lastmile infer` from 5 cases (a sample")
    assert j.finish == "Won" and j.failure == ("Cancelled",)


@pytest.mark.postgres
def test_infer_same_on_postgres(pg_url):
    from tests.measures.lm_tables import duckdb_table, postgres_table

    from lastmile.infer import infer_journey

    log = _infer_log()
    with postgres_table(pg_url, log) as table:
        assert infer_journey(table).to_yaml() == infer_journey(duckdb_table(log)).to_yaml()


REAL_FINISH = {
    # log: (path under ../shared/data, a finish a person reading the log agrees with)
    "bpic2012": ("bpic2012/bpic2012.xes.gz", {"A_APPROVED", "A_ACTIVATED", "A_REGISTERED"}),
    "helpdesk": ("helpdesk/helpdesk.xes.gz", {"Closed"}),
    "sepsis": ("sepsis/sepsis.csv.gz", {"Release A", "Release B", "Release C"}),
    "receipt": (
        "receipt/receipt.xes.gz",
        {
            "T10 Determine necessity to stop indication",
            "T05 Print and send confirmation of receipt",
        },
    ),
    "hospital_billing": ("hospital_billing/hospital_billing.csv.gz", {"BILLED"}),
}


@pytest.mark.shared
@pytest.mark.parametrize("name", list(REAL_FINISH))
def test_infer_real_logs(name):
    from tests.conftest import shared_file

    import lastmile
    from lastmile.infer import infer_journey
    from lastmile.measures import compute_report

    path, agreeable = REAL_FINISH[name]
    if not hasattr(lastmile, "read_log"):
        pytest.skip("lastmile.read_log is not there yet")
    events = lastmile.read_log(str(shared_file(path))).table
    journey = infer_journey(events)
    finish = journey.stages[journey.finish_index]
    assert set(finish.activities) & agreeable, finish
    assert not set(finish.activities) & set(journey.failure)
    # the proposal round-trips through YAML and the report accepts it
    again = Journey.from_yaml(journey.to_yaml())
    assert again == journey
    report = compute_report(events, again)
    assert report.last_mile["entered"] >= report.last_mile["finished"] > 0
    if name == "bpic2012":
        assert [r["reached"] for r in report.funnel] == [13087, 7367, 5113, 5015, 3254, 2246]
        assert {"A_DECLINED", "A_CANCELLED"} <= set(journey.failure)
    if name == "sepsis":
        assert journey.reversal is not None and journey.reversal.activities == ("Return ER",)
    if name == "hospital_billing":
        assert {"DELETE", "STORNO", "REJECT", "CODE NOK"} <= set(journey.failure)


def test_infer_a_step_named_like_a_reversal_is_not_one():
    """'Ballot returned' ends the journey; it follows the late 'Reminder call' only sometimes."""
    from tests.measures.lm_tables import duckdb_table

    from lastmile.infer import infer_journey

    rows = []
    for i in range(12):
        steps = ["Registered", "Ballot requested"]
        if i % 3 == 0:
            steps.append("Reminder call")
        if i < 8:  # eight return their ballot, two of them after a reminder call
            steps.append("Ballot returned")
        rows += [(f"v{i}", a, float(k + i % 4)) for k, a in enumerate(steps)]
    log = _events(rows)
    returned = set(log.loc[log["activity"] == "Ballot returned", "case_id"])
    reminded = set(log.loc[log["activity"] == "Reminder call", "case_id"])
    assert len(returned) == 8 and len(returned & reminded) == 3  # v0, v3, v6

    j = infer_journey(duckdb_table(log))
    assert j.finish == "Ballot returned" and j.reversal is None
    assert j.stage_names[-2:] == ("Ballot requested", "Ballot returned")
    assert "'Ballot returned' is named like a reversal" in j.notes[""]
    assert "in only 3 of its 8 cases" in j.notes[""]


def test_infer_a_reversal_of_an_earlier_stage_stays_a_reversal():
    """'Weight regained' mostly follows 'Goal reached', not the finish; it is no stage."""
    from tests.measures.lm_tables import duckdb_table

    from lastmile.infer import infer_journey

    rows = []
    for i in range(12):
        steps = ["Joined", "Goal reached"]
        if i < 8:
            steps.append("Maintenance confirmed")
        if i in (7, 9, 10):  # one regains after the finish, two before it could come
            steps.append("Weight regained")
        rows += [(f"m{i}", a, float(10 * k + i % 4)) for k, a in enumerate(steps)]
    log = _events(rows)
    j = infer_journey(duckdb_table(log))
    assert j.finish == "Maintenance confirmed"
    assert j.reversal is not None and j.reversal.activities == ("Weight regained",)
    assert "taken as a step" not in j.notes[""]
