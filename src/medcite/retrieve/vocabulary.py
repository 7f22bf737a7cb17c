"""Vocabulary tables of the query analyzer: clinical abbreviations, lay terms, drug-name filters.

Data, not logic — see :mod:`medcite.retrieve.query` for how they are used.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------
# Curated clinical abbreviations: key → (full term, MeSH preferred label or None).
#
# Matching rules: keys of three characters or fewer match only the token exactly as written
# ("MI", "PE", "CKD"); longer keys match in any case ("copd", "T2DM", "afib"). A plural "s" is
# allowed ("UTIs"). Deliberately absent because they are English words or too ambiguous in
# medical text: ALL, AS, ED, IT, US, OR, MAY, CAN, AD (Alzheimer vs atopic dermatitis), HD, PT,
# CP, CF. Keys in _WORDLIKE are also English words in upper case; they are skipped when the whole
# question is written in capitals. _CONTEXT_VETO skips a key when the question's other words show
# a research sense ("PPI databases" = protein-protein interaction); an abbreviation the question
# spells out itself ("PET (Positron ...)", "... (PAH)") is left alone.
# --------------------------------------------------------------------------------------------
ABBREVIATIONS: dict[str, tuple[str, str | None]] = {
    # cardiovascular
    "AAA": ("abdominal aortic aneurysm", "Aortic Aneurysm, Abdominal"),
    "MI": ("myocardial infarction", "Myocardial Infarction"),
    "AMI": ("acute myocardial infarction", "Myocardial Infarction"),
    "STEMI": ("ST-elevation myocardial infarction", "ST Elevation Myocardial Infarction"),
    "NSTEMI": ("non-ST-elevation myocardial infarction", "Non-ST Elevated Myocardial Infarction"),
    "ACS": ("acute coronary syndrome", "Acute Coronary Syndrome"),
    "CAD": ("coronary artery disease", "Coronary Artery Disease"),
    "CHD": ("coronary heart disease", "Coronary Disease"),
    "CABG": ("coronary artery bypass grafting", "Coronary Artery Bypass"),
    "PCI": ("percutaneous coronary intervention", "Percutaneous Coronary Intervention"),
    "HTN": ("hypertension", "Hypertension"),
    "CHF": ("congestive heart failure", "Heart Failure"),
    "HF": ("heart failure", "Heart Failure"),
    "HFrEF": ("heart failure with reduced ejection fraction", "Heart Failure"),
    "HFpEF": ("heart failure with preserved ejection fraction", "Heart Failure"),
    "AF": ("atrial fibrillation", "Atrial Fibrillation"),
    "AFIB": ("atrial fibrillation", "Atrial Fibrillation"),
    "A-FIB": ("atrial fibrillation", "Atrial Fibrillation"),
    "DVT": ("deep vein thrombosis", "Venous Thrombosis"),
    "PE": ("pulmonary embolism", "Pulmonary Embolism"),
    "VTE": ("venous thromboembolism", "Venous Thromboembolism"),
    "PAD": ("peripheral arterial disease", "Peripheral Arterial Disease"),
    "TIA": ("transient ischemic attack", "Ischemic Attack, Transient"),
    "CVA": ("cerebrovascular accident stroke", "Stroke"),
    "LVH": ("left ventricular hypertrophy", "Hypertrophy, Left Ventricular"),
    "LVEF": ("left ventricular ejection fraction", "Stroke Volume"),
    "SCD": ("sudden cardiac death", "Death, Sudden, Cardiac"),
    "VT": ("ventricular tachycardia", "Tachycardia, Ventricular"),
    "VF": ("ventricular fibrillation", "Ventricular Fibrillation"),
    "SVT": ("supraventricular tachycardia", "Tachycardia, Supraventricular"),
    "ECG": ("electrocardiogram", "Electrocardiography"),
    "EKG": ("electrocardiogram", "Electrocardiography"),
    "CPR": ("cardiopulmonary resuscitation", "Cardiopulmonary Resuscitation"),
    "PAH": ("pulmonary arterial hypertension", "Pulmonary Arterial Hypertension"),
    "BP": ("blood pressure", "Blood Pressure"),
    "LDL": ("low-density lipoprotein cholesterol", "Cholesterol, LDL"),
    "HDL": ("high-density lipoprotein cholesterol", "Cholesterol, HDL"),
    # endocrine / metabolic
    "T2DM": ("type 2 diabetes mellitus", "Diabetes Mellitus, Type 2"),
    "GH": ("growth hormone", "Growth Hormone"),
    "GHD": ("growth hormone deficiency", None),
    "T2D": ("type 2 diabetes mellitus", "Diabetes Mellitus, Type 2"),
    "T1DM": ("type 1 diabetes mellitus", "Diabetes Mellitus, Type 1"),
    "T1D": ("type 1 diabetes mellitus", "Diabetes Mellitus, Type 1"),
    "DM": ("diabetes mellitus", "Diabetes Mellitus"),
    "GDM": ("gestational diabetes mellitus", "Diabetes, Gestational"),
    "DKA": ("diabetic ketoacidosis", "Diabetic Ketoacidosis"),
    "HbA1c": ("glycated hemoglobin", "Glycated Hemoglobin"),
    "BMI": ("body mass index", "Body Mass Index"),
    "TSH": ("thyroid-stimulating hormone thyrotropin", "Thyrotropin"),
    "PCOS": ("polycystic ovary syndrome", "Polycystic Ovary Syndrome"),
    "NAFLD": ("non-alcoholic fatty liver disease", "Non-alcoholic Fatty Liver Disease"),
    "NASH": ("non-alcoholic steatohepatitis", "Non-alcoholic Fatty Liver Disease"),
    "MASLD": ("metabolic dysfunction-associated steatotic liver disease", "Non-alcoholic Fatty Liver Disease"),
    # kidney / urology
    "CKD": ("chronic kidney disease", "Renal Insufficiency, Chronic"),
    "ESRD": ("end-stage renal disease", "Kidney Failure, Chronic"),
    "ESKD": ("end-stage kidney disease", "Kidney Failure, Chronic"),
    "AKI": ("acute kidney injury", "Acute Kidney Injury"),
    "GFR": ("glomerular filtration rate", "Glomerular Filtration Rate"),
    "eGFR": ("estimated glomerular filtration rate", "Glomerular Filtration Rate"),
    "UTI": ("urinary tract infection", "Urinary Tract Infections"),
    "BPH": ("benign prostatic hyperplasia", "Prostatic Hyperplasia"),
    "LUTS": ("lower urinary tract symptoms", "Lower Urinary Tract Symptoms"),
    "PSA": ("prostate-specific antigen", "Prostate-Specific Antigen"),
    "TURP": ("transurethral resection of the prostate", "Transurethral Resection of Prostate"),
    # respiratory
    "COPD": ("chronic obstructive pulmonary disease", "Pulmonary Disease, Chronic Obstructive"),
    "ARDS": ("acute respiratory distress syndrome", "Respiratory Distress Syndrome"),
    "OSA": ("obstructive sleep apnea", "Sleep Apnea, Obstructive"),
    "CPAP": ("continuous positive airway pressure", "Continuous Positive Airway Pressure"),
    "IPF": ("idiopathic pulmonary fibrosis", "Idiopathic Pulmonary Fibrosis"),
    "URTI": ("upper respiratory tract infection", "Respiratory Tract Infections"),
    "CAP": ("community-acquired pneumonia", "Community-Acquired Pneumonia"),
    "VAP": ("ventilator-associated pneumonia", "Pneumonia, Ventilator-Associated"),
    "RSV": ("respiratory syncytial virus", "Respiratory Syncytial Virus Infections"),
    "TB": ("tuberculosis", "Tuberculosis"),
    "ECMO": ("extracorporeal membrane oxygenation", "Extracorporeal Membrane Oxygenation"),
    # gastrointestinal / liver
    "GERD": ("gastroesophageal reflux disease", "Gastroesophageal Reflux"),
    "GORD": ("gastro-oesophageal reflux disease", "Gastroesophageal Reflux"),
    "IBS": ("irritable bowel syndrome", "Irritable Bowel Syndrome"),
    "IBD": ("inflammatory bowel disease", "Inflammatory Bowel Diseases"),
    "UC": ("ulcerative colitis", "Colitis, Ulcerative"),
    "GI": ("gastrointestinal", None),
    "GIB": ("gastrointestinal bleeding", "Gastrointestinal Hemorrhage"),
    "HCC": ("hepatocellular carcinoma", "Carcinoma, Hepatocellular"),
    "HBV": ("hepatitis B virus", "Hepatitis B"),
    "HCV": ("hepatitis C virus", "Hepatitis C"),
    "ERCP": ("endoscopic retrograde cholangiopancreatography", "Cholangiopancreatography, Endoscopic Retrograde"),
    "EGD": ("esophagogastroduodenoscopy", "Endoscopy, Digestive System"),
    "PEG": ("percutaneous endoscopic gastrostomy", "Gastrostomy"),
    "TPN": ("total parenteral nutrition", "Parenteral Nutrition, Total"),
    # oncology
    "CRC": ("colorectal cancer", "Colorectal Neoplasms"),
    "NSCLC": ("non-small cell lung cancer", "Carcinoma, Non-Small-Cell Lung"),
    "SCLC": ("small cell lung cancer", "Small Cell Lung Carcinoma"),
    "RCC": ("renal cell carcinoma", "Carcinoma, Renal Cell"),
    "AML": ("acute myeloid leukemia", "Leukemia, Myeloid, Acute"),
    "CML": ("chronic myeloid leukemia", "Leukemia, Myelogenous, Chronic, BCR-ABL Positive"),
    "CLL": ("chronic lymphocytic leukemia", "Leukemia, Lymphocytic, Chronic, B-Cell"),
    "NHL": ("non-Hodgkin lymphoma", "Lymphoma, Non-Hodgkin"),
    "MDS": ("myelodysplastic syndrome", "Myelodysplastic Syndromes"),
    "GIST": ("gastrointestinal stromal tumor", "Gastrointestinal Stromal Tumors"),
    "DCIS": ("ductal carcinoma in situ", "Carcinoma, Intraductal, Noninfiltrating"),
    "HSCT": ("hematopoietic stem cell transplantation", "Hematopoietic Stem Cell Transplantation"),
    "GVHD": ("graft-versus-host disease", "Graft vs Host Disease"),
    # neurology / psychiatry
    "MS": ("multiple sclerosis", "Multiple Sclerosis"),
    "ALS": ("amyotrophic lateral sclerosis", "Amyotrophic Lateral Sclerosis"),
    "TBI": ("traumatic brain injury", "Brain Injuries, Traumatic"),
    "SAH": ("subarachnoid hemorrhage", "Subarachnoid Hemorrhage"),
    "ICH": ("intracerebral hemorrhage", "Cerebral Hemorrhage"),
    "MCI": ("mild cognitive impairment", "Cognitive Dysfunction"),
    "ADHD": ("attention deficit hyperactivity disorder", "Attention Deficit Disorder with Hyperactivity"),
    "ASD": ("autism spectrum disorder", "Autism Spectrum Disorder"),
    "PTSD": ("post-traumatic stress disorder", "Stress Disorders, Post-Traumatic"),
    "OCD": ("obsessive-compulsive disorder", "Obsessive-Compulsive Disorder"),
    "MDD": ("major depressive disorder", "Depressive Disorder, Major"),
    "GAD": ("generalized anxiety disorder", "Anxiety Disorders"),
    "ECT": ("electroconvulsive therapy", "Electroconvulsive Therapy"),
    "CBT": ("cognitive behavioral therapy", "Cognitive Behavioral Therapy"),
    "DBS": ("deep brain stimulation", "Deep Brain Stimulation"),
    "TMS": ("transcranial magnetic stimulation", "Transcranial Magnetic Stimulation"),
    "CSF": ("cerebrospinal fluid", "Cerebrospinal Fluid"),
    "BPPV": ("benign paroxysmal positional vertigo", "Benign Paroxysmal Positional Vertigo"),
    # rheumatology / musculoskeletal
    "RA": ("rheumatoid arthritis", "Arthritis, Rheumatoid"),
    "SLE": ("systemic lupus erythematosus", "Lupus Erythematosus, Systemic"),
    "OA": ("osteoarthritis", "Osteoarthritis"),
    "DEXA": ("dual-energy x-ray absorptiometry", "Absorptiometry, Photon"),
    "DXA": ("dual-energy x-ray absorptiometry", "Absorptiometry, Photon"),
    "BMD": ("bone mineral density", "Bone Density"),
    "TKA": ("total knee arthroplasty", "Arthroplasty, Replacement, Knee"),
    "THA": ("total hip arthroplasty", "Arthroplasty, Replacement, Hip"),
    "ACL": ("anterior cruciate ligament", "Anterior Cruciate Ligament"),
    # infection / immunology
    "HIV": ("human immunodeficiency virus", "HIV Infections"),
    "AIDS": ("acquired immunodeficiency syndrome", "Acquired Immunodeficiency Syndrome"),
    "HPV": ("human papillomavirus", "Papillomavirus Infections"),
    "STI": ("sexually transmitted infection", "Sexually Transmitted Diseases"),
    "STD": ("sexually transmitted disease", "Sexually Transmitted Diseases"),
    "MRSA": ("methicillin-resistant Staphylococcus aureus", "Methicillin-Resistant Staphylococcus aureus"),
    "PID": ("pelvic inflammatory disease", "Pelvic Inflammatory Disease"),
    "BV": ("bacterial vaginosis", "Vaginosis, Bacterial"),
    "SIRS": ("systemic inflammatory response syndrome", "Systemic Inflammatory Response Syndrome"),
    "DIC": ("disseminated intravascular coagulation", "Disseminated Intravascular Coagulation"),
    "HUS": ("hemolytic uremic syndrome", "Hemolytic-Uremic Syndrome"),
    "TTP": ("thrombotic thrombocytopenic purpura", "Purpura, Thrombotic Thrombocytopenic"),
    "SCID": ("severe combined immunodeficiency", "Severe Combined Immunodeficiency"),
    # women's health / obstetrics / paediatrics
    "HRT": ("hormone replacement therapy", "Hormone Replacement Therapy"),
    "IVF": ("in vitro fertilization", "Fertilization in Vitro"),
    "IUD": ("intrauterine device", "Intrauterine Devices"),
    "PPROM": ("preterm premature rupture of membranes", "Premature Rupture of Fetal Membranes"),
    "PROM": ("premature rupture of membranes", "Premature Rupture of Fetal Membranes"),
    "PMS": ("premenstrual syndrome", "Premenstrual Syndrome"),
    "PMDD": ("premenstrual dysphoric disorder", "Premenstrual Dysphoric Disorder"),
    "SIDS": ("sudden infant death syndrome", "Sudden Infant Death"),
    "LBW": ("low birth weight", "Infant, Low Birth Weight"),
    "NICU": ("neonatal intensive care unit", "Intensive Care Units, Neonatal"),
    # eye / ENT
    "AMD": ("age-related macular degeneration", "Macular Degeneration"),
    "IOP": ("intraocular pressure", "Intraocular Pressure"),
    "AOM": ("acute otitis media", "Otitis Media"),
    # tests, imaging, care settings
    "CRP": ("C-reactive protein", "C-Reactive Protein"),
    "ESR": ("erythrocyte sedimentation rate", "Blood Sedimentation"),
    "CBC": ("complete blood count", "Blood Cell Count"),
    "INR": ("international normalized ratio", "International Normalized Ratio"),
    "MRI": ("magnetic resonance imaging", "Magnetic Resonance Imaging"),
    "CT": ("computed tomography", "Tomography, X-Ray Computed"),
    "PET": ("positron emission tomography", "Positron-Emission Tomography"),
    "ICU": ("intensive care unit", "Intensive Care Units"),
    "QoL": ("quality of life", "Quality of Life"),
    "RCT": ("randomized controlled trial", None),
    "NNT": ("number needed to treat", "Numbers Needed To Treat"),
    # drug classes and drugs usually written as abbreviations
    "NSAID": ("non-steroidal anti-inflammatory drug", "Anti-Inflammatory Agents, Non-Steroidal"),
    "NSAIDs": ("non-steroidal anti-inflammatory drugs", "Anti-Inflammatory Agents, Non-Steroidal"),
    "SSRI": ("selective serotonin reuptake inhibitor", "Selective Serotonin Reuptake Inhibitors"),
    "SNRI": ("serotonin-norepinephrine reuptake inhibitor", "Serotonin and Noradrenaline Reuptake Inhibitors"),
    "PPI": ("proton pump inhibitor", "Proton Pump Inhibitors"),
    "ACEI": ("angiotensin-converting enzyme inhibitor", "Angiotensin-Converting Enzyme Inhibitors"),
    "ARB": ("angiotensin receptor blocker", "Angiotensin Receptor Antagonists"),
    "DOAC": ("direct oral anticoagulant", "Anticoagulants"),
    "NOAC": ("non-vitamin K oral anticoagulant", "Anticoagulants"),
    "LMWH": ("low-molecular-weight heparin", "Heparin, Low-Molecular-Weight"),
    "TCA": ("tricyclic antidepressant", "Antidepressive Agents, Tricyclic"),
    "ICS": ("inhaled corticosteroid", None),
    "LABA": ("long-acting beta agonist", "Adrenergic beta-2 Receptor Agonists"),
    "SGLT2": ("sodium-glucose cotransporter 2 inhibitor", "Sodium-Glucose Transporter 2 Inhibitors"),
    "DPP-4": ("dipeptidyl peptidase-4 inhibitor", "Dipeptidyl-Peptidase IV Inhibitors"),
    "ASA": ("acetylsalicylic acid aspirin", "Aspirin"),
    "APAP": ("acetaminophen paracetamol", "Acetaminophen"),
    "HCTZ": ("hydrochlorothiazide", "Hydrochlorothiazide"),
    "MTX": ("methotrexate", "Methotrexate"),
    "IVIG": ("intravenous immunoglobulin", "Immunoglobulins, Intravenous"),
    "tPA": ("tissue plasminogen activator alteplase", "Tissue Plasminogen Activator"),
    "OCP": ("oral contraceptive pill", "Contraceptives, Oral"),
    "TNF": ("tumor necrosis factor", "Tumor Necrosis Factor-alpha"),
}

#: upper-case keys that are also English words: skipped when the question is written in capitals
_WORDLIKE = frozenset({"PE", "MS", "CAP", "PAD", "CAD", "PET", "PEG", "GAD", "ACE", "TB", "DM", "GI"})

#: lay wordings → MeSH preferred label (origin "mesh"); matched case-insensitively as phrases
LAY_TERMS: dict[str, str] = {
    "heart attack": "Myocardial Infarction",
    "high blood pressure": "Hypertension",
    "kidney failure": "Renal Insufficiency",
    "kidney disease": "Kidney Diseases",
    "dialysis": "Renal Dialysis",
    "hemodialysis": "Renal Dialysis",
    "haemodialysis": "Renal Dialysis",
    "heartburn": "Gastroesophageal Reflux",
    "acid reflux": "Gastroesophageal Reflux",
    "high cholesterol": "Hypercholesterolemia",
    "blood clot": "Thrombosis",
    "blood thinner": "Anticoagulants",
    "blood thinners": "Anticoagulants",
    "water pill": "Diuretics",
    "water pills": "Diuretics",
    "birth control pill": "Contraceptives, Oral",
    "birth control pills": "Contraceptives, Oral",
    "sugar diabetes": "Diabetes Mellitus",
    "mini-stroke": "Ischemic Attack, Transient",
    "pink eye": "Conjunctivitis",
    "shingles": "Herpes Zoster",
    "chickenpox": "Chickenpox",
    "flu": "Influenza, Human",
}

#: everyday words → the words clinical and patient pages use for them (origin "lay"); matched
#: case-insensitively as whole-word phrases. Each wording is searched for and counts, in the composer,
#: as the question's own word ("bad breath" is answered by a sentence on "halitosis").
LAY_WORDS: dict[str, tuple[str, ...]] = {
    "kids": ("children",), "kid": ("child",), "toddler": ("child",), "toddlers": ("children",),
    "tummy": ("abdominal", "stomach"), "belly": ("abdominal", "stomach"),
    "pee": ("urine", "urination"), "peeing": ("urination",), "poop": ("stool", "bowel movement"),
    "throw up": ("vomiting",), "throwing up": ("vomiting",), "puke": ("vomiting",),
    "shot": ("injection", "vaccine"), "shots": ("injections", "vaccines"),
    "seasick": ("motion sickness",), "carsick": ("motion sickness",), "airsick": ("motion sickness",),
    "seasickness": ("motion sickness",), "carsickness": ("motion sickness",),
    "pass it on": ("inherit",), "pass it to": ("inherit",), "passed down": ("inherited",),
    "back to normal": ("recover", "recovery", "prognosis"), "get better": ("recover", "recovery", "prognosis"),
    "quit": ("stop", "cessation"), "quitting": ("stopping", "cessation"),
    "dizzy": ("dizziness", "vertigo"), "itchy": ("itching",), "lump": ("mass", "nodule"),
    "nosebleed": ("epistaxis",), "nosebleeds": ("epistaxis",), "bedwetting": ("enuresis",),
    "lazy eye": ("amblyopia",), "crossed eyes": ("strabismus",), "hives": ("urticaria",),
    "cold sore": ("herpes labialis", "fever blister"), "cold sores": ("herpes labialis", "fever blisters"),
    "canker sore": ("aphthous",), "canker sores": ("aphthous",), "bad breath": ("halitosis",),
    "hay fever": ("allergic rhinitis",), "shortness of breath": ("dyspnea",), "short of breath": ("dyspnea",),
    "fainting": ("syncope",), "fainted": ("syncope",), "passed out": ("syncope", "fainting"),
    "sore throat": ("pharyngitis",), "ear infection": ("otitis media",), "ear infections": ("otitis media",),
    "lice": ("pediculosis",), "ringworm": ("tinea",), "whooping cough": ("pertussis",),
    "german measles": ("rubella",), "lockjaw": ("tetanus",), "slapped cheek": ("fifth disease", "parvovirus"),
    "ringing in the ears": ("tinnitus",), "ringing in my ears": ("tinnitus",), "ringing ears": ("tinnitus",),
    "bed sores": ("pressure ulcers",), "bedsores": ("pressure ulcers",), "pressure sores": ("pressure ulcers",),
    "low blood sugar": ("hypoglycemia",), "high blood sugar": ("hyperglycemia",), "blood sugar": ("glucose",),
    "underactive thyroid": ("hypothyroidism",), "overactive thyroid": ("hyperthyroidism",),
    "enlarged prostate": ("benign prostatic hyperplasia",), "irregular heartbeat": ("arrhythmia",),
    "chemo": ("chemotherapy",), "pins and needles": ("paresthesia", "tingling"),
    "painkillers": ("analgesics", "pain relievers"), "painkiller": ("analgesic", "pain reliever"),
    "sleeping pills": ("hypnotics", "sleep medicines"), "bowel cancer": ("colorectal cancer",),
    "water on the brain": ("hydrocephalus",), "tooth decay": ("caries", "cavities"),
    "gum disease": ("periodontal disease",), "stuffy nose": ("nasal congestion",), "runny nose": ("rhinorrhea",),
}

#: US ↔ international generic names; a drug expansion to one also adds the other
_GENERIC_PAIRS = {
    "acetaminophen": "paracetamol",
    "albuterol": "salbutamol",
    "epinephrine": "adrenaline",
    "norepinephrine": "noradrenaline",
    "meperidine": "pethidine",
    "glyburide": "glibenclamide",
    "cyclosporine": "ciclosporin",
    "rifampin": "rifampicin",
    "lidocaine": "lignocaine",
    "isoproterenol": "isoprenaline",
    "furosemide": "frusemide",
}
_GENERIC_PAIRS.update({v: k for k, v in list(_GENERIC_PAIRS.items())})

#: drug-dictionary variants that are common words, lab jargon or wrong mappings in context
_DRUG_BLOCKLIST = frozenset(
    """
    luminal phospholipids indicators reagents sone dona rela alli aman azol ogen poxi zide edex
    kaon urso avil ajan sulp agit zyma serc ismo dalf ulco fras merosin cortisol interleukin-2
    interleukin indicator reagent marijuana antibiotics antibiotic statin statins opioid opioids
    il-2 il-4 anti-cd3 dnase copal
    """.split()
) | {"vitamin d", "pancreatic lipase", "thyroid gland"}
_SALT_WORDS = frozenset(
    "chloride hydrochloride hcl sodium potassium sulfate sulphate acetate bromide citrate phosphate maleate "
    "tartrate mesylate succinate fumarate besylate calcium magnesium b".split()
)
#: drug-dictionary canonicals whose synonyms are too broad to expand into
_DRUG_CANONICAL_BLOCKLIST = frozenset({"estrogen", "omega-3 fatty acids"})

