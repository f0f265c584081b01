"""Ed-Fi DS 5.x schemas of education organizations (schools, local education agencies): the
reference data the student resources point at. Part of adapters.edfi_schema, split for size."""
from __future__ import annotations

from .edfi_schema_fields import Descriptor, EdFiSchema, Int, Many, Ref, Str


class LocalEducationAgencyReference(EdFiSchema):
    localEducationAgencyId = Int(required=True)


class StateEducationAgencyReference(EdFiSchema):
    stateEducationAgencyId = Int(required=True)


# --- education organizations ---------------------------------------------------------------------

class EdOrgCategory(EdFiSchema):
    educationOrganizationCategoryDescriptor = Descriptor(required=True)


class SchoolGradeLevel(EdFiSchema):
    gradeLevelDescriptor = Descriptor(required=True)


class EdOrgIdentificationCode(EdFiSchema):
    educationOrganizationIdentificationSystemDescriptor = Descriptor(required=True)
    identificationCode = Str(60, required=True)


class EdOrgAddress(EdFiSchema):
    addressTypeDescriptor = Descriptor(required=True)
    stateAbbreviationDescriptor = Descriptor(required=True)
    city = Str(30, min=2, required=True)
    postalCode = Str(17, required=True)
    streetNumberName = Str(150, required=True)
    nameOfCounty = Str(30)


class SchoolCategory(EdFiSchema):
    schoolCategoryDescriptor = Descriptor(required=True)


class School(EdFiSchema):
    schoolId = Int(required=True)
    nameOfInstitution = Str(75, required=True)
    educationOrganizationCategories = Many(EdOrgCategory, required=True)
    gradeLevels = Many(SchoolGradeLevel, required=True)
    shortNameOfInstitution = Str(75)
    localEducationAgencyReference = Ref(LocalEducationAgencyReference)
    identificationCodes = Many(EdOrgIdentificationCode)
    addresses = Many(EdOrgAddress)
    schoolCategories = Many(SchoolCategory)
    schoolTypeDescriptor = Descriptor()
    charterStatusDescriptor = Descriptor()
    operationalStatusDescriptor = Descriptor()
    webSite = Str(255, min=5)


class LocalEducationAgency(EdFiSchema):
    localEducationAgencyId = Int(required=True)
    nameOfInstitution = Str(75, required=True)
    localEducationAgencyCategoryDescriptor = Descriptor(required=True)
    categories = Many(EdOrgCategory, required=True)
    shortNameOfInstitution = Str(75)
    stateEducationAgencyReference = Ref(StateEducationAgencyReference)
    parentLocalEducationAgencyReference = Ref(LocalEducationAgencyReference)
    identificationCodes = Many(EdOrgIdentificationCode)
    addresses = Many(EdOrgAddress)
    charterStatusDescriptor = Descriptor()
    operationalStatusDescriptor = Descriptor()
    webSite = Str(255, min=5)


# --- registry ------------------------------------------------------------------------------------

#: collection -> (schema class, OpenAPI component name; None for our extension)
