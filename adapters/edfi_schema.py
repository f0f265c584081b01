"""marshmallow schemas of the Ed-Fi DS 5.x API resources the gateway emits, and `validate`.

Each schema lists the properties we may emit (a subset of the official OpenAPI component, same
required set, same lengths and types; tests/test_edfi_schema.py compares them with
resources-ds-5.0.yml so they cannot drift). Unknown properties are errors: an adapter cannot
invent an Ed-Fi property. `_ext` is allowed only where we declare our `hep` extension.

    validate(collection, record) -> [(field, message), ...]    # [] when valid

uses the compiled fast path (edfi_schema_fields.compile_schema); `validate_marshmallow` runs the
marshmallow schema itself (same answers, slower). `validate_against_openapi` (in
edfi_schema_openapi) checks a record against the official OpenAPI component instead.
"""
from __future__ import annotations

from marshmallow import fields

from .edfi_schema_fields import (Bool, Date, Descriptor, EdFiSchema, Errors, Int, Many, Num, Ref, Str,
                                 compile_schema, marshmallow_validate)


# --- references (natural keys of the referenced resource) ----------------------------------------

class StudentReference(EdFiSchema):
    studentUniqueId = Str(32, required=True)


class SchoolReference(EdFiSchema):
    schoolId = Int(required=True)


class EducationOrganizationReference(EdFiSchema):
    educationOrganizationId = Int(required=True)


class SchoolYearTypeReference(EdFiSchema):
    schoolYear = Int(required=True)


class SessionReference(EdFiSchema):
    schoolId = Int(required=True)
    schoolYear = Int(required=True)
    sessionName = Str(60, required=True)


class ProgramReference(EdFiSchema):
    educationOrganizationId = Int(required=True)
    programName = Str(60, required=True)
    programTypeDescriptor = Descriptor(required=True)


class CourseReference(EdFiSchema):
    courseCode = Str(60, required=True)
    educationOrganizationId = Int(required=True)


class StudentAcademicRecordReference(EdFiSchema):
    educationOrganizationId = Int(required=True)
    schoolYear = Int(required=True)
    studentUniqueId = Str(32, required=True)
    termDescriptor = Descriptor(required=True)


class DisciplineIncidentReference(EdFiSchema):
    incidentIdentifier = Str(36, required=True)
    schoolId = Int(required=True)


class StudentDisciplineIncidentBehaviorAssociationReference(EdFiSchema):
    behaviorDescriptor = Descriptor(required=True)
    incidentIdentifier = Str(36, required=True)
    schoolId = Int(required=True)
    studentUniqueId = Str(32, required=True)


class GradingPeriodReference(EdFiSchema):
    gradingPeriodDescriptor = Descriptor(required=True)
    gradingPeriodName = Str(60, required=True)
    schoolId = Int(required=True)
    schoolYear = Int(required=True)


class StudentSectionAssociationReference(EdFiSchema):
    beginDate = Date(required=True)
    localCourseCode = Str(60, required=True)
    schoolId = Int(required=True)
    schoolYear = Int(required=True)
    sectionIdentifier = Str(255, required=True)
    sessionName = Str(60, required=True)
    studentUniqueId = Str(32, required=True)


class AssessmentReference(EdFiSchema):
    assessmentIdentifier = Str(60, required=True)
    namespace = Str(255, min=5, required=True)


# --- students ------------------------------------------------------------------------------------

class StudentOtherName(EdFiSchema):
    otherNameTypeDescriptor = Descriptor(required=True)
    firstName = Str(75, required=True)
    lastSurname = Str(75, required=True)
    middleName = Str(75)
    generationCodeSuffix = Str(10)
    personalTitlePrefix = Str(30)


class Student(EdFiSchema):
    studentUniqueId = Str(32, required=True)
    firstName = Str(75, required=True)
    lastSurname = Str(75, required=True)
    birthDate = Date(required=True)
    middleName = Str(75)
    generationCodeSuffix = Str(10)
    preferredFirstName = Str(75)
    preferredLastSurname = Str(75)
    birthCity = Str(30, min=2)
    birthStateAbbreviationDescriptor = Descriptor()
    birthCountryDescriptor = Descriptor()
    birthSexDescriptor = Descriptor()
    citizenshipStatusDescriptor = Descriptor()
    otherNames = Many(StudentOtherName)


# --- student education organization association ---------------------------------------------------

class SEOAAddressPeriod(EdFiSchema):
    beginDate = Date(required=True)
    endDate = Date()


