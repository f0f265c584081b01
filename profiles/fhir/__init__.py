"""FHIR conformance artifacts of the passport: StructureDefinitions, CodeSystems, ValueSets (JSON). Data only."""
