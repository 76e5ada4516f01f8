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
    /// The records of those windows left out because they could not be read (an item without a
    /// Name, a record that is not an object), each naming the endpoint, the window, the page, the
    /// record's place and what is wrong; the first ``skippedListedAtMost`` of them.
    public var skipped: [String] = []
    /// How many records were left out in all, listed in ``skipped`` or not.
    public var skippedCount = 0

    /// The most skipped records listed one by one: a window of bad records would otherwise fill
    /// the log with thousands of lines saying the same thing.
    public static var skippedListedAtMost: Int { 50 }
}

/// Why a window could not be read: Metrc did not answer usably, answered something that is not a
/// page of records, or paged in a way that cannot be followed.
public enum MetrcPullError: Error, Sendable, Equatable, CustomStringConvertible {
    case metrc(MetrcError)
    case page(MetrcPageError)
    /// The answer to page `asked` said it was page `answered` of `total`: a server (or a proxy)
    /// that ignores the page asked for would be read for ever.
    case paging(endpoint: String, asked: Int, answered: Int, total: Int)
    /// Each of `reads` readings of the window from its first page saw its count of records or
    /// pages change before its last page: records were being modified all the while, and a
    /// window read by offsets as they shift could skip one.
    case recordsMoved(endpoint: String, window: SyncWindow, reads: Int, firstTotal: Int?, lastTotal: Int?)

    public var description: String {
        switch self {
        case .metrc(let error): error.description
        case .page(let error): error.description
        case .paging(let endpoint, let asked, let answered, let total):
            "\(endpoint): asked for page \(asked), Metrc answered page \(answered) of \(total); the window is not read further"
        case .recordsMoved(let endpoint, let window, let reads, let firstTotal, let lastTotal):
            "\(endpoint), window \(window): records were modified while the window was read page by page, on each of \(reads) reads "
                + "(the last saw \(firstTotal.map(String.init) ?? "no count of") records on its first page and \(lastTotal.map(String.init) ?? "no count") "
                + "on a later one); the window is read again at the next sync"
        }
    }

    /// True when asking later may succeed: Metrc or the network was down, or records were being
    /// modified while a window was read.
    public var isTransient: Bool {
        switch self {
        case .metrc(let error): error.isTransient
        case .recordsMoved: true
        case .page, .paging: false
        }
    }

