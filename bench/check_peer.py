#!/usr/bin/env python3
"""The fair peer of `batchgate check`: the contract's rules in one Python process.

    bench/check_peer.py [--items FILE] [--packages FILE] [--item-change WHEN] PATH...
    bench/check_peer.py --compare CHECK_OUTPUT [--peer-output FILE | [options] PATH...]

What it implements (docs/manifests.md and docs/rules.md, as batchgate's core decides them): the
files a folder stands for (regular files in name order, without the names a drop folder ignores);
the format by extension or by the first byte; the 16 MiB cap, UTF-8, NUL bytes and empty files; the
three JSON shapes, property names in any case (a name given twice in two cases is an error), and the
CSV header with every alias, its delimiter (`,`, `;` or tab), blank rows, columns with an empty
header, rows of the wrong width, and rows of one package that disagree; every field check that makes
a package invalid (tags, quantities, units, booleans, dates, additives, ingredients, a tag used
twice, a package made from itself); the categories from the manifest and the items and packages
files; the four rules with every piece of evidence they read (category-change, multiple-categories,
additive with its word list, denials and exceptions, form-change with steps, product forms, the item
change of concentrates and `--item-change`, and forms named in item names); the status of each
package and the manifest's decision; and the checks before Metrc that reject by default and that
catalog files can decide: tag-in-use, source-inactive, source-on-hold, source-over-used (summed over
the manifest, units converted), ingredient-unit and package-unit.

What it leaves out, on purpose (a peer of what check decides, not of how it explains it): messages,
line numbers, evidence, fixes and warnings; the checks that only warn (they never change a
decision); `--check`, `--additive-words`, `--same-form-steps` and `--config` (the defaults only);
Metrc's API and its cache; the diagnosis of catalog files that batchgate refuses; the caps on
values, members, cells, ingredients and issues beyond the package count (no file near them is a real
manifest). And where the standard library reads differently from batchgate's strict readers, the
peer takes the library's reading: a JSON name repeated in the same case (`json` keeps the last),
`NaN` and `Infinity`, a CSV quote in the middle of a cell or spaces before an opening quote, a
delimiter inside quotes on the header line, and Unicode letters beyond ASCII in names and words
(Python's `\\w` and `lower()` against Swift's characters): deliberately broken files of these kinds
may be decided differently.

It is written as a Python engineer would write it for production, to be a fair peer: the standard
library's parsers, precompiled regular expressions, dict and set look-ups, one pass over each file;
no multiprocessing and no tuning beyond that.

Output: one JSON line per file, `{"file", "decision", "packages": [{"tag", "status", "rules"}]}`.
With --compare, it checks that its decisions, statuses and rule ids equal those of a
`batchgate check --format json` output for every file, prints each disagreement and exits 1 if
there is one.
"""
import argparse
import csv
import datetime
import io
import json
import os
import re
import sys

MAXIMUM_SIZE = 16 * 1024 * 1024
MAXIMUM_PACKAGES = 10_000
IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".filepart", ".crdownload", "~")
WHITESPACE = " \t\r\n"


def key(text):
    """Names compare trimmed and in any case."""
    return text.strip().lower()


# MARK: Field syntax

TAG = re.compile(r"[A-Za-z0-9]{24}")
DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
ADDITIVE_KINDS = {"additive", "lipid", "flavoring", "terpene", "other"}
NO_ADDITIVE = {"none", "n/a", "na", "-", "nothing", "no", "nil", "null"}
CSV_TRUE = {"true", "yes", "y", "1", "x"}
CSV_FALSE = {"false", "no", "n", "0", ""}


def tag_of(raw):
    """A Metrc tag (24 letters A-Z and digits, upper-cased), or None."""
    text = raw.strip()
    return text.upper() if TAG.fullmatch(text) else None


def is_date(raw, us_form):
    text = raw.strip()
    match = ISO_DATE.fullmatch(text)
    if match:
        year, month, day = map(int, match.groups())
    elif us_form and (match := US_DATE.fullmatch(text)):
        month, day, year = map(int, match.groups())
    else:
        return False
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return year >= 1900


def decimal(raw):
    """A CSV number: digits with an optional point and sign; None otherwise."""
    text = raw.strip()
    return float(text) if DECIMAL.fullmatch(text) else None


def csv_bool(raw):
    word = raw.strip().lower()
    return True if word in CSV_TRUE else False if word in CSV_FALSE else None


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# MARK: The manifest model

class Ingredient:
    __slots__ = ("tag", "quantity", "unit", "item", "category")

    def __init__(self):
        self.tag = self.quantity = self.unit = self.item = self.category = None


class Package:
    """One new package as read; `bad` when a field error makes it invalid."""
    __slots__ = ("tag", "item", "category", "quantity", "unit", "is_production_batch", "batch_number",
                 "use_same_item", "note", "additives", "step", "ingredients", "bad")

    def __init__(self):
        self.tag = self.item = self.category = self.quantity = self.unit = None
        self.is_production_batch = self.batch_number = self.note = self.additives = self.step = None
        self.use_same_item = False
        self.ingredients = []
        self.bad = False

    @property
    def is_marked(self):
        if self.is_production_batch is not None:
            return self.is_production_batch
        return bool(self.batch_number and self.batch_number.strip())


class Unreadable(Exception):
    """The file cannot be evaluated at all: the manifest is rejected with no package."""


# MARK: JSON manifests

def fields_of(obj, owner):
    """The object's members by lower-cased name (the first of a name given twice, which spoils `owner`)."""
    fields = {name.lower(): value for name, value in reversed(obj.items())}
    if len(fields) != len(obj):
        owner.bad = True
    return fields


def optional_text(value, owner):
    """Text that may be left out: None when absent, null or blank; anything else than text is an error."""
    if value is None:
        return None
    if type(value) is not str:
        owner.bad = True
        return None
    return value if value.strip() else None


