import Testing
@testable import BatchgateCore

@Suite("JSON parser")
struct JSONParserTests {
    func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try JSONParser.parse(Array(text.utf8)).value
    }

    func syntaxError(_ text: String) -> JSONSyntaxError? {
        do {
            _ = try JSONParser.parse(Array(text.utf8))
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesScalarsAndContainers() throws {
        #expect(try parse("null") == .null)
        #expect(try parse(" true ") == .bool(true))
        #expect(try parse("false") == .bool(false))
        #expect(try parse("16") == .number(16))
        #expect(try parse("-0.5") == .number(-0.5))
        #expect(try parse("1.5e3") == .number(1500))
        #expect(try parse("12345678901234567890") == .number(1.2345678901234567e19))
        #expect(try parse(#""a\"b\\c\/\n\t\u00e9\ud83c\udf3f""#) == .string("a\"b\\c/\n\té🌿"))
        #expect(try parse("[]") == .array([]))
        #expect(try parse("{}") == .object([]))
    }

    @Test func recordsTheLineOfEveryValue() throws {
        let value = try parse("{\n  \"Tag\": \"A\",\n\n  \"Ingredients\": [\n    {\"Package\": 1}\n  ]\n}")
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["Tag", "Ingredients"])
        #expect(members.map(\.line) == [2, 4])
        guard case .array(let elements) = members[1].value else { Issue.record("not an array"); return }
        #expect(elements.first?.line == 5)
    }

    @Test(arguments: [
        ("", 1, "empty"),
        ("{\"a\": 1,}", 1, "trailing comma"),
        ("[1, 2,]", 1, "trailing comma"),
        ("{\"a\" 1}", 1, "expected ':'"),
        ("{\n\"Quantity\": sixteen\n}", 2, "'sixteen' is not a JSON value"),
        ("{\"a\": \"open", 1, "ends inside a string"),
        ("[1, 2", 1, "']' is missing"),
        ("{\"a\": 1", 1, "'}' is missing"),
        ("01", 1, "leading zero"),
        ("1.", 1, "decimal point"),
        ("1e", 1, "exponent"),
        ("-x", 1, "'-' must be followed by digits"),
        ("\"\\x\"", 1, "not a JSON escape"),
        ("\"\\ud800\"", 1, "surrogate"),
        ("\"a\nb\"", 1, "line break inside a string"),
        ("1e999", 1, "too large"),
        ("{} {}", 1, "after the end"),
        ("[NaN]", 1, "'NaN' is not a JSON value"),
        ("{'a': 1}", 1, "property name in double quotes"),
    ])
    func refusesMalformedText(text: String, line: Int, phrase: String) {
        let error = syntaxError(text)
        #expect(error != nil, "accepted \(text.debugDescription)")
        #expect(error?.line == line)
        #expect(error?.reason.contains(phrase) == true, "\(error?.reason ?? "") should mention \(phrase)")
    }

    @Test func reportsColumnOfTheProblem() {
        let error = syntaxError("{\"Tag\": \"A\", \"Quantity\": sixteen}")
        #expect(error?.column == 26)
    }

    @Test func refusesNestingDeeperThanTheLimitWithoutCrashing() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = syntaxError(deep)
        #expect(error?.reason.contains("nested more than \(JSONParser.defaultMaximumDepth) levels") == true)
        let objects = String(repeating: "{\"a\":", count: 100_000)
        #expect(syntaxError(objects)?.reason.contains("nested") == true)
    }

    @Test func acceptsNestingUpToTheLimit() throws {
        let depth = JSONParser.defaultMaximumDepth
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(throws: Never.self) { try JSONParser.parse(Array(text.utf8)) }
    }
}