class SEOAAddress(EdFiSchema):
    addressTypeDescriptor = Descriptor(required=True)
    stateAbbreviationDescriptor = Descriptor(required=True)
    city = Str(30, min=2, required=True)
    postalCode = Str(17, required=True)
    streetNumberName = Str(150, required=True)
    apartmentRoomSuiteNumber = Str(50)
    nameOfCounty = Str(30)
    periods = Many(SEOAAddressPeriod)


class SEOARace(EdFiSchema):
    raceDescriptor = Descriptor(required=True)


class SEOALanguageUse(EdFiSchema):
    languageUseDescriptor = Descriptor(required=True)


class SEOALanguage(EdFiSchema):
    languageDescriptor = Descriptor(required=True)
    uses = Many(SEOALanguageUse)


class SEOAIdentificationCode(EdFiSchema):
    studentIdentificationSystemDescriptor = Descriptor(required=True)
    assigningOrganizationIdentificationCode = Str(60, required=True)
    identificationCode = Str(60, required=True)


class SEOACharacteristic(EdFiSchema):
    studentCharacteristicDescriptor = Descriptor(required=True)
    designatedBy = Str(60)


class SEOAIndicator(EdFiSchema):
    indicatorName = Str(200, required=True)
    indicator = Str(60, required=True)
    designatedBy = Str(60)
    indicatorGroup = Str(200)


class SEOADisability(EdFiSchema):
    disabilityDescriptor = Descriptor(required=True)
    orderOfDisability = Int()


class StudentEducationOrganizationAssociation(EdFiSchema):
    educationOrganizationReference = Ref(EducationOrganizationReference, required=True)
    studentReference = Ref(StudentReference, required=True)
    sexDescriptor = Descriptor()
    hispanicLatinoEthnicity = Bool()
    races = Many(SEOARace)
    languages = Many(SEOALanguage)
    limitedEnglishProficiencyDescriptor = Descriptor()
    addresses = Many(SEOAAddress)
    studentIdentificationCodes = Many(SEOAIdentificationCode)
    studentCharacteristics = Many(SEOACharacteristic)
    studentIndicators = Many(SEOAIndicator)
    disabilities = Many(SEOADisability)
    genderIdentity = Str(60, min=0)


# --- enrollment --------------------------------------------------------------------------------

class HepEnrollmentExtension(EdFiSchema):
    """`_ext.hep` on enrollments: the source's own codes, kept beside the Ed-Fi defaults."""

    enrollmentStatusDescriptor = Descriptor()
    exitWithdrawTypeDescriptor = Descriptor()
    exitDate = Date()
    completionStatusDescriptor = Descriptor()


class EnrollmentExtensions(EdFiSchema):
    hep = Ref(HepEnrollmentExtension)


class StudentSchoolAssociation(EdFiSchema):
    studentReference = Ref(StudentReference, required=True)
    schoolReference = Ref(SchoolReference, required=True)
    entryDate = Date(required=True)
    entryGradeLevelDescriptor = Descriptor(required=True)
    entryTypeDescriptor = Descriptor()
    enrollmentTypeDescriptor = Descriptor()
    exitWithdrawDate = Date()
    exitWithdrawTypeDescriptor = Descriptor()
    primarySchool = Bool()
    repeatGradeIndicator = Bool()
    residencyStatusDescriptor = Descriptor()
    fullTimeEquivalency = Num()
    schoolYearTypeReference = Ref(SchoolYearTypeReference)
    classOfSchoolYearTypeReference = Ref(SchoolYearTypeReference)
    nextYearSchoolReference = Ref(SchoolReference)
    nextYearGradeLevelDescriptor = Descriptor()
    termCompletionIndicator = Bool()
    _ext = Ref(EnrollmentExtensions, data_key="_ext")


# --- attendance --------------------------------------------------------------------------------

class StudentSchoolAttendanceEvent(EdFiSchema):
    studentReference = Ref(StudentReference, required=True)
    schoolReference = Ref(SchoolReference, required=True)
    sessionReference = Ref(SessionReference, required=True)
    eventDate = Date(required=True)
    attendanceEventCategoryDescriptor = Descriptor(required=True)
    attendanceEventReason = Str(255)
    educationalEnvironmentDescriptor = Descriptor()
    eventDuration = Num()
    schoolAttendanceDuration = Int()
    arrivalTime = fields.String()
    departureTime = fields.String()


