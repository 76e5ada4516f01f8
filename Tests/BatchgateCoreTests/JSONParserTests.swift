import Testing
@testable import BatchgateCore
