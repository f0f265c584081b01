"""A youth's health record for the synthetic county: providers, immunizations by the CDC schedule
(with gaps), allergies, medications, problems (some sensitive: mental health, Part 2 SUD,
minor-consented reproductive/sexual health, HIV) and encounters."""
from __future__ import annotations

import random
from datetime import date, timedelta

from . import names
from .model import Allergy, Condition, HealthEncounter, Immunization, Medication, Provider, Youth

# (CVX, display, ages in months at which a dose is due)
SCHEDULE = [
    ("08", "Hep B, adolescent or pediatric", [0, 1, 6]),
    ("20", "DTaP", [2, 4, 6, 15, 48]),
    ("10", "IPV", [2, 4, 6, 48]),
    ("49", "Hib (PRP-OMP)", [2, 4, 12]),
    ("133", "Pneumococcal conjugate PCV 13", [2, 4, 6, 12]),
    ("03", "MMR", [12, 48]),
    ("21", "varicella", [12, 48]),
    ("83", "Hep A, ped/adol, 2 dose", [12, 18]),
    ("115", "Tdap", [132]),
    ("62", "HPV, quadrivalent", [132, 138]),
    ("114", "meningococcal MCV4P", [132, 192]),
]
ALLERGIES = [
    ("rxnorm", "7980", "Penicillin G", "Hives"), ("rxnorm", "723", "Amoxicillin", "Rash"),
    ("snomed", "91935009", "Allergy to peanuts", "Anaphylaxis"), ("snomed", "300913006", "Shellfish allergy", "Swelling"),
    ("rxnorm", "10180", "Sulfamethoxazole", "Rash"), ("snomed", "232347008", "Dander (animal) allergy", "Wheezing"),
]
MEDICATIONS = [
    ("745679", "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", False),
    ("310965", "ibuprofen 200 MG Oral Tablet", False),
    ("197361", "amlodipine 5 MG Oral Tablet", False),
    ("1551303", "cetirizine 10 MG Oral Tablet", False),
]
PSYCHOTROPIC = [
    ("1091152", "methylphenidate hydrochloride 18 MG Extended Release Oral Tablet", True),
    ("312938", "sertraline 50 MG Oral Tablet", True),
    ("312829", "risperidone 1 MG Oral Tablet", True),
    ("352307", "aripiprazole 5 MG Oral Tablet", True),
    ("349332", "escitalopram 10 MG Oral Tablet", True),
]
# (SNOMED, ICD-10, display, sensitivity)
PROBLEMS = [
    ("195967001", "J45.909", "Asthma", None), ("24079001", "L20.9", "Atopic dermatitis", None),
    ("414916001", "E66.9", "Obesity", None), ("80394007", "E11.9", "Type 2 diabetes mellitus", None),
    ("65363002", "H66.90", "Otitis media", None), ("80146002", "K35.80", "Appendicitis", None),
]
MENTAL = [
    ("406506008", "F90.9", "Attention deficit hyperactivity disorder", "mental_health"),
    ("47505003", "F43.10", "Posttraumatic stress disorder", "mental_health"),
    ("35489007", "F32.9", "Depressive disorder", "mental_health"),
    ("197480006", "F41.9", "Anxiety disorder", "mental_health"),
    ("192108001", "F43.25", "Adjustment disorder with mixed disturbance of emotions and conduct", "mental_health"),
]
SUD = [("714829008", "F12.20", "Cannabis use disorder, moderate", "sud"),
       ("7200002", "F10.20", "Alcohol use disorder", "sud")]
REPRO = [("105629000", "A56.9", "Chlamydial infection", "reproductive"),
         ("169553002", "Z30.011", "Encounter for initial prescription of contraceptive pills", "reproductive"),
         ("72892002", "Z34.90", "Normal pregnancy", "reproductive")]
HIV = [("86406008", "B20", "Human immunodeficiency virus infection", "hiv")]


