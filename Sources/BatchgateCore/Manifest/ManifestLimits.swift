/// How much of a manifest batchgate reads: caps that keep the memory and time of one file
/// proportional to what a real manifest needs, checked while parsing (never by building a tree and
/// counting it), each refused with one error that names the place and the cap.
///
/// Why: the 16 MiB size cap alone did not bound the work. Measured on the release binary before
/// these caps (2 cores, 24 GB; docs/reliability.md, "Real writers and real operators", finding 4):
/// `[0,0,…]` of 16 MB took 4.1 GB and 20 s, 16 MB of `{},` 8.3 GB and 75 s, a CSV header over
/// 16 MB of blank lines 1.3 GB and 4.8 s. The parser's tree costs about 32 bytes a value; the
/// rest was the readers turning every element into a package or an ingredient with two or three
/// issues, each a sentence (300 to 500 bytes a value).
/// The daemon evaluates four files at once, so every file must stay far below a gigabyte.
///
/// The caps come from the largest real manifest, one at ``maximumPackages`` (10,000 packages):
/// - A package object as Metrc's create-package request writes it has about 25 properties (26 in
///   bench/generate_manifests.py, batchgate's own fields included), and 1 to 5 ingredients of
///   3 to 5 properties each: at most about 60 JSON values a package, 600,000 for the file.
/// - The CSV form has one row per ingredient: 10,000 packages of 5 ingredients are 50,000 rows; the
///   widest real layout (Metrc's package grid export) has about 40 columns: 2,000,000 cells.
/// Every cap below is at least twice that, so no real manifest comes near one; a larger file is
/// split into several manifests, which the error says.
///
/// The JSON caps bound the answers of Metrc's API that the catalog reads as well; see
/// ``maximumMetrcAnswerSize``.
public enum ManifestLimits {
    /// The most packages one file may hold (one Metrc request is far smaller).
    public static let maximumPackages = 10_000

    /// The most ingredients in one file: 10 a package on average at ``maximumPackages``, twice the
    /// 5 of a large real package. A CSV manifest has one row per ingredient, so this is also its
    /// most rows that are not blank (blank rows are skipped while parsing and never stored).
    public static let maximumIngredients = 100_000

    /// The most JSON values (objects, lists, text, numbers, true/false, null, each one value) in one
    /// manifest: over three times the 600,000 of 10,000 full-size packages. The parser's tree costs
    /// 32 bytes a value (`MemoryLayout<JSONElement>.stride`; 48 for an object's property), so this
    /// bounds the tree near 100 MB; `[0,0,…]` stopped at the cap peaked at 106 MB in all.
    public static let maximumJSONValues = 2_000_000

    /// The most properties in one JSON object: a package has about 25 (Metrc adds a field now and then).
    public static let maximumJSONMembers = 1_000

    /// The most cells in one CSV row, the header included: the widest real layout has about 40.
    public static let maximumCSVCellsPerRow = 1_000

    /// The most cells in the rows kept (blank rows are not kept): twice the 2,000,000 of 50,000 rows
    /// of 40 columns. A cell costs 16 bytes and its row a list, so this bounds the rows near 100 MB.
    public static let maximumCSVCells = 4_000_000

    /// The most problems a reader collects before it stops: 10 a package at ``maximumPackages`` (a
    /// file of 10,000 empty package objects has 30,000). Each is a sentence of 100 to 300 bytes; a
    /// hostile file could otherwise make one for nearly every value (repeated property names,
    /// empty ingredient objects), gigabytes of them.
    public static let maximumIssues = 100_000

    /// The largest answer of Metrc's API that the catalog reads (``CatalogReader/readItemPage(_:endpoint:skippingBadRecords:)``,
    /// ``CatalogReader/readPackagePage(_:endpoint:skippingBadRecords:)``): 64 MiB. The JSON caps above,
    /// ``maximumJSONValues`` and ``maximumJSONMembers``, apply to those answers as well, since
    /// they come from a server and the daemon reads them while it checks manifests.
    ///
    /// A v2 page holds at most 20 records: a package record with the fields Metrc's documentation
    /// names (the nested item included) is about 45 values and 1.2 KB (CatalogPageTests), so a full
    /// page is near 1,000 values and 25 KB, far under both caps. The large answers are v1's, which
    /// has no paging: every package modified in one 24-hour window comes in one list. Such JSON
    /// runs at about 27 bytes a value, so 64 MiB and 2,000,000 values are reached together, at
    /// 45,000 to 55,000 such records (fewer if Metrc writes more fields); a busier day is read in
    /// shorter windows, which the errors say. Catalog files read by hand have their own 256 MiB cap
    /// and no JSON caps.
    public static let maximumMetrcAnswerSize = 64 * 1024 * 1024

    /// `2000000` as `2,000,000`, for messages.
    static func grouped(_ number: Int) -> String {
        let digits = String(number.magnitude)
        var result = ""
        for (offset, digit) in digits.enumerated() {
            if offset > 0 && (digits.count - offset) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return number < 0 ? "-" + result : result
    }

    /// The one error for a file with more packages than ``maximumPackages``.
    static func tooManyPackages(_ count: Int) -> ManifestIssue {
        ManifestIssue(message: "the file holds \(count) packages; batchgate checks at most \(maximumPackages) in one file: split it into smaller manifests")
    }

    /// The reading of a file whose problems passed ``maximumIssues``: the first ones (as many as a
    /// report lists, less one) and a last error that says where the reader stopped.
    static func tooManyIssues(_ format: ManifestFormat, _ issues: [ManifestIssue]) -> ManifestReading {
        let line = issues.count > maximumIssues ? issues[maximumIssues].line : issues.last?.line
        let listed = Array(issues.prefix(ManifestChecker.maximumListedErrors - 1))
        let place = line.map { " (at line \($0))" } ?? ""
        let stop = ManifestIssue(
            message: "the file has more than \(grouped(maximumIssues)) problems\(place); batchgate stopped reading there: fix the first ones listed and check the file again",
            line: line)
        return ManifestReading(manifest: Manifest(format: format), issues: listed + [stop])
    }
}
