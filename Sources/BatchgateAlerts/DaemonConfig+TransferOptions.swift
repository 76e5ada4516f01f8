import BatchgateConfig
import BatchgateHTTP

extension DaemonConfig.Alerts {
    /// The `alerts:` section's timeouts and CA file, as every alert transfer (HTTP or SMTP) takes them.
    var transferOptions: TransferOptions {
        TransferOptions(connectTimeout: connectTimeout, timeout: timeout, caFile: caFile)
    }
}
