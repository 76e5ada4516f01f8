#!/usr/bin/env python3
"""Writes realistic packaging manifests for the benchmarks.

Half JSON (Metrc's create-package array or batchgate's envelope), half CSV (batchgate's header or
the Track & Trace Tools template), each with 1 to 20 packages of 1 to 5 ingredients. Seeded, so
every run of the same count writes the same files.

    bench/generate_manifests.py OUT_DIR [COUNT] [--seed N]
"""
import argparse
import csv
import io
import json
import os
import random

CATALOG = [
    ("Blue Dream Buds", "Buds"), ("Gelato Buds", "Buds"), ("OG Kush Buds", "Buds"),
    ("Blue Dream Shake", "Shake/Trim"), ("Gelato Trim", "Shake/Trim"),
    ("Blue Dream Live Resin", "Concentrate"), ("Gelato Distillate", "Concentrate"), ("House Kief", "Kief"),
    ("Gelato 1g Vape Cart", "Vape Cart"), ("Blue Dream 1g Pre-Roll", "Pre-Roll Flower"),
    ("Gelato Infused Pre-Roll", "Infused Pre-Roll"), ("Cherry Gummies 10pk", "Infused Edible"),
    ("Relief Balm 2oz", "Infused Non-Edible"), ("Sleep Tincture 30ml", "Tincture (volume - each)"),
]
STEPS = [None, None, "Repackage", "Extraction", "Infusion", "Distillation", "Rolling", "Split"]
ADDITIVES = ["Sugar", {"Name": "Limonene", "Kind": "terpene"}, {"Name": "MCT oil", "Kind": "lipid"},
             {"Name": "Cherry flavor", "Kind": "flavoring"}]
UNITS = ["Grams", "Each", "Ounces", "Milliliters"]


def tag(rng, prefix="1A4FF0300000022"):
    return prefix + "%09d" % rng.randrange(10**9)


def package(rng, index):
    item, category = rng.choice(CATALOG)
    same = rng.random() < 0.35
    ingredients = []
    for _ in range(rng.randint(1, 5)):
        source_item, source_category = (item, category) if same else rng.choice(CATALOG)
        ingredients.append({
            "Package": tag(rng, "1A4FF0100000022"), "Quantity": round(rng.uniform(1, 500), 2),
            "UnitOfMeasure": rng.choice(UNITS), "Item": source_item, "ItemCategory": source_category,
        })
    marked = rng.random() < 0.5
    result = {
        "Tag": tag(rng), "Location": rng.choice([None, "Vault", "Extraction Room"]), "Sublocation": None,
        "Item": item, "ItemCategory": category, "Quantity": round(rng.uniform(1, 1000), 2),
        "UnitOfMeasure": rng.choice(UNITS), "PatientLicenseNumber": None,
        "Note": rng.choice([None, "Morning run", "Line 2, \"B\" shift"]),
        "IsProductionBatch": marked, "ProductionBatchNumber": ("PB-%05d" % index) if marked else None,
        "IsDonation": False, "IsTradeSample": False, "IsFinishedGood": False, "ProductRequiresRemediation": False,
        "UseSameItem": False, "ActualDate": "2025-%02d-%02d" % (rng.randint(1, 12), rng.randint(1, 28)),
        "ExpirationDate": None, "SellByDate": None, "UseByDate": None, "Ingredients": ingredients,
        "RequiredLabTestBatches": None, "ProcessingJobTypeId": None, "LabTestStageId": None,
    }
    step = rng.choice(STEPS)
    if step:
        result["ProcessingStep"] = step
    if rng.random() < 0.15:
        result["Additives"] = [rng.choice(ADDITIVES)]
    return result


def as_json(rng, packages):
    if rng.random() < 0.5:
        return json.dumps(packages, indent=2)
    return json.dumps({"LicenseNumber": "PR-000123", "Facility": "North", "Source": "bench",
                       "Packages": packages}, indent=2)


def as_csv(rng, packages):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    template = rng.random() < 0.5
    if template:
        writer.writerow(["New Package Tag", "Source Package Tag", "Source Package Quantity Used",
                         "Source Package Quantity Unit of Measure", "Location Name", "Item Name",
                         "New Package Quantity", "New Package Unit", "Packaged Date", "Note",
                         "Production Batch Number", "Is Donation?", "Item Category", "Source Item",
                         "Source Item Category", "Additives", "Process"])
    else:
        writer.writerow(["Tag", "Item", "Category", "Quantity", "UoM", "Production Batch", "Production Batch #",
                         "Date", "Location", "Note", "Source Tag", "Source Item", "Source Category",
                         "Source Quantity", "Source UoM", "Additives", "Process"])
    for p in packages:
        additives = "|".join(a if isinstance(a, str) else "%s: %s" % (a["Kind"], a["Name"])
                             for a in p.get("Additives", []))
        for i in p["Ingredients"]:
            if template:
                writer.writerow([p["Tag"], i["Package"], i["Quantity"], i["UnitOfMeasure"], p["Location"] or "",
                                 p["Item"], p["Quantity"], p["UnitOfMeasure"], p["ActualDate"], p["Note"] or "",
                                 p["ProductionBatchNumber"] or "", "No", p["ItemCategory"], i["Item"],
                                 i["ItemCategory"], additives, p.get("ProcessingStep") or ""])
            else:
                writer.writerow([p["Tag"], p["Item"], p["ItemCategory"], p["Quantity"], p["UnitOfMeasure"],
                                 "yes" if p["IsProductionBatch"] else "no", p["ProductionBatchNumber"] or "",
                                 p["ActualDate"], p["Location"] or "", p["Note"] or "", i["Package"], i["Item"],
                                 i["ItemCategory"], i["Quantity"], i["UnitOfMeasure"], additives,
                                 p.get("ProcessingStep") or ""])
    return out.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("count", type=int, nargs="?", default=10_000)
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    total = 0
    for n in range(args.count):
        packages = [package(rng, n * 100 + k) for k in range(rng.randint(1, 20))]
        if n % 2 == 0:
            name, text = "m%05d.json" % n, as_json(rng, packages)
        else:
            name, text = "m%05d.csv" % n, as_csv(rng, packages)
        with open(os.path.join(args.out, name), "w", encoding="utf-8", newline="") as f:
            f.write(text)
        total += len(text.encode())
    print("wrote %d manifests, %.1f MB, to %s" % (args.count, total / 1e6, args.out))


if __name__ == "__main__":
    main()