def _provider(rng: random.Random, kind: str) -> Provider:
    org = {"health": "Clinica", "dental": "Smile Dental", "mental_health": "Hillside Behavioral Health"}[kind]
    street = rng.choice(names.STREETS).replace("-", " ")
    return Provider(kind=kind, given=rng.choice(names.GIVEN_F + names.GIVEN_M), family=rng.choice(names.FAMILY),
                    npi=f"1{rng.randint(100000000, 999999999)}",
                    organization=f"{org} {rng.choice(names.PLACES).replace('-', ' ')}",
                    address=f"{rng.randint(100, 9999)} {street} Blvd", city="Los Angeles",
                    zip=f"9{rng.randint(1000, 1899):04d}", phone=f"(310) 555-{rng.randint(1000, 9999)}")


def add_health(y: Youth, rng: random.Random, as_of: date) -> None:
    age = y.age_on(as_of)
    y.providers.append(_provider(rng, "health"))
    if age >= 2:
        y.providers.append(_provider(rng, "dental"))
    gaps = rng.random() < 0.12  # some youth miss doses: "immunizations missing" flag
    for cvx, display, months in SCHEDULE:
        for m in months:
            day = y.birth_date + timedelta(days=int(m * 30.4) + rng.randint(0, 20))
            if day >= as_of or (gaps and rng.random() < 0.3):
                continue
            y.immunizations.append(Immunization(cvx, display, day))
    for yr in range(max(0, age - 3), age + 1):
        day = date(y.birth_date.year + yr, 10, rng.randint(1, 28))
        if y.birth_date + timedelta(days=180) < day < as_of and rng.random() < 0.5:
            y.immunizations.append(Immunization("150", "Influenza, injectable, quadrivalent, preservative free", day))
    if rng.random() < 0.2:
        y.allergies.append(Allergy(*rng.choice(ALLERGIES)))
    if rng.random() < 0.25:
        rx, display, psy = rng.choice(MEDICATIONS)
        y.medications.append(Medication(rx, display, as_of - timedelta(days=rng.randint(30, 900)), psy))
    onset_floor = y.birth_date + timedelta(days=365)
    def onset() -> date:
        lo = max(onset_floor, as_of - timedelta(days=1500))
        return lo + timedelta(days=rng.randint(0, max(1, (as_of - lo).days - 1)))
    if rng.random() < 0.25:
        s, i, d, sens = rng.choice(PROBLEMS)
        y.conditions.append(Condition(s, i, d, onset(), sens, resolved=rng.random() < 0.3))
    if age >= 4 and rng.random() < 0.3:
        s, i, d, sens = rng.choice(MENTAL)
        minor_consented = age >= 12 and rng.random() < 0.15  # outpatient counseling under Fam. Code 6924
        y.conditions.append(Condition(s, i, d, onset(), sens, minor_consented=minor_consented))
        y.providers.append(_provider(rng, "mental_health"))
        if not minor_consented and rng.random() < 0.5:
            rx, display, psy = rng.choice(PSYCHOTROPIC)
            y.medications.append(Medication(rx, display, as_of - timedelta(days=rng.randint(30, 700)), psy))
    if age >= 14 and rng.random() < 0.04:
        s, i, d, sens = rng.choice(SUD)
        y.conditions.append(Condition(s, i, d, onset(), sens, part2_program=True))
    if age >= 13 and rng.random() < 0.05:
        s, i, d, sens = rng.choice(REPRO)
        y.conditions.append(Condition(s, i, d, onset(), sens, minor_consented=age < 18))
    if rng.random() < 0.003:
        s, i, d, sens = HIV[0]
        y.conditions.append(Condition(s, i, d, onset(), sens))
    for yr in range(max(0, age - 4), age + 1):
        day = y.birth_date + timedelta(days=365 * yr + rng.randint(0, 300))
        if day < as_of:
            y.encounters.append(HealthEncounter(day, "office", "Well child visit"))
    if rng.random() < 0.06:
        y.encounters.append(HealthEncounter(as_of - timedelta(days=rng.randint(5, 900)), "emergency", "Injury"))
    if rng.random() < 0.03:
        psych = any(c.sensitivity == "mental_health" for c in y.conditions)
        y.encounters.append(HealthEncounter(as_of - timedelta(days=rng.randint(5, 900)), "inpatient",
                                            "Psychiatric hospitalization" if psych else "Pneumonia", rng.randint(2, 9)))
