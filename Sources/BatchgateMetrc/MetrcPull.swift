import Dispatch
import Synchronization
import BatchgateCore

/// What reading one endpoint over a span of last-modified time gave.
public struct MetrcPull<Entry: Sendable & Equatable>: Sendable {
    public var endpoint: MetrcEndpoint
    /// The records of the whole windows from the start of the span, oldest window first, each
    /// window's pages in order.
    public var records: [MetrcRecord<Entry>]
    /// The end of that run of whole windows: every record last modified before it is in
    /// `records`. The span's end when nothing failed; its start when the first window did.
    public var completeUntil: Double
    /// Why a window could not be read whole, when one could not (the first such, oldest first).
    public var error: MetrcPullError?
    /// The GETs the pull sent, retries included.
    public var requests: Int
}

/// Why a window could not be read: Metrc did not answer usably, or answered something that is
/// not a page of records.
public enum MetrcPullError: Error, Sendable, Equatable, CustomStringConvertible {
    case metrc(MetrcError)
    case page(MetrcPageError)

    public var description: String {
        switch self {
        case .metrc(let error): error.description
        case .page(let error): error.description
        }
    }

    /// True when asking later may succeed (Metrc or the network was down).
    public var isTransient: Bool {
        if case .metrc(let error) = self { return error.isTransient }
        return false
    }
}

/// Which window a pull hands out next, and what each gave.
private struct PullProgress<Entry: Sendable & Equatable>: Sendable {
    var next = 0
    var results: [Int: Result<[MetrcRecord<Entry>], MetrcPullError>] = [:]
    var failed = false
}

extension MetrcClient {
    /// The active items last modified in `[from, to)`.
    public func pullItems(from: Double, to: Double) -> MetrcPull<Catalog.Item> {
        pull(.activeItems, from: from, to: to, read: CatalogReader.readItemPage)
    }

    /// The packages of `endpoint` (active, inactive or on hold) last modified in `[from, to)`.
    public func pullPackages(_ endpoint: MetrcEndpoint, from: Double, to: Double) -> MetrcPull<Catalog.Package> {
        pull(endpoint, from: from, to: to, read: CatalogReader.readPackagePage)
    }

    /// Reads every page of every window of `[from, to)`, as many windows at once as the facility
    /// may have GETs in flight (the pacer holds the rate). Windows are handed out oldest first;
    /// once one fails no newer one is started, and only the run of whole windows from the start
    /// counts, so that the next pull resumes where this one became unsure.
    func pull<Entry>(_ endpoint: MetrcEndpoint, from: Double, to: Double,
                     read: @escaping @Sendable ([UInt8], String) throws(MetrcPageError) -> MetrcPage<Entry>) -> MetrcPull<Entry> {
        let windows = SyncWindow.plan(from: from, to: to)
        let before = requestCount
        let progress = Mutex(PullProgress<Entry>())
        let group = DispatchGroup()
        let workers = min(api.concurrentRequests, windows.count)
        for _ in 0..<workers {
            DispatchQueue.global().async(group: group) { [self] in
                while true {
                    let index: Int? = progress.withLock { state in
                        guard !state.failed, state.next < windows.count else { return nil }
                        defer { state.next += 1 }
                        return state.next
                    }
                    guard let index else { return }
                    let result = readWindow(endpoint, windows[index], read: read)
                    progress.withLock { state in
                        state.results[index] = result
                        if case .failure = result { state.failed = true }
                    }
                }
            }
        }
        group.wait()
        let results = progress.withLock { $0.results }
        var records: [MetrcRecord<Entry>] = []
        var completeUntil = from
        var error: MetrcPullError?
        for (index, window) in windows.enumerated() {
            guard let result = results[index] else { break }
            switch result {
            case .success(let found):
                records += found
                completeUntil = window.end
                continue
            case .failure(let failure):
                error = failure
            }
            break
        }
        if error == nil, let failure = results.values.compactMap({ result -> MetrcPullError? in
            if case .failure(let failure) = result { return failure }
            return nil
        }).first {
            error = failure
        }
        return MetrcPull(endpoint: endpoint, records: records, completeUntil: windows.isEmpty ? to : completeUntil, error: error,
                         requests: requestCount - before)
    }

    /// Every page of one window: the first says how many there are (v1 answers in one).
    private func readWindow<Entry>(_ endpoint: MetrcEndpoint, _ window: SyncWindow,
                                   read: ([UInt8], String) throws(MetrcPageError) -> MetrcPage<Entry>) -> Result<[MetrcRecord<Entry>], MetrcPullError> {
        var records: [MetrcRecord<Entry>] = []
        var page = 1
        while true {
            do throws(MetrcPullError) {
                let answer: Answer
                do { answer = try get(endpoint, window: window, page: page) } catch { throw .metrc(error) }
                let parsed: MetrcPage<Entry>
                do { parsed = try read(answer.body, api.url(endpoint, window: window, page: page)) } catch { throw .page(error) }
                records += parsed.records
                if api.version == .v1 || parsed.isLastPage { return .success(records) }
                page += 1
            } catch {
                return .failure(error)
            }
        }
    }
}