    /// True when Metrc did not answer at all (after every retry): the catalog cannot be asked,
    /// which is no fault of the configuration or of a manifest.
    public var isUnreachable: Bool {
        if case .metrc(.unreachable) = self { return true }
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

/// What reading one window gave: its records, or why it could not be read whole, with the
/// records it skipped and the GETs it took either way.
private struct WindowRead<Entry: Sendable & Equatable>: Sendable {
    var result: Result<[MetrcRecord<Entry>], MetrcPullError>
    var skipped: [MetrcPageError]
    var requests: Int
}

/// Which window a pull hands out next, and what each gave.
private struct PullProgress<Entry: Sendable & Equatable>: Sendable {
    var next = 0
    var results: [Int: WindowRead<Entry>] = [:]
    var failed = false
    var requests = 0
}

extension MetrcClient {
    /// The active items last modified in `[from, to)`.
    public func pullItems(from: Double, to: Double) -> MetrcPull<Catalog.Item> {
        pull(.activeItems, from: from, to: to) { bytes, endpoint throws(MetrcPageError) in
            try CatalogReader.readItemPage(bytes, endpoint: endpoint, skippingBadRecords: true)
        }
    }

    /// The packages in `state` last modified in `[from, to)`.
    public func pullPackages(_ state: PackageState, from: Double, to: Double) -> MetrcPull<Catalog.Package> {
        pull(state.endpoint, from: from, to: to) { bytes, endpoint throws(MetrcPageError) in
            try CatalogReader.readPackagePage(bytes, endpoint: endpoint, skippingBadRecords: true)
        }
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
                    let outcome = readWindow(endpoint, windows[index], read: read)
                    progress.withLock { state in
                        state.results[index] = outcome
                        state.requests += outcome.requests
                        if case .failure = outcome.result { state.failed = true }
                    }
                }
                finished.signal()
            }
            thread.start()
        }
        for _ in 0..<workers { finished.wait() }
        let (results, requests) = progress.withLock { ($0.results, $0.requests) }
        var pulled = MetrcPull<Entry>(endpoint: endpoint, records: [], completeUntil: windows.isEmpty ? to : from, error: nil,
                                      requests: requests)
        for (index, window) in windows.enumerated() {
            // Windows are handed out in order and none after a failure: the first missing or
            // failed one ends the run, and the oldest failure is the one reported.
            guard let read = results[index], case .success(let found) = read.result else {
                if case .failure(let failure)? = results[index]?.result { pulled.error = failure }
                break
            }
            pulled.records += found
            pulled.completeUntil = window.end
            pulled.skippedCount += read.skipped.count
            for problem in read.skipped.prefix(MetrcPull<Entry>.skippedListedAtMost - pulled.skipped.count) {
                pulled.skipped.append(problem.description)
            }
        }
        if pulled.error == nil, let failure = windows.indices.lazy.compactMap({ index -> MetrcPullError? in
            if case .failure(let failure)? = results[index]?.result { return failure }
            return nil
        }).first {
            pulled.error = failure
        }
        return pulled
    }

    /// How many times a window is read again from its first page when its records move while it
    /// is read, before the pull gives up on it until the next sync.
    static let rereadsWhenRecordsMove = 3

    /// Every page of one window: the first page says how many there are (v1 answers in one); each
    /// answer must be the page asked for, and no more pages are asked for than the first one said.
    ///
    /// Pages are offsets into the window's records as they are when each page is asked for. A
    /// record modified meanwhile leaves the window (its LastModified moves past it) and every
    /// record after it moves one place forward, so one would fall between two pages unseen; a new
    /// record can enter the newest window the same way. Either changes the window's count of
    /// records (or of pages), which every page carries: when a later page's differs from the
    /// first's, the window is read again from page 1, up to ``rereadsWhenRecordsMove`` times.
    private func readWindow<Entry>(_ endpoint: MetrcEndpoint, _ window: SyncWindow,
                                   read: ([UInt8], String) throws(MetrcPageError) -> MetrcPage<Entry>) -> WindowRead<Entry> {
        var requests = 0
        let name = endpoint.path(api.version)
        var totals: (first: Int?, last: Int?) = (nil, nil)
        for _ in 0...Self.rereadsWhenRecordsMove {
            var records: [MetrcRecord<Entry>] = []
            var skipped: [MetrcPageError] = []
            var first: (pages: Int, records: Int?)?
            var page = 1
            reading: while true {
                do throws(MetrcPullError) {
                    let answer: Answer
                    do { answer = try get(endpoint, window: window, page: page, attempts: &requests) } catch { throw .metrc(error) }
                    let parsed: MetrcPage<Entry>
                    do { parsed = try read(answer.body, "\(name), window \(window), page \(page)") } catch { throw .page(error) }
                    if api.version == .v1 {
                        return WindowRead(result: .success(parsed.records), skipped: parsed.skipped, requests: requests)
                    }
                    let pages = first?.pages ?? parsed.totalPages
                    guard parsed.page == page || (page == 1 && pages == 0) else {
                        throw .paging(endpoint: name, asked: page, answered: parsed.page, total: parsed.totalPages)
                    }
                    if let first, parsed.totalPages != first.pages || parsed.totalRecords != first.records {
                        totals = (first.records, parsed.totalRecords)
                        break reading
                    }
                    first = first ?? (parsed.totalPages, parsed.totalRecords)
                    records += parsed.records
                    skipped += parsed.skipped
                    if page >= pages { return WindowRead(result: .success(records), skipped: skipped, requests: requests) }
                    page += 1
                } catch {
                    return WindowRead(result: .failure(error), skipped: [], requests: requests)
                }
            }
        }
        return WindowRead(result: .failure(.recordsMoved(endpoint: name, window: window, reads: Self.rereadsWhenRecordsMove + 1,
                                                         firstTotal: totals.first, lastTotal: totals.last)),
                          skipped: [], requests: requests)
    }
}

extension SyncWindow: CustomStringConvertible {
    /// `2026-12-01T00:00:00+00:00 to 2026-12-02T00:00:00+00:00`, as the window is asked for.
    public var description: String { "\(startText) to \(endText)" }
}