def required_tag(value, owner):
    tag = tag_of(value) if type(value) is str else None
    if tag is None:
        owner.bad = True
    return tag


def quantity(value, owner):
    if is_number(value) and value > 0:
        return value
    owner.bad = True
    return None


def required_unit(value, owner):
    if type(value) is str and value.strip():
        return value.strip()
    owner.bad = True
    return None


def optional_bool(value, owner):
    if value is None or type(value) is bool:
        return value
    owner.bad = True
    return None


def json_additives(fields, package):
    value = fields.get("additives")
    if value is None:
        return None
    if type(value) is not list:
        package.bad = True
        return []
    additives = []
    for entry in value:
        if type(entry) is str:
            if entry.strip():
                additives.append((entry.strip(), "additive"))
            else:
                package.bad = True
        elif type(entry) is dict:
            members = fields_of(entry, package)
            name = members.get("name")
            kind = members.get("kind")
            if kind is None:
                kind = "additive"
            elif type(kind) is not str or kind.strip().lower() not in ADDITIVE_KINDS:
                package.bad = True
                continue
            if type(name) is str and name.strip():
                additives.append((name.strip(), kind.strip().lower()))
            else:
                package.bad = True
        else:
            package.bad = True
    return additives


def json_package(element):
    package = Package()
    if type(element) is not dict:
        package.bad = True
        return package
    fields = fields_of(element, package)
    package.tag = required_tag(fields.get("tag"), package)
    package.use_same_item = optional_bool(fields.get("usesameitem"), package) or False
    item = fields.get("item")
    if type(item) is str and item.strip():
        package.item = item.strip()
    elif item is not None and type(item) is not str or not package.use_same_item:
        package.bad = True
    package.category = optional_text(fields.get("itemcategory"), package)
    package.category = package.category and package.category.strip()
    package.quantity = quantity(fields.get("quantity"), package)
    package.unit = required_unit(fields.get("unitofmeasure"), package)
    package.is_production_batch = optional_bool(fields.get("isproductionbatch"), package)
    package.batch_number = optional_text(fields.get("productionbatchnumber"), package)
    date = optional_text(fields.get("actualdate"), package)
    if date is not None and not is_date(date, us_form=False):
        package.bad = True
    note = fields.get("note")
    package.note = note if type(note) is str and note else None
    package.step = optional_text(fields.get("processingstep"), package)
    package.additives = json_additives(fields, package)
    ingredients = fields.get("ingredients")
    if type(ingredients) is not list or not ingredients:
        package.bad = True
        ingredients = ingredients if type(ingredients) is list else []
    for element in ingredients:
        ingredient = Ingredient()
        package.ingredients.append(ingredient)
        if type(element) is not dict:
            package.bad = True
            continue
        members = fields_of(element, package)
        ingredient.tag = required_tag(members.get("package"), package)
        ingredient.quantity = quantity(members.get("quantity"), package)
        ingredient.unit = required_unit(members.get("unitofmeasure"), package)
        item = optional_text(members.get("item"), package)
        ingredient.item = item and item.strip()
        category = optional_text(members.get("itemcategory"), package)
        ingredient.category = category and category.strip()
    return package


def read_json(text):
    """The packages of a JSON manifest, and whether the manifest itself has an error."""
    try:
        root = json.loads(text)
    except ValueError:
        raise Unreadable from None
    manifest_error = False
    if type(root) is list:
        elements = root
    elif type(root) is dict:
        lowered = {name.lower(): value for name, value in reversed(root.items())}
        if "packages" in lowered:
            elements = lowered["packages"]
            if type(elements) is not list:
                raise Unreadable
            manifest_error = len(lowered) != len(root) or any(
                lowered.get(name) is not None and type(lowered[name]) is not str
                for name in ("licensenumber", "facility", "source"))
        else:
            elements = [root]
    else:
        raise Unreadable
    if len(elements) > MAXIMUM_PACKAGES:
        raise Unreadable
    return [json_package(element) for element in elements], manifest_error


# MARK: CSV manifests

def header_key(name):
    """A header name as the columns are looked up: letters and digits, lower-case, `#` as Number."""
    return re.sub(r"[\W_]", "", name.replace("#", "number").lower())


COLUMN_NAMES = {
    "Tag": ["Package Tag", "New Package Tag", "Label"],
    "Item": ["Item Name"],
    "ItemCategory": ["Category", "Item Category"],
    "Quantity": ["Qty", "New Package Quantity"],
    "UnitOfMeasure": ["Unit of Measure", "UoM", "Unit", "New Package Unit"],
    "IsProductionBatch": ["Production Batch", "Is Production Batch"],
    "ProductionBatchNumber": ["Production Batch Number", "Production Batch #", "Batch Number", "P.B. No."],
    "ActualDate": ["Package Date", "Packaged Date", "Date"],
    "Location": ["Location Name"],
    "Note": ["Notes"],
    "UseSameItem": ["Use Same Item"],
    "IngredientPackage": ["Source Package", "Source Package Tag", "Source Tag"],
    "IngredientItem": ["Source Item"],
    "IngredientItemCategory": ["Source Category", "Source Item Category"],
    "IngredientQuantity": ["Source Quantity", "Source Package Quantity", "Source Package Quantity Used"],
    "IngredientUnitOfMeasure": ["Source Unit of Measure", "Source UoM", "Source Unit", "Source Package Unit",
                                "Source Package Quantity Unit of Measure"],
    "Additives": [],
    "ProcessingStep": ["Process"],
}
COLUMN_OF_HEADER = {header_key(name): column for column, aliases in COLUMN_NAMES.items() for name in [column] + aliases}
REQUIRED_COLUMNS = ("Tag", "Quantity", "UnitOfMeasure", "IngredientPackage", "IngredientQuantity",
                    "IngredientUnitOfMeasure")
