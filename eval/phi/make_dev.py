"""Rebuild phi_dev.txt: PHI items for developing the guard, from templates and value pools (fixed seed).

The held-out file (phi_heldout.txt) is hand-written with other templates and values.

    .venv/bin/python eval/phi/make_dev.py
"""

from __future__ import annotations

import random
from pathlib import Path

HERE = Path(__file__).resolve().parent

FIRST = ["John", "Mary", "Aisha", "Wei", "Priya", "Olufemi", "Siddharth", "Ewa", "Mateo", "Ingrid", "Kofi",
         "Yusuf", "Svetlana", "Hannah", "Tomasz", "Camille", "Darnell", "Keiko", "Rafael", "Leilani", "Bartholomew",
         "Zainab", "Agnieszka", "Eamon", "Mei", "Arjun", "Fiona", "Nkechi", "Pedro", "Astrid"]
LAST = ["Smith", "Okafor", "Zhang", "Kowalczyk", "Fernandes", "Lindqvist", "Mensah", "Haddad", "Ivanova",
        "Gallagher", "Nakamura", "Delacroix", "Abernathy", "Szymański", "Venkataraman", "Otieno", "McAllister",
        "Papadopoulos", "Rosenbaum", "Achterberg"]
SCRIPT = ["李娜", "张伟", "Иван Смирнов", "Ольга", "محمد الأحمد", "فاطمة", "김민준", "佐藤健", "דוד כהן", "राहुल शर्मा"]
CLIN = ["has type 2 diabetes, is metformin safe?", "needs a dose of amoxicillin for otitis media",
        "is on warfarin with an INR of 4.2, what now?", "has a migraine, can she take sumatriptan?",
        "with eGFR 28, which DOAC dose?", "has community-acquired pneumonia, CURB-65 2",
        "asks whether statins cause muscle pain", "has new atrial fibrillation",
        "on lithium with a tremor, check the level?", "with asthma, step up to ICS/LABA?"]


