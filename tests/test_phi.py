"""The PHI guard: a labelled set of clinical questions (precision and recall ≥ 0.9) and the modes."""

from __future__ import annotations

import logging

import pytest

from medcite.errors import ConfigError, PHIError
from medcite.llm.phi import find_phi, guard, kinds, redact

# (question, kinds of PHI it carries)
POSITIVE: list[tuple[str, set[str]]] = [
    ("John Smith, DOB 04/12/1957, MRN 889123, has chest pain", {"NAME", "DATE", "MRN"}),
    ("Mr. John Smith is 72 and on warfarin; can he take ibuprofen?", {"NAME"}),
    ("patient Jane Doe, 45F, presented with migraine, what prophylaxis?", {"NAME"}),
    ("My name is Maria Garcia and I have type 2 diabetes, is metformin safe in pregnancy?", {"NAME"}),
    ("Mrs. O'Brien was admitted on 2024-01-02 with sepsis; which antibiotic?", {"NAME", "DATE"}),
    ("Dr. Patel wants to know if a 65-year-old with eGFR 25 should stop metformin", {"NAME"}),
    ("Seen on March 3, 2021 for cough; is azithromycin indicated?", {"DATE"}),
    ("Surgery on 3 March 2021, when can anticoagulation restart?", {"DATE"}),
    ("Her last period was 01/02/2024; is methotrexate contraindicated?", {"DATE"}),
    ("Call me at (555) 123-4567 about my statin results", {"PHONE"}),
    ("Phone 555-867-5309, what is the dose of amoxicillin for otitis?", {"PHONE"}),
    ("Please fax the report to fax: 617-555-0199, patient has AF", {"FAX"}),
    ("Email results to jsmith@example.org, LDL 190 on atorvastatin", {"EMAIL"}),
    ("SSN 123-45-6789, does he qualify for lung cancer screening?", {"SSN"}),
    ("MRN 1234567: hyperkalaemia on spironolactone, what next?", {"MRN"}),
    ("acct #88812345 patient with gout flare on allopurinol", {"MRN"}),
    ("Medical record number 55512-9 shows recurrent C. difficile", {"MRN"}),
    ("She lives at 12 Main Street, Springfield, IL 62704 and has asthma", {"ADDRESS", "ZIP"}),
    ("Address 450 Oak Avenue, can we do home dialysis?", {"ADDRESS"}),
    ("Patient from zip code 02115 with Lyme disease, doxycycline duration?", {"ZIP"}),
    ("See https://portal.example-clinic.com/patient/4431 for the ECG", {"URL"}),
    ("His device reported from 192.168.12.40, pacemaker alert, what to do?", {"IP"}),
    ("Logged in from 2001:db8:85a3::8a2e:370:7334, is this CGM reading valid?", {"IP"}),
    ("Sarah Johnson has lupus nephritis, is mycophenolate first line?", {"NAME"}),
    ("My son Jacob is 4 and has croup, dexamethasone dose?", {"NAME"}),
    ("I'm Emily, 29, pregnant, can I take sertraline?", {"NAME"}),
    ("Robert Brown (DOB 11/05/1948) on apixaban needs a dental extraction", {"NAME", "DATE"}),
    ("Admitted 12/24/2023 with DKA, how fast to correct sodium?", {"DATE"}),
    ("Born on 7/4, now 3 days old with jaundice, bilirubin 18", {"DATE"}),
    ("Discharged on Jan 5th, readmitted with heart failure", {"DATE"}),
    ("Ms. Nguyen, 60, has new AF; should she get a DOAC?", {"NAME"}),
    ("Prof. Hans Mueller asks about PCSK9 inhibitors after MI", {"NAME"}),
    ("Contact +44 20 7946 0958 regarding the patient's CKD", {"PHONE"}),
    ("Member ID 998877665, is bariatric surgery covered for BMI 42?", {"MRN"}),
    ("my mother Linda Evans has dementia and falls, vitamin D?", {"NAME"}),
    ("Visit www.myhealthrecord.example.com/u/77 to see my thyroid labs", {"URL"}),
    ("Tom Wilson, 58 yo, with STEMI on 2023-11-15, clopidogrel or ticagrelor?", {"NAME", "DATE"}),
    ("Kwame Mensah, aged 40, sickle cell crisis, hydroxyurea dose?", {"NAME"}),
    ("patient John, 70, with BPH and urinary retention, tamsulosin?", {"NAME"}),
    ("Her appointment in June 2022 showed TSH 8, start levothyroxine?", {"DATE"}),
    ("Records at 77 West Elm Road, Apt 4B, show recurrent UTIs", {"ADDRESS"}),
    ("Patient ID 4455661 on lithium with tremor, level 1.4", {"MRN"}),
    ("Text me on cell 415.555.2671 if INR above 4", {"PHONE"}),
    ("Mr Ahmed had a TIA on 14 February 2024, start aspirin and clopidogrel?", {"NAME", "DATE"}),
]