PACKAGE_COLUMNS = [column for column in COLUMN_NAMES if column != "Tag" and not column.startswith("Ingredient")]
BOOLEAN_COLUMNS = ("IsProductionBatch", "UseSameItem")


def cells_agree(a, b, column):
    """Whether two cells of one package-level column say the same."""
    if a == b:
        return True
    if column == "Quantity":
        x, y = decimal(a), decimal(b)
        return x is not None and x == y
    if column in BOOLEAN_COLUMNS:
        x, y = csv_bool(a), csv_bool(b)
        return x is not None and x == y
    if column == "ActualDate":
        return is_date(a, us_form=True) and is_date(b, us_form=True) and us_to_iso(a) == us_to_iso(b)
    if column in ("Item", "ItemCategory", "UnitOfMeasure", "ProcessingStep"):
        return a.lower() == b.lower()
    return False


def us_to_iso(text):
    text = text.strip()
    match = US_DATE.fullmatch(text)
    return "%04d-%02d-%02d" % (int(match[3]), int(match[1]), int(match[2])) if match else text


def csv_quantity(cell, package):
    number = decimal(cell) if cell is not None else None
    if number is None or number <= 0:
        package.bad = True
        return None
    return number


def csv_additives(cell, package):
    additives = []
    for entry in re.split(r"[;|]", cell):
        text = entry.strip()
        if not text:
            continue
        word, colon, name = text.partition(":")
        if not colon:
            additives.append((text, "additive"))
            continue
        kind, name = word.strip().lower(), name.strip()
        if kind not in ADDITIVE_KINDS or not name:
            package.bad = True
            continue
        additives.append((name, kind))
    return additives


def delimiter_of(text):
    """The delimiter the header (the first line that is not blank) uses most (`,` on a tie)."""
    start = len(text) - len(text.lstrip(WHITESPACE))
    line_start = max(text.rfind("\n", 0, start), text.rfind("\r", 0, start)) + 1
    header = text[line_start:].split("\n", 1)[0].split("\r", 1)[0]
    counts = {delimiter: header.count(delimiter) for delimiter in ",;\t"}
    return max(",;\t", key=lambda delimiter: (counts[delimiter], delimiter == ","))


def read_csv(text):
    """The packages of a CSV manifest, and whether the manifest itself has an error."""
    try:
        records = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text), strict=True)
                   if any(cell.strip() for cell in row)]
    except csv.Error:
        raise Unreadable from None
    if not records:
        raise Unreadable
    header, rows = records[0], records[1:]
    width = len(header)
    index_of = {}
    for index, name in enumerate(header):
        column = COLUMN_OF_HEADER.get(header_key(name.strip())) if name.strip() else None
        if column in index_of:
            raise Unreadable
        if column:
            index_of[column] = index
        elif not name.strip() and any(index < len(row) and row[index].strip() for row in rows):
            raise Unreadable
    if any(column not in index_of for column in REQUIRED_COLUMNS):
        raise Unreadable

    def cell(column, row):
        index = index_of.get(column)
        value = row[index].strip() if index is not None else ""
        return value or None

    manifest_error = False
    groups = {}  # upper-cased tag cell -> [package-level cells, rows, bad]
    tag_index = index_of["Tag"]
    for row in rows:
        if len(row) != width:
            group_key = row[tag_index].strip().upper() if tag_index < len(row) else ""
            if group_key:
                groups.setdefault(group_key, [{}, [], False])[2] = True
            else:
                manifest_error = True
            continue
        raw_tag = cell("Tag", row)
        if raw_tag is None:
            manifest_error = True
            continue
        group = groups.setdefault(raw_tag.upper(), [{}, [], False])
        first = group[0]
        for column in PACKAGE_COLUMNS:
            value = cell(column, row)
            if value is None:
                if column not in BOOLEAN_COLUMNS or column not in index_of:
                    continue
                value = ""
            if column not in first:
                first[column] = value
            elif not cells_agree(first[column], value, column):
                group[2] = True
        group[1].append(row)
    if len(groups) > MAXIMUM_PACKAGES:
        raise Unreadable

    packages = []
    for group_key, (first, group_rows, bad) in groups.items():
        package = Package()
        packages.append(package)
        package.bad = bad
        if not group_rows:
            continue
        value = {column: cell for column, cell in first.items() if cell}.get
        package.tag = required_tag(group_key, package)
        if value("UseSameItem") is not None:
            flag = csv_bool(value("UseSameItem"))
            package.bad |= flag is None
            package.use_same_item = bool(flag)
        package.item = value("Item")
        package.bad |= package.item is None and not package.use_same_item
        package.category = value("ItemCategory")
        package.quantity = csv_quantity(value("Quantity"), package)
        package.unit = value("UnitOfMeasure")
        package.bad |= package.unit is None
        package.batch_number = value("ProductionBatchNumber")
        if "IsProductionBatch" in index_of:
            # With the column, an empty cell means false; without it, the number marks the batch.
            flag = csv_bool(value("IsProductionBatch") or "")
            package.bad |= flag is None
            package.is_production_batch = bool(flag)
        if value("ActualDate") is not None and not is_date(value("ActualDate"), us_form=True):
            package.bad = True
        package.note = value("Note")
        package.step = value("ProcessingStep")
        if value("Additives") is not None:
            package.additives = csv_additives(value("Additives"), package)
        elif "Additives" in index_of:
            package.additives = []  # an empty Additives cell says nothing was added
        for row in group_rows:
            ingredient = Ingredient()
            package.ingredients.append(ingredient)
            raw = cell("IngredientPackage", row)
            ingredient.tag = tag_of(raw) if raw else None
            package.bad |= ingredient.tag is None
            ingredient.quantity = csv_quantity(cell("IngredientQuantity", row), package)
            ingredient.unit = cell("IngredientUnitOfMeasure", row)
            package.bad |= ingredient.unit is None
            ingredient.item = cell("IngredientItem", row)
            ingredient.category = cell("IngredientItemCategory", row)
    return packages, manifest_error