class StudentSchoolAttendanceSummary(EdFiSchema):
    """hep extension (docs/formats/edfi-output.md): the counts a source reported, never events."""

    studentReference = Ref(StudentReference, required=True)
    schoolReference = Ref(SchoolReference, required=True)
    schoolYear = Int(required=True)
    beginDate = Date()
    endDate = Date()
    daysEnrolled = Num()
    daysAttended = Num()
    daysAbsentExcused = Num()
    daysAbsentUnexcused = Num()
    daysSuspended = Num()
    daysInSchoolSuspension = Num()
    daysIncompleteIndependentStudy = Num()
    daysTardy = Num()
    hourlyAttendance = Bool()
    exempt = Bool()
    sourceSystem = Str(60)


# --- programs ----------------------------------------------------------------------------------

class ProgramParticipationStatus(EdFiSchema):
    participationStatusDescriptor = Descriptor(required=True)
    statusBeginDate = Date(required=True)
    statusEndDate = Date()
    designatedBy = Str(60)


class ProgramService(EdFiSchema):
    serviceDescriptor = Descriptor(required=True)
    primaryIndicator = Bool()
    serviceBeginDate = Date()
    serviceEndDate = Date()


class HepProgramExtension(EdFiSchema):
    """`_ext.hep` on program associations: source facts Ed-Fi's generic association lacks."""

    membershipDescriptor = Descriptor()
    homelessDwellingTypeDescriptor = Descriptor()
    unaccompaniedYouth = Bool()
    runawayYouth = Bool()
    migrantStudentId = Str(60)
    educationPlanTypeDescriptor = Descriptor()
    meetingIdentifier = Str(60)
    servicesReported = fields.List(fields.Dict())


class ProgramExtensions(EdFiSchema):
    hep = Ref(HepProgramExtension)


class StudentProgramAssociation(EdFiSchema):
    studentReference = Ref(StudentReference, required=True)
    educationOrganizationReference = Ref(EducationOrganizationReference, required=True)
    programReference = Ref(ProgramReference, required=True)
    beginDate = Date(required=True)
    endDate = Date()
    reasonExitedDescriptor = Descriptor()
    servedOutsideOfRegularSession = Bool()
    programParticipationStatuses = Many(ProgramParticipationStatus)
    services = Many(ProgramService)
    _ext = Ref(ProgramExtensions, data_key="_ext")


class SpedDisability(EdFiSchema):
    disabilityDescriptor = Descriptor(required=True)
    orderOfDisability = Int()
    disabilityDiagnosis = Str(80)


class SpedProgramService(EdFiSchema):
    specialEducationProgramServiceDescriptor = Descriptor(required=True)
    primaryIndicator = Bool()
    serviceBeginDate = Date()
    serviceEndDate = Date()


class StudentSpecialEducationProgramAssociation(EdFiSchema):
    studentReference = Ref(StudentReference, required=True)
    educationOrganizationReference = Ref(EducationOrganizationReference, required=True)
    programReference = Ref(ProgramReference, required=True)
    beginDate = Date(required=True)
    endDate = Date()
    ideaEligibility = Bool()
    iepBeginDate = Date()
    iepEndDate = Date()
    iepReviewDate = Date()
    lastEvaluationDate = Date()
    disabilities = Many(SpedDisability)
    specialEducationSettingDescriptor = Descriptor()
    specialEducationHoursPerWeek = Num()
    schoolHoursPerWeek = Num()
    medicallyFragile = Bool()
    multiplyDisabled = Bool()
    specialEducationProgramServices = Many(SpedProgramService)
    specialEducationExitDate = Date()
    specialEducationExitReasonDescriptor = Descriptor()
    specialEducationExitExplained = Str(1024, min=0)
    reasonExitedDescriptor = Descriptor()
    programParticipationStatuses = Many(ProgramParticipationStatus)
    _ext = Ref(ProgramExtensions, data_key="_ext")


# --- transcripts and grades ----------------------------------------------------------------------

class CourseAlternativeCode(EdFiSchema):
    courseIdentificationSystemDescriptor = Descriptor(required=True)
    identificationCode = Str(60, required=True)
    assigningOrganizationIdentificationCode = Str(60)


class CourseAcademicSubject(EdFiSchema):
    academicSubjectDescriptor = Descriptor(required=True)


