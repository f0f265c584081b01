"""OneRoster adapter: shared samples (incl. non-conformant) give records or precise problems; bad rows; deletes."""
from __future__ import annotations

import pytest

from adapters import oneroster
from adapters.base import Problem, Record
from tests.conftest import shared_path

SETS = ["Test_full_data_set", "Test_minimal_data_set", "oneroster_test_data", "v1p2_full_dataset"]


@pytest.mark.parametrize("name", SETS)
def test_samples_never_crash_and_problems_are_precise(name):
    items = list(oneroster.convert(shared_path("sis", "oneroster", "moodle-enrol_oneroster", name)))
    assert items
    for p in items:
        if isinstance(p, Problem) and p.severity == "error":
            assert p.file.endswith(".csv") and p.line and p.field


def test_v1p2_nonconformant_headers_and_dates_flagged():
    items = list(oneroster.convert(shared_path("sis", "oneroster", "moodle-enrol_oneroster", "v1p2_full_dataset")))
    fields = {(p.file, p.field) for p in items if isinstance(p, Problem)}
    assert ("roles.csv", "dataLastModified") in fields
    assert ("users.csv", "prefferedGivenName") in fields
    assert any(p.field == "dateLastModified" and "1/05/2023" in p.message for p in items if isinstance(p, Problem))
    assert any(p.field == "parentSourcedId" for p in items if isinstance(p, Problem))


def _bundle(tmp_path, users, demographics=None, enrollments=None):
    (tmp_path / "manifest.csv").write_text("propertyName,value\noneroster.version,1.1\nfile.users,delta\n"
                                           "file.orgs,bulk\nfile.enrollments,bulk\nfile.demographics,bulk\n")
    (tmp_path / "orgs.csv").write_text("sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
                                       "d1,active,,Unified,district,1964733,\ns1,active,,High,school,1234567,d1\n")
    (tmp_path / "users.csv").write_text(
        "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,"
        "middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n" + users)
    (tmp_path / "demographics.csv").write_text(
        "sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,"
        "nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity\n"
        + (demographics or ""))
    (tmp_path / "enrollments.csv").write_text(
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n"
        + (enrollments or ""))
    return tmp_path


def test_good_and_bad_rows(tmp_path):
    users = ("u1,active,2024-01-01,TRUE,s1,student,ana,{stateId:3000000097},Ana,Lopez,,12345,,,,,09,\n"
             "u2,active,2024-01-01,TRUE,s1,student,bo,,Bo\n"
             "t1,active,2024-01-01,TRUE,s1,teacher,tt,,T,T,,,,,,,,\n"
             "u3,tobedeleted,2024-01-01,TRUE,s1,student,cy,,Cy,Diaz,,,,,,,09,\n")
    demo = "u1,active,,2010-01-02,female,false,false,false,false,true,false,true\nu3,active,,2010-02-30,male,,,,,,,\n"
    enr = "e1,active,,,s1,u1,student,true,2024-08-15,\ne2,active,,,s1,t1,teacher,,2024-08-15,\ne3,active,,,s1,u9,student,,2024-08-15,\n"
    items = list(oneroster.convert(_bundle(tmp_path, users, demo, enr), tenant="t"))
    recs = [r for r in items if isinstance(r, Record)]
    probs = [p for p in items if isinstance(p, Problem) and p.severity == "error"]
    st = next(r for r in recs if r.type == "students" and r.resource["studentUniqueId"] == "3000000097")
    assert st.resource["birthDate"] == "2010-01-02"
    assert st.subject.identifiers == (("ssid", "3000000097"), ("source|oneroster:t", "u1"),
                                      ("lea-student|1964733", "12345"))
    seoa = next(r for r in recs if r.type == "studentEducationOrganizationAssociations" and r.subject.sex == "F")
    assert seoa.resource["hispanicLatinoEthnicity"] is True
    assert seoa.resource["races"] == [{"raceDescriptor": "uri://ed-fi.org/RaceDescriptor#White"}]
    assert any(r.type == "studentSchoolAssociations" and r.resource["schoolReference"] == {"schoolId": 1234567} for r in recs)
    assert any(r.action == "delete" for r in recs)
    assert not any(r.resource.get("studentUniqueId") == "t1" for r in recs)
    assert any(p.file == "users.csv" and p.line == 3 and "columns" in p.message for p in probs)
    assert any(p.file == "demographics.csv" and p.line == 3 and p.field == "birthDate" for p in probs)
    assert any(p.file == "enrollments.csv" and p.line == 4 and p.field == "userSourcedId" for p in probs)
    schools = [r for r in recs if r.type == "schools"]
    assert schools and schools[0].resource["localEducationAgencyReference"] == {"localEducationAgencyId": 1964733}