# MARK: Files

def is_ignored(name):
    return not name or name.startswith(".") or name.lower().endswith(IGNORED_SUFFIXES)


def paths_of(named):
    """Each path named, a folder standing for its regular files in name order, as `check` does."""
    paths = []
    for path in named:
        if os.path.isdir(path):
            prefix = path if path.endswith("/") else path + "/"
            with os.scandir(path) as entries:
                names = [entry.name for entry in entries if entry.is_file(follow_symlinks=False)]
            paths += [prefix + name for name in sorted(names) if not is_ignored(name)]
        else:
            paths.append(path)
    return paths


def read_manifest(path, data):
    """The packages of a manifest file's bytes, and whether the manifest itself has an error.
    Raises Unreadable for a file that cannot be evaluated at all."""
    if len(data) > MAXIMUM_SIZE:
        raise Unreadable
    base = path.rsplit("/", 1)[-1]
    extension = base.rsplit(".", 1)[1].lower() if "." in base else ""
    if extension not in ("json", "csv", "txt", ""):
        raise Unreadable
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable from None
    if "\0" in text or not text.strip(WHITESPACE):
        raise Unreadable
    if extension in ("txt", ""):
        extension = "json" if text.lstrip(WHITESPACE)[:1] in ("[", "{") else "csv"
    return read_json(text) if extension == "json" else read_csv(text)


# MARK: The catalog

class Record:
    """One package of the packages file, with what the checks before Metrc read."""
    __slots__ = ("item", "category", "quantity", "unit", "is_on_hold", "is_finished", "finished_date",
                 "archived_date", "item_quantity_type", "has_stock_or_state")


class Catalog:
    def __init__(self, items=(), packages=()):
        self.items = {}  # item key -> (category, quantity type)
        self.packages = {}  # tag -> Record
        for name, category, quantity_type in items:
            self.items.setdefault(key(name), (category, quantity_type))
        for tag, record in packages:
            self.packages.setdefault(tag, record)

    def category_of_item(self, name):
        found = self.items.get(key(name))
        return found[0] if found else None


QUANTITY_TYPES = {"weightbased": "WeightBased", "countbased": "CountBased", "volumebased": "VolumeBased"}


def catalog_rows(path):
    """The records of a catalog file, JSON (Metrc's answer) or CSV, as dicts by normalised name;
    a JSON record's nested `Item` under "item" as such a dict."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8-sig")
    if text.lstrip(WHITESPACE)[:1] in ("[", "{"):
        root = json.loads(text)
        if type(root) is dict:
            root = next(value for name, value in root.items() if name.lower() == "data")
        rows = []
        for record in root:
            row = {}
            for name, value in record.items():
                name = header_key(name)
                if type(value) is str:
                    value = value.strip()
                elif type(value) is dict and name == "item":
                    value = {header_key(k): v.strip() for k, v in value.items() if type(v) is str}
                elif type(value) is not bool and not is_number(value):
                    continue
                row[name] = value
            rows.append(row)
        return rows
    records = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text))
               if any(cell.strip() for cell in row)]
    if not records:
        return []
    names = [header_key(name) for name in records[0]]
    return [{name: cell.strip() for name, cell in zip(names, row) if name} for row in records[1:]]


def lookup(row, *names, kind=str):
    """The first of `names` the row gives a value of `kind` for (text: not blank)."""
    for name in names:
        value = row.get(header_key(name))
        if kind is str and type(value) is str and value:
            return value
        if kind is float:
            if is_number(value):
                return float(value)
            if type(value) is str and value:
                return decimal(value)
        if kind is bool:
            if type(value) is bool:
                return value
            if type(value) is str and value:
                return csv_bool(value)
    return None


def quantity_type(text):
    return QUANTITY_TYPES.get(text.replace(" ", "").lower()) if text else None


def load_catalog(items_path, packages_path):
    items, packages = [], []
    for row in catalog_rows(items_path) if items_path else []:
        items.append((lookup(row, "Name", "Item", "ItemName"),
                      lookup(row, "ProductCategoryName", "Category", "ItemCategory"),
                      quantity_type(lookup(row, "QuantityType", "Quantity Type"))))
    for row in catalog_rows(packages_path) if packages_path else []:
        nested = row.get("item") if type(row.get("item")) is dict else {}
        record = Record()
        record.item = lookup(nested, "Name") or lookup(row, "ItemName", "Item", "ProductName")
        record.category = (lookup(nested, "ProductCategoryName", "CategoryName")
                           or lookup(row, "ItemProductCategoryName", "ProductCategoryName", "Category", "ItemCategory"))
        record.quantity = lookup(row, "Quantity", "Qty", kind=float)
        record.unit = lookup(row, "UnitOfMeasureName", "UnitOfMeasure", "Unit of Measure", "UoM", "Unit")
        record.is_on_hold = lookup(row, "IsOnHold", "On Hold", "OnHold", kind=bool)
        record.is_finished = lookup(row, "IsFinished", "Finished", kind=bool)
        record.finished_date = lookup(row, "FinishedDate", "Finished Date")
        record.archived_date = lookup(row, "ArchivedDate", "Archived Date")
        record.item_quantity_type = (quantity_type(lookup(nested, "QuantityType", "Quantity Type"))
                                     or quantity_type(lookup(row, "ItemQuantityType", "Item Quantity Type")))
        record.has_stock_or_state = any(value is not None for value in (
            record.quantity, record.unit, record.is_on_hold, record.is_finished, record.finished_date,
            record.archived_date, lookup(row, "PackagedDate", "Packaged Date"),
            lookup(row, "LabTestingState", "Lab Testing State", "Lab Testing", "LabTestingStateName"),
            lookup(row, "LastModified", "Last Modified")))
        packages.append((tag_of(lookup(row, "Label", "Tag", "PackageTag", "PackageLabel")), record))
    return Catalog(items, packages)


# MARK: Categories

class Source:
    """An ingredient with its category known."""
    __slots__ = ("tag", "item", "category")

    def __init__(self, tag, item, category):
        self.tag, self.item, self.category = tag, item, category


def manifest_categories(packages):
    """Item name to category, as the manifest's ingredients give them (the first one wins)."""
    known = {}
    for package in packages:
        for ingredient in package.ingredients:
            if ingredient.item and ingredient.category:
                known.setdefault(key(ingredient.item), ingredient.category)
    return known