NEGATIVE: list[str] = [
    "65-year-old man with eGFR 25, should metformin be stopped?",
    "What is the dose of vancomycin in a 70 kg adult with CrCl 40 mL/min?",
    "Does aspirin reduce mortality after myocardial infarction?",
    "Is 5 mg/kg of gentamicin once daily safe in neonates?",
    "BP 150/95 on amlodipine 10 mg, what should be added?",
    "HbA1c 8.2% despite metformin 1000 mg twice daily; next step?",
    "Should a 2021 guideline on heart failure change SGLT2 inhibitor use?",
    "In 2019 the ADA recommended GLP-1 agonists for ASCVD, is that still true?",
    "Parkinson disease patient with hallucinations, which antipsychotic?",
    "Is Crohn's disease an indication for vedolizumab first line?",
    "Management of Hodgkin lymphoma stage II in adolescents",
    "Cushing syndrome workup: dexamethasone suppression test or late night salivary cortisol?",
    "Graves disease in pregnancy: methimazole or propylthiouracil?",
    "Does the Wells score rule out PE when D-dimer is 400 ng/mL?",
    "Child-Pugh class B cirrhosis and statin use",
    "Gleason 3+4 prostate cancer, active surveillance or surgery?",
    "What is the Apgar score cut-off for resuscitation at 5 minutes?",
    "Glasgow Coma Scale 8, intubate?",
    "Potassium 6.2 mmol/L with peaked T waves, give calcium gluconate?",
    "Troponin rose from 12 to 85 ng/L in 3 hours, is this NSTEMI?",
    "Warfarin with INR 4.5 and no bleeding, hold one dose?",
    "Children aged 2-5 years with acute otitis media: watchful waiting?",
    "Does 1/2 tablet of bisoprolol 2.5 mg help rate control?",
    "Grade 3/4 neutropenia on capecitabine, dose reduce by 25%?",
    "Is 24/7 CPAP needed for severe OSA with AHI 45?",
    "What is the NNT of statins for primary prevention over 5 years?",
    "Medicare coverage criteria for CGM in type 2 diabetes",
    "Pregnant at 32 weeks with BP 160/110, labetalol or nifedipine?",
    "Kawasaki disease with coronary aneurysm, aspirin dose?",
    "Is Down syndrome associated with early Alzheimer disease?",
    "Steroids for Bell's palsy within 72 hours?",
    "Does the Framingham risk score overestimate risk in Asians?",
    "Dosing of ceftriaxone 2 g q24h for meningitis in adults",
    "Lab: Na 128, K 3.1, Cr 1.8, glucose 310, what is the anion gap?",
    "In the SPRINT trial, was a target of 120 mmHg better than 140?",
    "A 3-month-old infant with fever 38.5 C, full septic workup?",
    "eGFR 15-29 mL/min/1.73 m2: which DOAC dose?",
    "Vitamin D 50,000 IU weekly for 8 weeks, then what?",
    "Hepatitis B vaccine schedule 0, 1 and 6 months for adults",
    "Tdap at 27-36 weeks of gestation, why that window?",
    "What does ST elevation in leads II, III and aVF mean?",
    "Patient with COPD and FEV1 45% predicted, triple therapy?",
    "Stevens-Johnson syndrome after lamotrigine, can it be restarted?",
    "Is the Mallory-Weiss tear an indication for PPI?",
    "Ages 50-75 colorectal screening every 10 years by colonoscopy?",
    "Dose of insulin glargine 0.2 units/kg for a new type 2 patient",
]


