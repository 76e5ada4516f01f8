import Testing
import BatchgateHTTP
@testable import BatchgateConfig
@testable import BatchgateAlerts

/// The `alerts:` section reaches every alert transfer (HTTP and SMTP) as its transfer options.
@Suite("Alert transfer options")
struct AlertTransferOptionsTests {
    @Test func carryTheTimeoutsAndTheCAFile() {
        let alerts = DaemonConfig.Alerts(connectTimeout: .milliseconds(1_500), timeout: .seconds(42), caFile: "/etc/batchgate/ca.pem")
        #expect(alerts.transferOptions == TransferOptions(connectTimeout: .milliseconds(1_500), timeout: .seconds(42), caFile: "/etc/batchgate/ca.pem"))
    }

    @Test func theDefaultsAgree() {
        #expect(DaemonConfig.Alerts().transferOptions == TransferOptions())
    }
}