def resolve(package, catalog, categories):
    """(item, category, sources) with every category known, or None when one is not."""
    sources = []
    for ingredient in package.ingredients:
        record = catalog.packages.get(ingredient.tag)
        item = ingredient.item or (record.item if record else None)
        category = ingredient.category or (item and categories.get(key(item)))
        category = category or (item and catalog.category_of_item(item)) or (record.category if record else None)
        if not category:
            return None
        sources.append(Source(ingredient.tag, item, category))
    item, category = package.item, package.category
    if category is None and item:
        category = categories.get(key(item))
    if package.use_same_item and (category is None or item is None):
        if item is None and len({key(s.item) for s in sources if s.item}) == 1:
            item = next(s.item for s in sources if s.item)
        if category is None:
            kinds = {key(s.category) for s in sources}
            if len(kinds) > 1:
                return None
            category = sources[0].category if sources else None
    category = category or (item and catalog.category_of_item(item))
    record = catalog.packages.get(package.tag)
    category = category or (record.category if record else None)
    return (item, category, sources) if category else None


# MARK: Words (the rules read whole words, in any case, the last with an ending)

WORD = re.compile(r"[^\W_]+")
NON_JOINERS = set("- \u2013\u2011\u00a0")
JOINERS = set(" -\u00a0\u2011")


class Words:
    """A text's words, lower-cased, with where each stands; "non" is joined to the next word."""
    __slots__ = ("text", "keys", "spans")

    def __init__(self, text):
        self.text = text
        self.keys, self.spans = [], []
        for match in WORD.finditer(text):
            start, end = match.span()
            if self.keys and self.keys[-1] == "non" and set(text[self.spans[-1][1]:start]) <= NON_JOINERS:
                self.keys[-1] = "non" + match.group().lower()
                self.spans[-1] = (self.spans[-1][0], end)
            else:
                self.keys.append(match.group().lower())
                self.spans.append((start, end))

    def key_at(self, index):
        return self.keys[index] if 0 <= index < len(self.keys) else None

    def is_joined(self, index):
        """Whether word `index` follows the one before across spaces or hyphens alone."""
        if not 0 < index < len(self.keys):
            return False
        return set(self.text[self.spans[index - 1][1]:self.spans[index][0]]) <= JOINERS

    def ranges_of(self, phrase):
        count = len(phrase.words)
        return [range(i, i + count) for i in range(len(self.keys) - count + 1) if phrase.matches(self.keys, i)]

    def contains(self, phrase):
        count = len(phrase.words)
        return any(phrase.matches(self.keys, i) for i in range(len(self.keys) - count + 1))


class Phrase:
    """Words to look for, each whole; the last may carry an ending (terpene: terpenes, terpened)."""
    __slots__ = ("words", "last_forms")

    def __init__(self, text):
        self.words = Words(text).keys
        self.last_forms = forms_of(self.words[-1])

    def matches(self, keys, start):
        last = len(self.words) - 1
        if start + last >= len(keys):
            return False
        for offset, word in enumerate(self.words):
            candidate = keys[start + offset]
            if offset == last:
                return candidate in self.last_forms
            if candidate != word:
                return False

    @property
    def first_forms(self):
        return self.last_forms if len(self.words) == 1 else {self.words[0]}


def forms_of(stem):
    forms = {stem} | {stem + ending for ending in ("s", "es", "ed", "ing", "ings")}
    if stem.endswith("e"):
        forms |= {stem + "d", stem[:-1] + "ing", stem[:-1] + "ings"}
    if stem.endswith("y"):
        forms |= {stem[:-1] + "ies", stem[:-1] + "ied"}
    if stem[-1].isalpha() and stem[-1] not in "aeiouwxy":
        forms |= {stem + stem[-1] + "ing", stem + stem[-1] + "ed"}
    return forms


class PhraseIndex:
    """Phrases by the forms of their first word, so a text is read once whatever their number."""

    def __init__(self, entries):
        self.by_first = {}
        for phrase, tag in entries:
            for form in phrase.first_forms:
                self.by_first.setdefault(form, []).append((phrase, tag))

    def occurrences(self, words):
        """(phrase, tag, range) of every place a phrase occurs, in text order."""
        found = []
        for index, word in enumerate(words.keys):
            for phrase, tag in self.by_first.get(word, ()):
                if phrase.matches(words.keys, index):
                    found.append((phrase, tag, range(index, index + len(phrase.words))))
        return found


# MARK: Product forms

CATEGORY_FORMS = [
    ("pre-roll", ["pre-roll", "preroll", "pre roll"]),
    ("infused", ["infused", "edible", "tincture", "topical", "capsule", "beverage"]),
    ("concentrate", ["concentrate", "extract", "vape", "cartridge", "kief", "hash", "rosin", "resin", "wax",
                     "shatter", "distillate", "budder", "badder", "crumble", "sauce", "isolate", "oil", "rso"]),
    ("plant material", ["bud", "flower", "shake", "trim"]),
]


def form_of_category(category):
    """The product form a category's name says, by the first matching word list; or None."""
    name = category.lower()
    for form, words in CATEGORY_FORMS:
        if any(word in name for word in words):
            return form
    return None


