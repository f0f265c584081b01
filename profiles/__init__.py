"""What is shared and how it looks: disclosure rules (profiles/disclosure/), FHIR
StructureDefinitions and CodeSystems of the passport, Ed-Fi resource profiles. Data only."""
from pathlib import Path

HERE = Path(__file__).parent
