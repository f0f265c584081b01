"""The synthetic county's ground truth: youth, their schools and health, as plain data.

Every feed writer (CWS extract, CALPADS, OneRoster, SIF, Ed-Fi, C-CDA, VXU) renders from this
one model, so the same youth looks the same across sources except for the identity noise a
writer deliberately applies (recorded in the ground-truth file).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(slots=True)
class School:
    school_id: str        # 7-digit CDS school code
    lea_id: str           # 7-digit county-district code
    name: str
    level: str            # elementary | middle | high
    address: str
    city: str
    zip: str
    phone: str


@dataclass(slots=True)
class District:
    lea_id: str
    name: str
    feed_format: str      # calpads | oneroster | sif | edfi-xml | edfi-json
    schools: list[School] = field(default_factory=list)

    def school_for(self, level: str, k: int) -> School:
        pool = [s for s in self.schools if s.level == level] or self.schools
        return pool[k % len(pool)]


@dataclass(slots=True)
class Enrollment:
    school_id: str
    lea_id: str
    school_year: int      # ending year: 2026 for 2025-26
    entry_date: date
    exit_date: date | None
    exit_code: str | None  # CALPADS exit reason (T160, E155, E230, ...)
    grade: str             # CALPADS grade code: PS, KN, 01..12
    status: str = "10"     # CALPADS enrollment status (10 primary)


@dataclass(slots=True)
class AttendanceYear:
    school_id: str
    lea_id: str
    school_year: int
    days_enrolled: int
    days_attended: int
    days_absent_excused: int
    days_absent_unexcused: int
    days_suspended: int

    @property
    def days_absent(self) -> int:
        return self.days_absent_excused + self.days_absent_unexcused + self.days_suspended


@dataclass(slots=True)
class CourseGrade:
    school_id: str
    lea_id: str
    school_year: int
    term: str              # FA | SP
    local_course_id: str
    state_course_code: str  # CALPADS 4-digit state course code
    title: str
    section_id: str
    credits_attempted: float
    credits_earned: float
    grade: str             # letter grade


@dataclass(slots=True)
class SpecialEducation:
    plan_type: str         # CALPADS 100 IEP, 150 IFSP, 200 ISP
    disability_code: str   # CALPADS disability (e.g. 240 SLD, 280 ED)
    start_date: date
    last_meeting_date: date
    setting_code: str      # e.g. 400 regular classroom
    lea_id: str
    school_id: str


@dataclass(slots=True)
class ProgramParticipation:
    program_code: str      # CALPADS education program (101 Section 504, 191 Homeless, 181 FRPM...)
    start_date: date
    end_date: date | None
    lea_id: str
    school_id: str


@dataclass(slots=True)
class DisciplineIncident:
    incident_id: str
    incident_date: date
    school_id: str
    lea_id: str
    offense_code: str      # CALPADS SDIS offense code (e.g. 500 fighting)
    action_code: str       # 100 suspension, 110 in-school suspension, 200 expulsion
    days: float


@dataclass(slots=True)
class AssessmentResult:
    school_year: int
    subject: str           # ELA | Math
    grade: str
    scale_score: int
    level: int             # 1 standard not met .. 4 standard exceeded
    lea_id: str
    school_id: str


@dataclass(slots=True)
class Provider:
    kind: str              # health | dental | mental_health
    given: str
    family: str
    npi: str
    organization: str
    address: str
    city: str
    zip: str
    phone: str


@dataclass(slots=True)
class Immunization:
    cvx: str
    display: str
    date: date


@dataclass(slots=True)
class Allergy:
    system: str            # "rxnorm" | "snomed"
    code: str
    display: str
    reaction: str


@dataclass(slots=True)
class Medication:
    rxnorm: str
    display: str
    start: date
    psychotropic: bool = False


@dataclass(slots=True)
class Condition:
    snomed: str
    icd10: str
    display: str
    onset: date
    sensitivity: str | None = None   # None | mental_health | sud | hiv | reproductive
    minor_consented: bool = False    # the youth consented alone (Fam. Code 6924-6926)
    part2_program: bool = False      # diagnosed/treated in a federally assisted Part 2 program
    resolved: bool = False


@dataclass(slots=True)
class HealthEncounter:
    date: date
    kind: str              # office | emergency | inpatient
    reason: str
    days: int = 0


@dataclass(slots=True)
class Placement:
    placement_id: str
    start: date
    end: date | None
    placement_type: str    # CWS placement facility type (FFH, RFH, STRTP, GH, KIN, ...)
    caregiver_id: str
    caregiver_name: str
    address: str
    city: str
    zip: str
    phone: str


@dataclass(slots=True)
class Assignment:
    role: str              # social_worker | probation_officer | attorney | casa | caregiver | education_rights_holder
    person_id: str
    name: str
    organization: str
    phone: str
    email: str
    start: date
    end: date | None
    jv535_signed: date | None = None   # education rights holder only
    relationship: str | None = None    # ERH: parent | relative | caregiver | casa | other


@dataclass(slots=True)
class CourtOrder:
    order_id: str
    type: str              # jv535_erh_appointment | jv535_restores_parent_ed_rights | casa_appointment | part2_2.64_order | wic827_release_order
    status: str            # active | vacated | expired
    issued: date
    expires: date | None
    scope: list[str]
    recipients: list[str]
    limits_parent_ed_rights: bool = False


@dataclass(slots=True)
class ConsentOnFile:
    consent_id: str
    grantor: str           # youth | parent | erh | court
    scope: list[str]       # data categories
    recipients: list[str]  # recipient roles
    status: str            # active | revoked | expired
    form: str              # ferpa_99.30 | cmia_56.11 | part2_2.31 | part2_2.31_tpo | hiv_120980g | general_written
    signed: date
    expires: date | None
    revoked_on: date | None = None
    part2_compliant: bool | None = None
    purpose: str | None = None


@dataclass(slots=True)
class Youth:
    index: int
    client_id: str         # CWS/CMS client id, 10 digits
    case_id: str           # 19 digits
    given: str
    middle: str
    family: str
    birth_date: date
    sex: str               # F | M
    ssid: str              # 10 digits (always known to schools; CWS knows it for most)
    ssid_known_to_cws: bool
    lea_id: str            # current district
    local_id: str          # district local student id
    race: str              # CALPADS race code (e.g. 700 White, 600 Black, 100 AmInd...)
    hispanic: bool
    language: str          # ISO 639-2
    jurisdiction: str      # dependent_300 | ward_602_foster_placement | nonminor_dependent
    office: str            # DCFS regional office (a Group for bulk export)
    aliases: list[tuple[str, str]] = field(default_factory=list)
    placements: list[Placement] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    court_orders: list[CourtOrder] = field(default_factory=list)
    consents: list[ConsentOnFile] = field(default_factory=list)
    enrollments: list[Enrollment] = field(default_factory=list)
    attendance: list[AttendanceYear] = field(default_factory=list)
    courses: list[CourseGrade] = field(default_factory=list)
    special_education: SpecialEducation | None = None
    programs: list[ProgramParticipation] = field(default_factory=list)
    discipline: list[DisciplineIncident] = field(default_factory=list)
    assessments: list[AssessmentResult] = field(default_factory=list)
    providers: list[Provider] = field(default_factory=list)
    immunizations: list[Immunization] = field(default_factory=list)
    allergies: list[Allergy] = field(default_factory=list)
    medications: list[Medication] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    encounters: list[HealthEncounter] = field(default_factory=list)
    in_care: bool = True   # False: a student the districts send who is not in foster care
    mrn: str = ""          # the HIE's medical record number

    def age_on(self, day: date) -> int:
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


@dataclass(slots=True)
class PresentedPerson:
    """How one source presents a youth: possibly a nickname, a typo, swapped birth date digits."""

    given: str
    middle: str
    family: str
    birth_date: date
    sex: str
    ssid: str | None
    local_id: str
    noise: tuple[str, ...] = ()   # names of the noise applied, for precision/recall by noise type
