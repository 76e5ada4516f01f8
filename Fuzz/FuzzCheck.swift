// libFuzzer target over the pure core: the JSON and CSV readers, the catalog readers, the
// evaluator and both report writers. Built by bench/fuzz.sh, which compiles this file together
// with Sources/BatchgateCore/**/*.swift (one module, so internal names are visible):
//
//     swiftc -sanitize=fuzzer,address -parse-as-library -O -swift-version 6 \
//         Sources/BatchgateCore/**/*.swift Fuzz/FuzzCheck.swift -o .build-fuzz/fuzz-check
//
// Input layout: the first byte (the selector) chooses what the rest is.
//   selector & 0x07, modulo 7, the kind:
//     0  a manifest named fuzz.json
//     1  a manifest named fuzz.csv
//     2  a manifest whose name has no .json or .csv extension (format sniffed, or refused)
//     3  an items file, then optionally a NUL byte and a manifest checked against that catalog
//     4  a packages file, then optionally a NUL byte and a manifest checked against that catalog,
//        as Metrc's catalog (every source must be in it) when selector & 0x40
//     5  an answer of Metrc's items endpoint (`readItemPage`), bad records skipped when selector & 0x40
//     6  an answer of Metrc's packages endpoints (`readPackagePage`), the same
//   (selector >> 3) & 0x03, for kind 2: the name fuzz.txt, fuzz, dir.v2/FUZZ.TXT or fuzz.pdf
//   selector & 0x80: a 512-byte size limit instead of the default 16 MiB (covers the size cap).
// A NUL cannot occur in valid text, so it is a safe separator. Without one, kinds 3 and 4 check
// a built-in manifest whose categories all come from the catalog.
//
// Beyond "no crash", each input checks invariants that are cheap to verify; a broken one stops
// with fatalError naming it (libFuzzer reports a deadly signal and saves the input).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheck(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = data[0]
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let maximumSize = selector & 0x80 != 0 ? 512 : TextInput.defaultMaximumSize
    let lenient = selector & 0x40 != 0
    switch (selector & 0x07) % 7 {
    case 0: checkManifest(body, fileName: "fuzz.json", catalog: Catalog(), maximumSize: maximumSize)
    case 1: checkManifest(body, fileName: "fuzz.csv", catalog: Catalog(), maximumSize: maximumSize)
    case 2:
        let names = ["fuzz.txt", "fuzz", "dir.v2/FUZZ.TXT", "fuzz.pdf"]
        checkManifest(body, fileName: names[Int(selector >> 3) & 0x03], catalog: Catalog(), maximumSize: maximumSize)
    case 3: checkCatalog(body, items: true, maximumSize: maximumSize)
    case 4: checkCatalog(body, items: false, maximumSize: maximumSize, live: lenient)
    case 5: checkMetrcPage(body, items: true, skippingBadRecords: lenient)
    default: checkMetrcPage(body, items: false, skippingBadRecords: lenient)
    }
    return 0
}

private func require(_ condition: Bool, _ what: @autoclosure () -> String) {
    if !condition { fatalError("fuzz invariant broken: \(what())") }
}

/// A manifest whose categories must all come from a catalog (item names and tags match the
/// catalog fixtures), for catalog inputs without a manifest of their own.
private let builtInManifest = Array("""
    Tag,Item,Quantity,UnitOfMeasure,IsProductionBatch,ProductionBatchNumber,Source Package,Source Item,Source Quantity,Source UoM
    1A4FF0300000022000006001,Blue Dream Live Resin,29.0,Grams,false,,1A4FF0100000022000000601,Blue Dream Buds,453.6,Grams
    1A4FF0300000022000006002,Gelato 1g Vape Cart,120,Each,true,PB-1,1A4FF0100000022000000502,,120.0,Grams
    1A4FF0300000022000006003,Blue Dream Buds,28.0,Grams,false,,1A4FF0100000022000000501,,28.0,Grams

    """.utf8)