INFUSED_FORMS = {"edible", "beverage", "tincture", "topical", "capsule"}
NAMED_FORM_WORDS = [
    ("pre-roll", ["pre-roll", "preroll", "joint", "blunt", "spliff", "dogwalker"], []),
    ("vape cartridge", ["cartridge", "cart", "vape", "vaporizer", "pen", "disposable", "pod", "all-in-one", "AIO"], []),
    ("edible", ["edible", "gummy", "chocolate", "candy", "chew", "lozenge", "brownie", "baked good"], []),
    ("beverage", ["beverage", "drink", "soda", "seltzer"], ["liquid"]),
    ("tincture", ["tincture", "sublingual"], ["liquid"]),
    ("topical", ["topical", "lotion", "balm", "salve", "transdermal"], []),
    ("capsule", ["capsule", "softgel", "tablet"], []),
]
NAMED_FORM_ORDER = [form for form, _, _ in NAMED_FORM_WORDS]
ITEM_FORMS = PhraseIndex([(Phrase(word), form) for form, words, _ in NAMED_FORM_WORDS for word in words])
CATEGORY_HELD_FORMS = PhraseIndex([(Phrase(word), form) for form, words, extra in NAMED_FORM_WORDS
                                   for word in words + extra])


def forms_named(index, text):
    return {tag for _, tag, _ in index.occurrences(Words(text))}


# MARK: The rules

DEFAULT_ADDITIVE_WORDS = ["terpene", "terp", "terpenoid", "CDT", "BDT", "flavor", "flavour", "MCT", "lipid",
                          "coconut oil", "carrier oil", "olive oil", "glycerin", "glycerine", "propylene glycol",
                          "lecithin", "sugar", "sweetener", "sweeten"]
SAME_FORM_STEPS = [Phrase(step) for step in ("Repackage", "Split", "Combine", "Relabel")]
NOT_ADDITIVES = [Phrase(text) for text in ("sugar leaf", "sugar leaves", "sugar trim", "live sugar", "sugar wax",
                                           "terp sauce")]
DENIAL_BEFORE = {"no", "without", "zero"}
DENIAL_QUALIFIERS = {"added", "artificial", "any"}
SIZE_UNITS = {"g", "gr", "gram", "grams", "mg", "oz", "ml"}
PACK_WORDS = {"pack", "packs", "pk", "pks", "ct", "x", "duo", "trio", "box", "bundle", "multipack", "sampler", "set",
              "count", "case", "tin", "bag", "each", "ea", "units", "jar", "jars"}
LEADING_DIGITS = re.compile(r"^[0-9]*")


class Rules:
    def __init__(self, item_change="concentrates", additive_words=DEFAULT_ADDITIVE_WORDS):
        self.item_change = item_change
        self.additive_words = PhraseIndex([(Phrase(word), None) for word in additive_words])

    def evaluate(self, package, item, category, sources):
        """The ids of the rules that apply, in the contract's order."""
        rules = []
        target = key(category)
        changed = [s for s in sources if key(s.category) != target]
        if changed:
            rules.append("category-change")
        if len({key(s.category) for s in sources}) >= 2:
            rules.append("multiple-categories")
        if self.additive(package, item, sources):
            rules.append("additive")
        if self.form_change(package, item, category, sources, changed):
            rules.append("form-change")
        return rules

    def additive(self, package, item, sources):
        if package.additives is not None:
            return any(kind != "additive" or key(name) not in NO_ADDITIVE for name, kind in package.additives)
        source_items = None
        for text in (package.note, item):
            if not text:
                continue
            words = Words(text)
            occurrences = self.additive_words.occurrences(words)
            if not occurrences:
                continue
            excused = [r for phrase in NOT_ADDITIVES for r in words.ranges_of(phrase)]
            for phrase, _, found in occurrences:
                if is_denied(found, words) or any(overlaps(r, found) for r in excused):
                    continue
                if source_items is None:
                    source_items = [Words(s.item) for s in sources if s.item]
                if not any(words_of_item.contains(phrase) for words_of_item in source_items):
                    return True
        return False

    def form_change(self, package, item, category, sources, changed):
        step = package.step.strip() if package.step else ""
        if step:
            words = Words(step)
            if not any(len(words.keys) == len(p.words) and p.matches(words.keys, 0) for p in SAME_FORM_STEPS):
                return True
        target_form = form_of_category(category)
        if target_form and any(form_of_category(s.category) not in (None, target_form) for s in changed):
            return True
        return self.item_changed(package, item, target_form, sources) or named_form_changes(item, category, sources)

    def item_changed(self, package, item, target_form, sources):
        if not item or not sources or self.item_change == "never":
            return False
        if self.item_change == "always":
            return any(s.item and key(s.item) != key(item) for s in sources)
        distinct = {key(s.item) for s in sources if s.item}
        keeps_item = any(s.item and key(s.item) == key(item) for s in sources)
        return (target_form == "concentrate"
                and all(form_of_category(s.category) == "concentrate" for s in sources)
                and (len(distinct) > 1 or not keeps_item)
                and not is_finished_repack(package, item, sources)
                and all(s.item for s in sources))


def overlaps(a, b):
    return a.start < b.stop and b.start < a.stop


def is_denied(found, words):
    """Whether the words around an additive word deny it: "no terpenes", "sugar free"."""
    before = found.start - 1
    if words.key_at(before) in DENIAL_QUALIFIERS and words.is_joined(before + 1):
        before -= 1
    if words.key_at(before) in DENIAL_BEFORE and words.is_joined(before + 1):
        return True
    after = found.stop
    if words.key_at(after) != "free" or not words.is_joined(after):
        return False
    return words.key_at(after + 1) not in ("of", "from")


def is_pack_word(word):
    rest = word[len(LEADING_DIGITS.match(word).group()):]
    return not rest or rest in SIZE_UNITS or rest in PACK_WORDS


