import Testing
@testable import BatchgateSystem

@Suite("Log levels")
struct LogLevelTests {
    @Test func prioritiesFollowSyslog() {
        #expect(LogLevel.allCases.map(\.priority) == [7, 6, 5, 4, 3])
        #expect(LogLevel.debug < LogLevel.error)
    }
}
