#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// Runs independent pieces of a batch on several cores and hands back their results in order.
///
/// The router reads, evaluates and writes the files of a batch this way: those steps are
/// independent per file and most of their time is spent in the kernel, where one core waits on
/// the disk cache while another works. The steps that must keep an order (names, journal, moves)
/// stay on the calling thread.
enum ParallelMap {
    /// Worker threads for a batch: one per core, at most four (beyond that, the folder locks the
    /// kernel takes for each created file leave the rest waiting).
    static let workers: Int = max(1, min(4, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))

    /// Below this many items the work stays on the calling thread: handing it out costs more.
    static let minimumCount = 8

    /// `transform` of each index in `0..<count`, in order. Each worker takes every `workers`-th
    /// index, so that files of each kind spread evenly. `transform` must be safe to run
    /// concurrently for different indices.
    static func map<T>(_ count: Int, workers: Int = workers, _ transform: (Int) -> T) -> [T] {
        guard count >= minimumCount, workers > 1 else { return (0..<count).map(transform) }
        // The caller promises that `transform` may run concurrently, and each slot is written by
        // one lane only and read after all lanes are done: hence the two unchecked captures.
        nonisolated(unsafe) let slots = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
        nonisolated(unsafe) let transform = transform
        slots.initialize(repeating: nil)
        defer {
            slots.deinitialize()
            slots.deallocate()
        }
        let lanes = min(workers, count)
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            for index in stride(from: lane, to: count, by: lanes) { slots[index] = transform(index) }
        }
        return slots.map { $0! }
    }
}