def only_adds_pack_words(new, original, sizes_may_change=False):
    kept = {word for word in original.keys if not (sizes_may_change and is_pack_word(word))}
    return kept <= set(new.keys) and all(word in kept or is_pack_word(word) for word in new.keys)


def states_unit_size(words):
    for index, word in enumerate(words.keys):
        digits = LEADING_DIGITS.match(word).group()
        if not digits:
            continue
        unit = word[len(digits):]
        if unit in SIZE_UNITS or (not unit and words.key_at(index + 1) in SIZE_UNITS):
            return True
    return False


def is_counted(unit):
    return unit is not None and key(unit) in ("each", "ea")


def is_finished_repack(package, item, sources):
    """Finished goods re-bagged under a new item, not bulk concentrate processed."""
    if not all(s.item for s in sources):
        return False
    source_items = [Words(s.item) for s in sources]
    new_item = Words(item)
    if (is_counted(package.unit) and package.ingredients
            and all(is_counted(ingredient.unit) for ingredient in package.ingredients)
            and all(only_adds_pack_words(new_item, words, sizes_may_change=True) for words in source_items)):
        return True
    if not all(states_unit_size(words) for words in source_items):
        return False
    if all(only_adds_pack_words(new_item, words) for words in source_items):
        return True
    source_forms = [{tag for _, tag, _ in ITEM_FORMS.occurrences(words)} for words in source_items]
    return any(all(form in forms for forms in source_forms)
               for form in {tag for _, tag, _ in ITEM_FORMS.occurrences(new_item)})


def named_form_changes(item, category, sources):
    """Whether the item name states a form that neither its category nor any ingredient has."""
    if not item:
        return False
    target_form = form_of_category(category)
    named = forms_named(ITEM_FORMS, item)
    names_infused = bool(named & INFUSED_FORMS)
    named = {form for form in named
             if (target_form in ("infused", None) if form in INFUSED_FORMS
                 else not (target_form == "infused" and names_infused))}
    if not named:
        return False
    held = forms_named(CATEGORY_HELD_FORMS, category)
    for source_category in {key(s.category) for s in sources}:
        held |= forms_named(CATEGORY_HELD_FORMS, source_category)
    by_sources = set()
    for source_item in {key(s.item) for s in sources if s.item}:
        by_sources |= forms_named(ITEM_FORMS, source_item)
    held |= by_sources
    from_finished_infused = bool(by_sources & INFUSED_FORMS)
    return any(form not in held and not (form in INFUSED_FORMS and target_form == "infused" and from_finished_infused)
               for form in named)


# MARK: Before Metrc: the checks that reject by default

UNITS = {  # Metrc's unit names: quantity type and factor to the type's base unit
    "milligrams": ("Milligrams", "WeightBased", 0.001), "grams": ("Grams", "WeightBased", 1.0),
    "kilograms": ("Kilograms", "WeightBased", 1000.0), "ounces": ("Ounces", "WeightBased", 28.349523125),
    "pounds": ("Pounds", "WeightBased", 453.59237), "milliliters": ("Milliliters", "VolumeBased", 1.0),
    "liters": ("Liters", "VolumeBased", 1000.0), "fluid ounces": ("Fluid Ounces", "VolumeBased", 29.5735295625),
    "each": ("Each", "CountBased", 1.0),
}


def refused_by_metrc(packages, resolved, catalog):
    """The indexes of resolved packages that a check Metrc would refuse finds against."""
    refused = set()
    if not resolved:
        return refused
    for index, (item, _, _) in resolved.items():
        package = packages[index]
        unit = UNITS.get(key(package.unit))
        wanted = unit and item_quantity_type(package, item, catalog)
        if wanted and unit[1] != wanted:
            refused.add(index)  # package-unit
    if not catalog.packages:
        return refused
    uses = {}
    for index, package in enumerate(packages):
        if index in resolved:
            record = catalog.packages.get(package.tag)
            if record and record.has_stock_or_state:
                refused.add(index)  # tag-in-use
        for ingredient in package.ingredients:
            if ingredient.tag:
                uses.setdefault(ingredient.tag, []).append((index, ingredient))
    for tag, taken in uses.items():
        record = catalog.packages.get(tag)
        if record is None or not any(index in resolved for index, _ in taken):
            continue
        inactive = record.archived_date is not None or (
            record.is_finished if record.is_finished is not None else record.finished_date is not None)
        if inactive or record.is_on_hold:
            refused.update(index for index, _ in taken if index in resolved)  # source-inactive, source-on-hold
        refused |= over_use(record, taken, resolved, sum_taken=not inactive)
    return refused


def item_quantity_type(package, item, catalog):
    found = catalog.items.get(key(item)) if item else None
    if found and found[1]:
        return found[1]
    if package.use_same_item:
        records = [catalog.packages.get(tag) for tag in dict.fromkeys(i.tag for i in package.ingredients)]
        types = {record.item_quantity_type if record else None for record in records}
        if len(types) == 1:
            return types.pop()
    return None


def over_use(record, taken, resolved, sum_taken):
    """ingredient-unit, and source-over-used: what the whole manifest takes against what it holds."""
    refused = set()
    held_unit = UNITS.get(key(record.unit)) if record.unit else None
    if held_unit is None:
        return refused
    total = converted_total = 0.0
    counted = False
    for index, ingredient in taken:
        if ingredient.quantity is None or ingredient.unit is None:
            continue
        unit = UNITS.get(key(ingredient.unit))
        if unit is None:
            continue
        if unit[1] != held_unit[1]:
            if index in resolved:
                refused.add(index)
            continue
        counted = True
        if unit[0] == held_unit[0]:
            total += ingredient.quantity
        else:
            converted = ingredient.quantity * (unit[2] / held_unit[2])
            total += converted
            converted_total += converted
    held = record.quantity
    if sum_taken and counted and held is not None and total > held + converted_total * 1e-4 + held * 1e-9:
        refused.update(index for index, ingredient in taken if index in resolved and ingredient.quantity is not None
                       and ingredient.unit is not None and UNITS.get(key(ingredient.unit), ("", ""))[1] == held_unit[1])
    return refused