class CourseTranscript(EdFiSchema):
    courseAttemptResultDescriptor = Descriptor(required=True)
    courseReference = Ref(CourseReference, required=True)
    studentAcademicRecordReference = Ref(StudentAcademicRecordReference, required=True)
    attemptedCredits = Num()
    attemptedCreditTypeDescriptor = Descriptor()
    earnedCredits = Num()
    earnedCreditTypeDescriptor = Descriptor()
    finalLetterGradeEarned = Str(20)
    finalNumericGradeEarned = Num()
    courseTitle = Str(60)
    alternativeCourseTitle = Str(60)
    whenTakenGradeLevelDescriptor = Descriptor()
    methodCreditEarnedDescriptor = Descriptor()
    courseRepeatCodeDescriptor = Descriptor()
    alternativeCourseIdentificationCodes = Many(CourseAlternativeCode)
    academicSubjects = Many(CourseAcademicSubject)
    externalEducationOrganizationReference = Ref(EducationOrganizationReference)
    externalEducationOrganizationNameOfInstitution = Str(75)


class GradePointAverage(EdFiSchema):
    gradePointAverageTypeDescriptor = Descriptor(required=True)
    gradePointAverageValue = Num(required=True)
    isCumulative = Bool()
    maxGradePointAverageValue = Num()


class StudentAcademicRecord(EdFiSchema):
    studentReference = Ref(StudentReference, required=True)
    educationOrganizationReference = Ref(EducationOrganizationReference, required=True)
    schoolYearTypeReference = Ref(SchoolYearTypeReference, required=True)
    termDescriptor = Descriptor(required=True)
    sessionAttemptedCredits = Num()
    sessionEarnedCredits = Num()
    sessionAttemptedCreditTypeDescriptor = Descriptor()
    sessionEarnedCreditTypeDescriptor = Descriptor()
    cumulativeAttemptedCredits = Num()
    cumulativeEarnedCredits = Num()
    gradePointAverages = Many(GradePointAverage)
    projectedGraduationDate = Date()


class Grade(EdFiSchema):
    gradeTypeDescriptor = Descriptor(required=True)
    gradingPeriodReference = Ref(GradingPeriodReference, required=True)
    studentSectionAssociationReference = Ref(StudentSectionAssociationReference, required=True)
    letterGradeEarned = Str(20)
    numericGradeEarned = Num()
    performanceBaseConversionDescriptor = Descriptor()
    currentGradeIndicator = Bool()
    currentGradeAsOfDate = Date()
    diagnosticStatement = Str(1024)
    gradeEarnedDescription = Str(64, min=0)


# --- assessments -------------------------------------------------------------------------------

class AssessmentScoreResult(EdFiSchema):
    assessmentReportingMethodDescriptor = Descriptor(required=True)
    resultDatatypeTypeDescriptor = Descriptor(required=True)
    result = Str(35, required=True)


class AssessmentPerformanceLevel(EdFiSchema):
    assessmentReportingMethodDescriptor = Descriptor(required=True)
    performanceLevelDescriptor = Descriptor(required=True)
    performanceLevelIndicatorName = Str(60)


class StudentAssessment(EdFiSchema):
    studentAssessmentIdentifier = Str(60, required=True)
    assessmentReference = Ref(AssessmentReference, required=True)
    studentReference = Ref(StudentReference, required=True)
    reportedSchoolReference = Ref(SchoolReference)
    schoolYearTypeReference = Ref(SchoolYearTypeReference)
    administrationDate = fields.String()
    whenAssessedGradeLevelDescriptor = Descriptor()
    scoreResults = Many(AssessmentScoreResult)
    performanceLevels = Many(AssessmentPerformanceLevel)


# --- discipline --------------------------------------------------------------------------------

class IncidentBehavior(EdFiSchema):
    behaviorDescriptor = Descriptor(required=True)
    behaviorDetailedDescription = Str(1024)


class IncidentWeapon(EdFiSchema):
    weaponDescriptor = Descriptor(required=True)


class DisciplineIncident(EdFiSchema):
    incidentIdentifier = Str(36, required=True)
    schoolReference = Ref(SchoolReference, required=True)
    incidentDate = Date(required=True)
    incidentDescription = Str(1024)
    incidentLocationDescriptor = Descriptor()
    behaviors = Many(IncidentBehavior)
    weapons = Many(IncidentWeapon)
    reportedToLawEnforcement = Bool()
    caseNumber = Str(20)


class ParticipationCode(EdFiSchema):
    disciplineIncidentParticipationCodeDescriptor = Descriptor(required=True)


