import Foundation
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
    /// Why a window could not be read whole, when one could not (the oldest such).
    public var error: MetrcPullError?
    /// The GETs this pull sent, retries included.
    public var requests: Int
}

/// Why a window could not be read: Metrc did not answer usably, answered something that is not a
/// page of records, or paged in a way that cannot be followed.
public enum MetrcPullError: Error, Sendable, Equatable, CustomStringConvertible {
    case metrc(MetrcError)
    case page(MetrcPageError)
    /// The answer to page `asked` said it was page `answered` of `total`: a server (or a proxy)
    /// that ignores the page asked for would be read for ever.
    case paging(endpoint: String, asked: Int, answered: Int, total: Int)

    public var description: String {
        switch self {
        case .metrc(let error): error.description
        case .page(let error): error.description
        case .paging(let endpoint, let asked, let answered, let total):
            "\(endpoint): asked for page \(asked), Metrc answered page \(answered) of \(total); the window is not read further"
        }
    }

    /// True when asking later may succeed (Metrc or the network was down).
    public var isTransient: Bool {
        if case .metrc(let error) = self { return error.isTransient }
        return false
    }
}

/// The states of packages a pull reads: on hold and inactive too, so that a source that just
/// finished or was put on hold still resolves.
public enum PackageState: Sendable, CaseIterable {
    case active, inactive, onHold

    var endpoint: MetrcEndpoint {
        switch self {
        case .active: .activePackages
        case .inactive: .inactivePackages
        case .onHold: .onHoldPackages
        }
    }
}

/// Which window a pull hands out next, and what each gave.
private struct PullProgress<Entry: Sendable & Equatable>: Sendable {
    var next = 0
    var results: [Int: Result<[MetrcRecord<Entry>], MetrcPullError>] = [:]
    var failed = false
    var requests = 0
}

extension MetrcClient {
    /// The active items last modified in `[from, to)`.
    public func pullItems(from: Double, to: Double) -> MetrcPull<Catalog.Item> {
        pull(.activeItems, from: from, to: to, read: CatalogReader.readItemPage)
    }

    /// The packages in `state` last modified in `[from, to)`.
    public func pullPackages(_ state: PackageState, from: Double, to: Double) -> MetrcPull<Catalog.Package> {
        pull(state.endpoint, from: from, to: to, read: CatalogReader.readPackagePage)
    }

    /// Reads every page of every window of `[from, to)`, on as many threads of its own as the
    /// facility may have GETs in flight (the pacer holds the rate; blocking libcurl calls belong on
    /// threads, not a shared pool, which grows for blocked work one thread at a time). Windows are
    /// handed out oldest first; once one fails no newer one is started, and only the run of whole
    /// windows from the start counts, so that the next pull resumes where this one became unsure.
    func pull<Entry>(_ endpoint: MetrcEndpoint, from: Double, to: Double,
                     read: @escaping @Sendable ([UInt8], String) throws(MetrcPageError) -> MetrcPage<Entry>) -> MetrcPull<Entry> {
        let windows = SyncWindow.plan(from: from, to: to)
        let progress = Mutex(PullProgress<Entry>())
        let finished = DispatchSemaphore(value: 0)
        let workers = min(api.concurrentRequests, windows.count)
        for _ in 0..<workers {
            let thread = Thread { [self] in
                while true {
                    let index: Int? = progress.withLock { state in
                        guard !state.failed, state.next < windows.count else { return nil }
                        defer { state.next += 1 }
                        return state.next
                    }
                    guard let index else { break }
                    let (result, requests) = readWindow(endpoint, windows[index], read: read)
                    progress.withLock { state in
                        state.results[index] = result
                        state.requests += requests
                        if case .failure = result { state.failed = true }
                    }
                }
                finished.signal()
            }
            thread.start()
        }
        for _ in 0..<workers { finished.wait() }
        let (results, requests) = progress.withLock { ($0.results, $0.requests) }
        var records: [MetrcRecord<Entry>] = []
        var completeUntil = from
        var error: MetrcPullError?
        for (index, window) in windows.enumerated() {
            // Windows are handed out in order and none after a failure: the first missing or
            // failed one ends the run, and the oldest failure is the one reported.
            guard case .success(let found)? = results[index] else {
                if case .failure(let failure)? = results[index] { error = failure }
                break
            }
            records += found
            completeUntil = window.end
        }
        if error == nil, let failure = windows.indices.lazy.compactMap({ index -> MetrcPullError? in
            if case .failure(let failure)? = results[index] { return failure }
            return nil
        }).first {
            error = failure
        }
        return MetrcPull(endpoint: endpoint, records: records, completeUntil: windows.isEmpty ? to : completeUntil, error: error,
                         requests: requests)
    }

    /// Every page of one window, and the GETs it took: the first page says how many there are
    /// (v1 answers in one); each answer must be the page asked for, and no more pages are asked
    /// for than the first one said.
    private func readWindow<Entry>(_ endpoint: MetrcEndpoint, _ window: SyncWindow,
                                   read: ([UInt8], String) throws(MetrcPageError) -> MetrcPage<Entry>)
        -> (Result<[MetrcRecord<Entry>], MetrcPullError>, Int) {
        var records: [MetrcRecord<Entry>] = []
        var page = 1
        var total: Int?
        var requests = 0
        while true {
            do throws(MetrcPullError) {
                let answer: Answer
                do { answer = try get(endpoint, window: window, page: page, attempts: &requests) } catch { throw .metrc(error) }
                let name = endpoint.path(api.version)
                let parsed: MetrcPage<Entry>
                do { parsed = try read(answer.body, name) } catch { throw .page(error) }
                records += parsed.records
                if api.version == .v1 { return (.success(records), requests) }
                let pages = total ?? parsed.totalPages
                total = pages
                guard parsed.page == page || (page == 1 && pages == 0) else {
                    throw .paging(endpoint: name, asked: page, answered: parsed.page, total: parsed.totalPages)
                }
                if page >= pages { return (.success(records), requests) }
                page += 1
            } catch {
                return (.failure(error), requests)
            }
        }
    }
}