# MARK: Decisions

def check(path, data, catalog, rules):
    """{"file", "decision", "packages": [{"tag", "status", "rules"}]} for one file's bytes."""
    try:
        packages, manifest_error = read_manifest(path, data)
    except Unreadable:
        return {"file": path, "decision": "rejected", "packages": []}
    manifest_error |= not packages
    seen = set()
    for package in packages:
        if package.tag is None:
            continue
        if package.tag in seen or any(ingredient.tag == package.tag for ingredient in package.ingredients):
            package.bad = True  # two packages with one tag, or a package made from itself
        seen.add(package.tag)
    categories = None
    resolved = {}
    verdicts = []
    for index, package in enumerate(packages):
        verdict = {"tag": package.tag, "status": "invalid", "rules": []}
        verdicts.append(verdict)
        if package.bad or package.tag is None:
            continue
        if categories is None:
            categories = manifest_categories(packages)
        found = resolve(package, catalog, categories)
        if found is None:
            manifest_error = True
            continue
        resolved[index] = found
        verdict["rules"] = rules.evaluate(package, *found)
        marked = package.is_marked
        blank_number = not (package.batch_number and package.batch_number.strip())
        needs_batch = (marked and blank_number) or (verdict["rules"] and not marked)
        verdict["status"] = "needs-batch" if needs_batch else "ok"
    for index in refused_by_metrc(packages, resolved, catalog):
        verdicts[index]["status"] = "invalid"
    statuses = {verdict["status"] for verdict in verdicts}
    decision = ("rejected" if manifest_error or "invalid" in statuses
                else "needs-batch" if "needs-batch" in statuses else "accepted")
    return {"file": path, "decision": decision, "packages": verdicts}


def run(paths, catalog, rules, out):
    for path in paths_of(paths):
        try:
            with open(path, "rb") as f:
                data = f.read(MAXIMUM_SIZE + 1)
        except OSError as error:
            sys.stderr.write("check_peer: cannot read %s: %s\n" % (path, error.strerror))
            continue
        out.write(json.dumps(check(path, data, catalog, rules), separators=(",", ":")) + "\n")


# MARK: Agreement with batchgate

def outcomes(lines):
    """File -> (decision, [(tag, status, rules)]) of the JSON lines of `check --format json` or of this
    peer; other lines (a shell's note of the exit status) are passed over."""
    result = {}
    for line in lines:
        if line.startswith("{"):
            report = json.loads(line)
            result[report["file"]] = (report["decision"],
                                      [(p["tag"], p["status"], p["rules"]) for p in report["packages"]])
    return result


def compare(batchgate_lines, peer_lines, shown=20, out=sys.stdout):
    """Checks that every file has the same decision, package statuses and rule ids on both sides;
    prints each disagreement (the first `shown` in full) and returns how many files disagree."""
    ours, theirs = outcomes(batchgate_lines), outcomes(peer_lines)
    disagreements = 0
    for path in sorted(ours.keys() | theirs.keys()):
        a, b = ours.get(path), theirs.get(path)
        if a == b:
            continue
        disagreements += 1
        if disagreements > shown:
            continue
        if a is None or b is None:
            out.write("DISAGREE %s: only %s has it\n" % (path, "batchgate" if b is None else "the peer"))
            continue
        out.write("DISAGREE %s: decision batchgate %s, peer %s\n" % (path, a[0], b[0]))
        if len(a[1]) != len(b[1]):
            out.write("  packages: batchgate %d, peer %d\n" % (len(a[1]), len(b[1])))
        for index, (x, y) in enumerate(zip(a[1], b[1])):
            if x != y:
                out.write("  package %d: batchgate %s %s %s, peer %s %s %s\n"
                          % (index, x[0], x[1], ",".join(x[2]) or "-", y[0], y[1], ",".join(y[2]) or "-"))
    if disagreements > shown:
        out.write("... and %d more files disagree\n" % (disagreements - shown))
    out.write("agreement: %d of %d files agree with batchgate (decision, every package's status and rules)\n"
              % (len(ours.keys() | theirs.keys()) - disagreements, len(ours.keys() | theirs.keys())))
    return disagreements


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", metavar="PATH", help="manifest files, or folders of them")
    parser.add_argument("--items", help="items file: Metrc's items JSON or a CSV with Name and Category")
    parser.add_argument("--packages", help="packages file: Metrc's packages JSON or a CSV with Tag, Item and Category")
    parser.add_argument("--item-change", choices=("concentrates", "always", "never"), default="concentrates")
    parser.add_argument("--compare", metavar="CHECK_OUTPUT",
                        help="compare with this output of `batchgate check --format json`; exit 1 on a disagreement")
    parser.add_argument("--peer-output", metavar="FILE", help="with --compare: this peer's saved output, not a new run")
    args = parser.parse_args()
    if not args.paths and not args.peer_output:
        parser.error("name at least one manifest file or folder (or --compare with --peer-output)")

    if args.peer_output:
        with open(args.peer_output) as f:
            peer_lines = f.readlines()
    else:
        rules = Rules(item_change=args.item_change)
        catalog = load_catalog(args.items, args.packages)
        if not args.compare:
            run(args.paths, catalog, rules, sys.stdout)
            return
        buffer = io.StringIO()
        run(args.paths, catalog, rules, buffer)
        peer_lines = buffer.getvalue().splitlines()
    with open(args.compare) as f:
        sys.exit(1 if compare(f, peer_lines) else 0)


if __name__ == "__main__":
    main()
