#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization

/// Runs independent pieces of a batch on several cores and hands back their results in order.
///
/// The router claims, reads, evaluates, writes and moves the files of a batch this way: those
/// steps are independent per file and most of their time is spent in the kernel, where one core
/// waits on the disk cache while another works. The steps that must keep an order (names,
/// journal, audit) stay on the calling thread.
enum ParallelMap {
    /// Worker threads for a batch: one per core, at most four (beyond that, the folder locks the
    /// kernel takes for each created file leave the rest waiting).
    static let workers: Int = max(1, min(4, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))

    /// Below this many items the work stays on the calling thread: handing it out costs more.
    static let minimumCount = 8

    /// `transform` of each index in `0..<count`, in order. `transform` must be safe to run
    /// concurrently for different indices.
    ///
    /// Each worker takes the next index not yet taken, one at a time, rather than a share fixed in
    /// advance: on a machine where another process keeps a core busy, the worker that shares that
    /// core gets a fraction of it (or starts late, waiting to be scheduled), and a fixed share
    /// would leave the batch waiting for it; this way the other workers take its part, and the
    /// batch waits at most for the one item each worker is on.
    static func map<T>(_ count: Int, workers: Int = workers, _ transform: (Int) -> T) -> [T] {
        guard count >= minimumCount, workers > 1 else { return (0..<count).map(transform) }
        // The caller promises that `transform` may run concurrently, and each slot is written by
        // the one worker that took its index and read after all workers are done: hence the two
        // unchecked captures.
        nonisolated(unsafe) let slots = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
        nonisolated(unsafe) let transform = transform
        slots.initialize(repeating: nil)
        defer {
            slots.deinitialize()
            slots.deallocate()
        }
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: min(workers, count)) { _ in
            while true {
                let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard index < count else { return }
                slots[index] = transform(index)
            }
        }
        return slots.map { $0! }
    }
}