/// One answer of Metrc's API read as a page: its paging agrees with itself, every record read
/// has what the catalog needs, and a lenient read never fails on one record alone.
private func checkMetrcPage(_ body: [UInt8], items: Bool, skippingBadRecords: Bool) {
    let endpoint = items ? "GET /items/v2/active" : "GET /packages/v2/active"
    do throws(MetrcPageError) {
        if items {
            let page = try CatalogReader.readItemPage(body, endpoint: endpoint, skippingBadRecords: skippingBadRecords)
            require(page.page >= 1 && page.isLastPage == (page.page >= page.totalPages), "paging of \(page.page) of \(page.totalPages)")
            require(page.records.allSatisfy { !$0.entry.name.trimmingWhitespace().isEmpty }, "an item page record without a name")
            require(skippingBadRecords || page.skipped.isEmpty, "records skipped without being asked to")
        } else {
            let page = try CatalogReader.readPackagePage(body, endpoint: endpoint, skippingBadRecords: skippingBadRecords)
            require(page.page >= 1 && page.isLastPage == (page.page >= page.totalPages), "paging of \(page.page) of \(page.totalPages)")
            require(page.records.allSatisfy { $0.entry.item != nil || $0.entry.category != nil }, "a package page record with neither item nor category")
            require(skippingBadRecords || page.skipped.isEmpty, "records skipped without being asked to")
        }
    } catch {
        require(error.description.hasPrefix(endpoint) || error.description.contains(endpoint), "a page error that does not name its request: \(error)")
    }
}

private func checkCatalog(_ body: [UInt8], items: Bool, maximumSize: Int, live: Bool = false) {
    let split = body.firstIndex(of: 0)
    let catalogBytes = Array(body[..<(split ?? body.endIndex)])
    let manifest = split.map { Array(body[($0 + 1)...]) } ?? builtInManifest
    let fileName = items ? "items" : "packages"
    var catalog = Catalog()
    do throws(CatalogError) {
        if items {
            let read = try CatalogReader.readItems(catalogBytes, fileName: fileName)
            for item in read {
                require(!item.name.trimmingWhitespace().isEmpty && !item.category.trimmingWhitespace().isEmpty,
                        "an item with an empty name or category was accepted")
            }
            catalog = Catalog(items: read)
            require(catalog.itemCount <= read.count, "more catalog items than were read")
        } else {
            let read = try CatalogReader.readPackages(catalogBytes, fileName: fileName)
            for package in read {
                require(package.tag.utf8.count == 24, "a package tag of \(package.tag.utf8.count) bytes was accepted")
                require(package.item != nil || package.category != nil, "a package with neither item nor category")
            }
            catalog = Catalog(packages: read)
            require(catalog.packageCount <= read.count, "more catalog packages than were read")
        }
    } catch {
        require(!error.reason.isEmpty, "a catalog error without a reason")
        require(error.line.map { $0 >= 1 && $0 <= lineLimit(catalogBytes) } ?? true,
                "catalog error on line \(error.line ?? 0) of a \(lineLimit(catalogBytes))-line text: \(error)")
    }
    checkManifest(manifest, fileName: "fuzz.txt", catalog: catalog, maximumSize: maximumSize, live: live)
}

/// The largest line number the text can have, counting LF, CR and CRLF (the CSV reader's view)
/// generously: one more than the number of CR and LF bytes.
private func lineLimit(_ bytes: [UInt8]) -> Int {
    bytes.reduce(1) { $1 == 0x0A || $1 == 0x0D ? $0 + 1 : $0 }
}