class StudentDisciplineIncidentBehaviorAssociation(EdFiSchema):
    behaviorDescriptor = Descriptor(required=True)
    disciplineIncidentReference = Ref(DisciplineIncidentReference, required=True)
    studentReference = Ref(StudentReference, required=True)
    behaviorDetailedDescription = Str(1024)
    disciplineIncidentParticipationCodes = Many(ParticipationCode)


class ActionDiscipline(EdFiSchema):
    disciplineDescriptor = Descriptor(required=True)


class ActionBehaviorAssociation(EdFiSchema):
    studentDisciplineIncidentBehaviorAssociationReference = Ref(
        StudentDisciplineIncidentBehaviorAssociationReference, required=True)


class DisciplineAction(EdFiSchema):
    disciplineActionIdentifier = Str(36, required=True)
    disciplineDate = Date(required=True)
    disciplines = Many(ActionDiscipline, required=True)
    studentReference = Ref(StudentReference, required=True)
    responsibilitySchoolReference = Ref(SchoolReference, required=True)
    assignmentSchoolReference = Ref(SchoolReference)
    actualDisciplineActionLength = Num()
    disciplineActionLength = Num()
    iepPlacementMeetingIndicator = Bool()
    relatedToZeroTolerancePolicy = Bool()
    studentDisciplineIncidentBehaviorAssociations = Many(ActionBehaviorAssociation)


from .edfi_schema_edorg import LocalEducationAgency, School  # noqa: E402


SCHEMAS: dict[str, tuple[type[EdFiSchema], str | None]] = {
    "students": (Student, "edFi_student"),
    "studentSchoolAssociations": (StudentSchoolAssociation, "edFi_studentSchoolAssociation"),
    "studentEducationOrganizationAssociations": (StudentEducationOrganizationAssociation,
                                                 "edFi_studentEducationOrganizationAssociation"),
    "studentSchoolAttendanceEvents": (StudentSchoolAttendanceEvent, "edFi_studentSchoolAttendanceEvent"),
    "studentSchoolAttendanceSummaries": (StudentSchoolAttendanceSummary, None),
    "studentSpecialEducationProgramAssociations": (StudentSpecialEducationProgramAssociation,
                                                   "edFi_studentSpecialEducationProgramAssociation"),
    "studentProgramAssociations": (StudentProgramAssociation, "edFi_studentProgramAssociation"),
    "courseTranscripts": (CourseTranscript, "edFi_courseTranscript"),
    "studentAcademicRecords": (StudentAcademicRecord, "edFi_studentAcademicRecord"),
    "grades": (Grade, "edFi_grade"),
    "studentAssessments": (StudentAssessment, "edFi_studentAssessment"),
    "disciplineIncidents": (DisciplineIncident, "edFi_disciplineIncident"),
    "disciplineActions": (DisciplineAction, "edFi_disciplineAction"),
    "studentDisciplineIncidentBehaviorAssociations": (StudentDisciplineIncidentBehaviorAssociation,
                                                      "edFi_studentDisciplineIncidentBehaviorAssociation"),
    "schools": (School, "edFi_school"),
    "localEducationAgencies": (LocalEducationAgency, "edFi_localEducationAgency"),
}
COLLECTIONS = tuple(SCHEMAS)
_FAST = {name: compile_schema(cls) for name, (cls, _) in SCHEMAS.items()}
_INSTANCES = {name: cls() for name, (cls, _) in SCHEMAS.items()}


def validate(collection: str, record: dict) -> Errors:
    """Problems of an Ed-Fi JSON resource of `collection`: [(field path, message)], [] when valid."""
    check = _FAST.get(collection)
    if check is None:
        return [("$", f"unknown Ed-Fi collection {collection!r}")]
    errs: Errors = []
    check(record, "", errs)
    return errs


def validate_marshmallow(collection: str, record: dict) -> Errors:
    """Same as `validate`, by marshmallow itself (the reference implementation; slower)."""
    schema = _INSTANCES.get(collection)
    if schema is None:
        return [("$", f"unknown Ed-Fi collection {collection!r}")]
    return marshmallow_validate(schema, record)


def schema_of(collection: str) -> type[EdFiSchema]:
    return SCHEMAS[collection][0]


def __getattr__(name):  # validate_against_openapi lives with the OpenAPI loader
    if name in ("validate_against_openapi", "load_openapi"):
        from . import edfi_schema_openapi
        return getattr(edfi_schema_openapi, name)
    raise AttributeError(name)