def items(rng: random.Random) -> list[str]:
    out: list[str] = []
    add = out.append
    c = lambda: rng.choice(CLIN)  # noqa: E731
    for i in range(30):
        f, l = rng.choice(FIRST), rng.choice(LAST)
        form = i % 10
        if form == 0:
            add(f"[[names:{f} {l}]] {c()}")
        elif form == 1:
            add(f"patient [[names:{f.lower()} {l.lower()}]] {c()}")
        elif form == 2:
            add(f"Mr. [[names:{l}]] {c()}")
        elif form == 3:
            add(f"my name is [[names:{f.lower()}]] and my mother {c()}")
        elif form == 4:
            add(f"pt [[names:{f[0]}.{l[0]}.]] {c()}")
        elif form == 5:
            add(f"Patient [[names:{rng.choice(SCRIPT)}]] {c()}")
        elif form == 6:
            add(f"my wife [[names:{f}]] {c()}")
        elif form == 7:
            add(f"Question about [[names:{f} {l}]], who {c()}")
        elif form == 8:
            add(f"{c()} Thanks, [[names:{f}]]")
        else:
            add(f"Dr [[names:{l.upper()}]] asks: {c()}")
    for s in SCRIPT:
        add(f"[[names:{s}]] {c()}")
    add("patient [[names:john smith]] is 45 and on warfarin")
    add("[[names:J.S.]], 50, with gout: allopurinol or febuxostat?")
    add("My name is [[names:Oluwadamilare]] and I have sickle cell disease")
    add("the patient, [[names:Xochitl]], has a UTI in pregnancy")
    streets = ["Main Street", "Oak Avenue", "Maple Rd", "Sunset Boulevard", "Elm St.", "Willow Lane", "Kings Road"]
    cities = ["Springfield", "Boston", "Tucson", "Albuquerque", "Bakersfield", "Duluth", "Savannah"]
    for i in range(16):
        form = i % 8
        num, st, city = rng.randint(2, 9999), rng.choice(streets), rng.choice(cities)
        if form == 0:
            add(f"She lives at [[geographic:{num} {st}]] and {c()}")
        elif form == 1:
            add(f"Address: [[geographic:{num} {st.lower()}]], patient {c()}")
        elif form == 2:
            add(f"He lives in [[geographic:{city}]] and {c()}")
        elif form == 3:
            add(f"patient from [[geographic:{city}, {rng.choice(['MA', 'AZ', 'GA', 'MN'])}]] {c()}")
        elif form == 4:
            add(f"zip code [[geographic:{rng.randint(10000, 99999)}]], patient {c()}")
        elif form == 5:
            add(f"Admitted to [[geographic:St. Mary's Hospital]], patient {c()}")
        elif form == 6:
            add(f"Seen at [[geographic:{city} General Hospital]]; patient {c()}")
        else:
            add(f"[[geographic:{city} County]] resident who {c()}")
    months = ["January", "Feb", "March", "Apr", "June", "Sept", "December"]
    for i in range(24):
        form = i % 8
        m, d, y = rng.randint(1, 12), rng.randint(1, 28), rng.randint(1930, 2024)
        if form == 0:
            add(f"Seen on [[dates:{m}/{d}]] for chest pain, {c()}")
        elif form == 1:
            add(f"DOB [[dates:{m}/{d}/{y}]], {c()}")
        elif form == 2:
            add(f"admitted [[dates:{rng.choice(months)} {d}th]] with sepsis")
        elif form == 3:
            add(f"A [[dates:{rng.randint(90, 104)}-year-old]] woman {c()}")
        elif form == 4:
            add(f"[[dates:{rng.randint(90, 104)} yo]] man {c()}")
        elif form == 5:
            add(f"surgery on [[dates:{d} {rng.choice(months)} {y}]], restart apixaban when?")
        elif form == 6:
            add(f"she is [[dates:{rng.randint(90, 104)}]] years old and {c()}")
        else:
            add(f"last dose on [[dates:{y}-{m:02d}-{d:02d}]], {c()}")
    add("93-year-old patient".replace("93-year-old", "[[dates:93-year-old]]") + " with pneumonia, admit?")
    add("last visit [[dates:3/4]], HbA1c 8.1")
    for i in range(12):
        area, mid, end = rng.randint(201, 989), rng.randint(200, 999), rng.randint(1000, 9999)
        form = i % 4
        if form == 0:
            add(f"call me at [[phone:{area}{mid}{end}]] about my results")
        elif form == 1:
            add(f"Phone: [[phone:({area}) {mid}-{end}]], {c()}")
        elif form == 2:
            add(f"my cell is [[phone:{area}.{mid}.{end}]]")
        else:
            add(f"reach the family on [[phone:+1 {area} {mid} {end}]]")
    add("call [[phone:5551234567]] with the culture result")
    for i in range(6):
        area, mid, end = rng.randint(201, 989), rng.randint(200, 999), rng.randint(1000, 9999)
        add(rng.choice([f"fax [[fax:{area}-{mid}-{end}]] the discharge letter",
                        f"Fax number [[fax:{area}{mid}{end}]], send the ECG"]))
    users = ["jsmith", "maria.garcia", "k_nguyen88", "dr.patel", "tom.b"]
    domains = [("gmail", "com"), ("yahoo", "com"), ("nhs", "net"), ("clinic", "org")]
    for i in range(12):
        u, (d, t) = rng.choice(users), rng.choice(domains)
        form = i % 4
        if form == 0:
            add(f"email [[email:{u}@{d}.{t}]] the results")
        elif form == 1:
            add(f"write to [[email:{u.replace('.', ' dot ')} at {d} dot {t}]]")
        elif form == 2:
            add(f"my address is [[email:{u} [at] {d} [dot] {t}]]")
        else:
            add(f"contact [[email:{u}(at){d}.{t}]] please")
    add("contact [[email:john dot smith at gmail dot com]] about his statin")
    for i in range(8):
        a, b, cc = rng.randint(100, 899), rng.randint(10, 99), rng.randint(1000, 9999)
        add(rng.choice([f"SSN [[ssn:{a}-{b}-{cc}]], {c()}", f"social security number [[ssn:{a}{b}{cc}]]",
                        f"her SSN is [[ssn:{a} {b} {cc}]]"]))
    for i in range(12):
        n = rng.randint(100000, 99999999)
        add(rng.choice([f"MRN [[mrn:{n}]] {c()}", f"medical record number [[mrn:{n}]]",
                        f"chart # [[mrn:{n}]], patient {c()}", f"hospital number [[mrn:H{n}]]",
                        f"patient ID [[mrn:{n}]] {c()}"]))
    mbis = ["1EG4-TE5-MK73", "2AB9CD3EF45", "7KY3-WP2-RT19", "3HJ8NM4KP62"]
    for m in mbis:
        add(f"Medicare ID [[health_plan:{m}]], is the scan covered?")
    add("MBI [[health_plan:1EG4TE5MK73]] on the form")
    for i in range(8):
        n = rng.randint(10000000, 999999999)
        add(rng.choice([f"member ID [[health_plan:XYZ{n}]], covered?", f"policy number [[health_plan:{n}]]",
                        f"Medicaid ID [[health_plan:{n}]] for the prior auth",
                        f"insurance id [[health_plan:W{n}]] does it cover insulin?"]))
    for i in range(8):
        n = rng.randint(1000000, 9999999999)
        add(rng.choice([f"account number [[account:{n}]] billing question", f"acct # [[account:{n}]]",
                        f"billing account [[account:{n}]] for the MRI"]))
    for i in range(8):
        n = rng.randint(100000, 99999999)
        add(rng.choice([f"driver's license [[license:D{n}]], can he drive after syncope?",
                        f"license number [[license:{n}]] for the nurse", f"DEA number [[license:AB{n}]]",
                        f"certificate number [[license:{n}]] on the death certificate"]))
    plates = ["ABC-1234", "7XYZ123", "KX19 BZT", "LR62 WYA", "8DEF456", "WXP 882"]
    for p in plates:
        add(rng.choice([f"licence plate [[vehicle:{p}]], driver had a seizure",
                        f"license plate [[vehicle:{p}]] in the accident", f"car registration [[vehicle:{p}]]"]))
    add("VIN [[vehicle:1M8GDM9AXKP042788]] crash, seatbelt injury")
    add("plate number [[vehicle:5NXT921]] patient collapsed in the car")
    for s in ["PJN123456", "SN-44871-K", "A1B2C3D4E5", "RTX887766", "8812-3344-55"]:
        add(rng.choice([f"pacemaker serial number [[device:{s}]], MRI safe?", f"device serial [[device:{s}]]",
                        f"insulin pump serial no. [[device:{s}]] alarm", f"S/N [[device:{s}]] on the CPAP"]))
    for u in ["https://portal.example.org/p/123", "www.mylupusstory.net", "http://10.0.0.5/chart?id=7",
              "facebook.com/jane.doe.1988"]:
        add(f"see [[url:{u}]] for details")
    for ip in ["192.168.1.20", "172.16.4.9", "8.8.4.4", "2001:db8::42"]:
        add(f"the monitor at [[ip:{ip}]] sent an alarm")
    for b in ["FP-88123-X", "A9F3C2D1E8B74A60", "VP-7731"]:
        add(rng.choice([f"fingerprint ID [[biometric:{b}]]", f"voiceprint [[biometric:{b}]] on file",
                        f"retina scan id [[biometric:{b}]]"]))
    for o in ["STUDY-7781", "CASE-2023-118", "EMP44812", "12345678901234"]:
        add(rng.choice([f"subject ID [[other_id:{o}]] had a rash", f"claim number [[other_id:{o}]] denied",
                        f"employee id [[other_id:{o}]] needlestick", f"reference number [[other_id:{o}]]"]))
    return out


def main() -> None:
    rng = random.Random(1313)
    lines = items(rng)
    header = "# PHI items for developing the guard; built by make_dev.py (held-out: phi_heldout.txt)\n"
    (HERE / "phi_dev.txt").write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    print(len(lines), "items")


if __name__ == "__main__":
    main()