private func checkManifest(_ bytes: [UInt8], fileName: String, catalog: Catalog, maximumSize: Int, live: Bool = false) {
    var checker = ManifestChecker(catalog: catalog, maximumSize: maximumSize)
    checker.sourcesMustBeKnown = live
    let report = checker.check(fileName: fileName, bytes: bytes)

    // The decision agrees with the packages and errors.
    let invalid = report.packages.contains { $0.status == .invalid }
    let needing = report.packages.contains { $0.status == .needsBatch }
    switch report.decision {
    case .rejected:
        require(!report.errors.isEmpty, "a rejected report gives no error")
        require(report.errors.allSatisfy { !$0.message.isEmpty }, "an error with an empty message")
    case .needsBatch:
        require(report.errors.isEmpty && !invalid && needing, "needs-batch with errors, invalid packages or none needing")
    case .accepted:
        require(report.errors.isEmpty && !invalid && !needing && !report.packages.isEmpty,
                "accepted with errors, invalid or needing packages, or no package")
    }
    for package in report.packages {
        switch package.status {
        case .needsBatch: require(package.fix != nil, "a needs-batch package without a fix")
        case .ok: require(package.tag != nil, "an ok package without a tag")
        case .invalid: break
        }
    }

    // Every line number lies within the file.
    let limit = lineLimit(bytes)
    for error in report.errors {
        if let line = error.line {
            require(line >= 1 && line <= limit, "error on line \(line) of a \(limit)-line file: \(error.message)")
        }
    }
    for package in report.packages {
        if let line = package.position.line {
            require(line >= 1 && line <= limit, "package on line \(line) of a \(limit)-line file")
        }
    }

    // The JSON report is one line that the project's own parser reads back, saying the same.
    let line = report.jsonLine()
    require(!line.contains(0x0A) && !line.contains(0x0D), "the JSON report spans more than one line")
    let parsed: JSONElement
    do {
        parsed = try JSONParser.parse(line, maximumDepth: 8)
    } catch {
        fatalError("fuzz invariant broken: the JSON report does not parse back: \(error)")
    }
    guard case .object(let members) = parsed.value else { fatalError("fuzz invariant broken: the JSON report is not an object") }
    func member(_ key: String) -> JSONValue? { members.first { $0.key == key }?.value }
    require(member("file") == .string(report.file), "the JSON report's file differs")
    require(member("decision") == .string(report.decision.rawValue), "the JSON report's decision differs")
    require(member("summary") == .string(report.summary), "the JSON report's summary differs")
    if case .array(let packages) = member("packages") {
        require(packages.count == report.packages.count, "the JSON report lists \(packages.count) of \(report.packages.count) packages")
        for (element, verdict) in zip(packages, report.packages) {
            guard case .object(let fields) = element.value else { fatalError("fuzz invariant broken: a package that is not an object") }
            require(fields.first { $0.key == "tag" }?.value == (verdict.tag.map(JSONValue.string) ?? .null), "a package's tag differs")
            require(fields.first { $0.key == "note" }?.value == (verdict.note.map(JSONValue.string) ?? .null), "a package's note differs")
        }
    } else {
        fatalError("fuzz invariant broken: the JSON report has no packages list")
    }
    if case .array(let errors) = member("errors") {
        require(errors.count == report.errors.count, "the JSON report lists \(errors.count) of \(report.errors.count) errors")
        for (element, issue) in zip(errors, report.errors) {
            guard case .object(let fields) = element.value else { fatalError("fuzz invariant broken: an error that is not an object") }
            require(fields.first { $0.key == "message" }?.value == .string(issue.message), "an error's message differs")
        }
    } else {
        fatalError("fuzz invariant broken: the JSON report has no errors list")
    }

    // The text report starts with the file's name and ends with a line break.
    let text = report.text
    require(text.hasPrefix("\(report.file): ") && text.hasSuffix("\n"), "the text report's frame is wrong")

    // For JSON text, the parsed tree written back with JSONWriter parses to the same tree.
    if report.format == .json, let body = try? TextInput.validate(bytes, maximumSize: maximumSize),
       let tree = try? JSONParser.parse(body) {
        var writer = JSONWriter()
        write(tree.value, to: &writer)
        do {
            let again = try JSONParser.parse(writer.bytes)
            require(sameValue(again.value, tree.value), "a JSON tree written back parses differently")
        } catch {
            fatalError("fuzz invariant broken: a JSON tree written back does not parse: \(error)")
        }
    }
}

private func write(_ value: JSONValue, to writer: inout JSONWriter) {
    switch value {
    case .null: writer.string(nil)
    case .bool(let flag): writer.bool(flag)
    case .number(let number): writer.number(number)
    case .string(let text): writer.string(text)
    case .array(let elements):
        writer.beginArray()
        for element in elements { write(element.value, to: &writer) }
        writer.endArray()
    case .object(let members):
        writer.beginObject()
        for member in members {
            writer.key(member.key)
            write(member.value, to: &writer)
        }
        writer.endObject()
    }
}

/// Equal values, ignoring line numbers (the writer puts everything on one line).
private func sameValue(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.number(let x), .number(let y)): return x == y
    case (.string(let x), .string(let y)): return Array(x.utf8) == Array(y.utf8)
    case (.array(let x), .array(let y)):
        return x.count == y.count && zip(x, y).allSatisfy { sameValue($0.value, $1.value) }
    case (.object(let x), .object(let y)):
        return x.count == y.count
            && zip(x, y).allSatisfy { Array($0.key.utf8) == Array($1.key.utf8) && sameValue($0.value, $1.value) }
    default: return false
    }
}