def _prf() -> tuple[float, float, list[str]]:
    tp = fp = fn = 0
    misses: list[str] = []
    for text, expected in POSITIVE:
        found = set(kinds(find_phi(text)))
        tp += len(found & expected)
        fp += len(found - expected)
        fn += len(expected - found)
        if found != expected:
            misses.append(f"{text!r}: expected {sorted(expected)} found {sorted(found)}")
    for text in NEGATIVE:
        found = set(kinds(find_phi(text)))
        fp += len(found)
        if found:
            misses.append(f"{text!r}: expected none, found {sorted(found)}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, misses


def test_labelled_set_is_big_enough() -> None:
    assert len(POSITIVE) >= 40 and len(NEGATIVE) >= 40


def test_precision_and_recall_on_labelled_set() -> None:
    precision, recall, misses = _prf()
    print(f"PHI precision {precision:.3f} recall {recall:.3f}; misses: {misses}")
    assert precision >= 0.9, misses
    assert recall >= 0.9, misses


def test_example_from_brief() -> None:
    found = find_phi("John Smith, DOB 04/12/1957, MRN 889123, has chest pain")
    assert [m.kind for m in found] == ["NAME", "DATE", "MRN"]
    assert find_phi("65-year-old man with eGFR 25, should metformin be stopped?") == []


@pytest.mark.parametrize("text", ["2021", "in 2021", "65-year-old", "5 mg/kg", "120/80 mmHg", "3-5 days", "q12h"])
def test_not_phi(text: str) -> None:
    assert find_phi(text) == []


def test_redact_replaces_with_kinds() -> None:
    text, matches = redact("Mr. John Smith, seen 2024-01-02, call 555-123-4567, lives at 12 Main Street")
    assert text == "[NAME], seen [DATE], call [PHONE], lives at [ADDRESS]"
    assert [m.kind for m in matches] == ["NAME", "DATE", "PHONE", "ADDRESS"]
    assert redact("no identifiers here") == ("no identifiers here", [])


def test_match_repr_hides_value() -> None:
    m = find_phi("SSN 123-45-6789")[0]
    assert "123-45-6789" not in repr(m) and m.text == "123-45-6789"


def test_guard_modes(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    q = "Jane Doe, DOB 04/12/1957, has AF: apixaban dose?"
    assert guard(q, mode="refuse", endpoint_is_loopback=True) == q
    assert guard(q, mode="off", endpoint_is_loopback=False) == q
    assert guard(q, mode="redact", endpoint_is_loopback=False) == "[NAME], DOB [DATE], has AF: apixaban dose?"
    with pytest.raises(PHIError) as info:
        guard(q, mode="refuse", endpoint_is_loopback=False)
    msg = str(info.value)
    assert "NAME" in msg and "DATE" in msg
    assert "Jane" not in msg and "1957" not in msg
    clean = "Apixaban dose in AF with CrCl 30?"
    assert guard(clean, mode="refuse", endpoint_is_loopback=False) == clean
    assert "Jane" not in caplog.text and "1957" not in caplog.text
    with pytest.raises(ConfigError):
        guard(q, mode="strip", endpoint_is_loopback=False)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "value"), [
    ("Dana has had a rash since the weekend; is it shingles?", "Dana"),  # a subject and its verb
    ("Is Grace allowed to fly after a DVT?", "Grace"),
    ("Could the swelling on Autumn's ankles be from amlodipine?", "Autumn"),  # a possessive
    ("Glucometer serial GX99120 for Teddy — how do I calibrate it?", "Teddy"),  # closing an ID sentence
    ("NAKAMURA, KEN 61M with AF — rate control first?", "NAKAMURA, KEN"),
    ("Jiří Dvořák has gout; is colchicine safe with clarithromycin?", "Jiří Dvořák"),
    ("my wife ann takes lisinopril, is ibuprofen a problem", "ann"),
    ("Mrs. De la Cruz asks about statins", "De la Cruz"),
    ("She turned ninety-four in May; is a statin still worthwhile?", "ninety-four"),
    ("Her colposcopy is on the 19th; can she stop the pill?", "the 19th"),
    ("Surgery was 03-Feb-2022, can she lift weights?", "03-Feb-2022"),
    ("His pacemaker went in 11/2018, is the battery due?", "11/2018"),
    ("Bloods on Friday 6/14 showed a potassium of 6.1", "Friday 6/14"),
    ("His social is 321 54 9876, is he eligible for Medicaid?", "321 54 9876"),
    ("Write to me at tom underscore k at yahoo dot com about the rash", "tom underscore k at yahoo dot com"),
    ("Ring (03) 9123 4567 about the INR", "(03) 9123 4567"),
    ("We live on Via Roma 14, Lucca and my son has a fever", "Via Roma 14, Lucca"),
    ("Back from Nairobi last week with a fever, malaria test?", "Nairobi"),
    ("My aunt in Ashford-in-the-Water has shingles", "Ashford-in-the-Water"),
    ("Retinal scan signature RS-2231-884 was stored; does glaucoma change it?", "RS-2231-884"),
    ("DNA profile D3S1358 15,16 vWA 17,18 FGA 21,22 from the lab", "D3S1358 15,16 vWA 17,18 FGA 21,22"),
])
def test_general_rules_catch(text: str, value: str) -> None:
    start = text.index(value)
    spans = [(m.start, m.end) for m in find_phi(text)]
    assert all(not text[i].isalnum() or any(s <= i < e for s, e in spans) for i in range(start, start + len(value)))


@pytest.mark.parametrize("text", [
    "What is the Vienna classification of Crohn disease?",  # a place before the noun of a named system
    "Are the Boston criteria used for cerebral amyloid angiopathy?",
    "What is the Kyoto classification of gastritis?",
    "Is 24/7 nurse staffing required in the ICU?",
    "Does the 9-valent vaccine cover types 31/33/45/52/58?",
    "Is the Declaration of Geneva still used?",
    "What is the role of Acyl-Homoserine Lactone in quorum sensing?",
    "Which intoxication is associated with Burton's line?",
])
def test_general_rules_spare(text: str) -> None:
    assert find_phi(text) == []
