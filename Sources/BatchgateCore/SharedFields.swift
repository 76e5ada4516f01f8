/// A value's stored fields in one heap box that its copies share until one of them changes
/// (copy on write), for the model's big values: a package request or verdict holds a dozen strings
/// and arrays, and copying one as a plain struct retains and later releases each of them. The
/// checker copies each a few times per package (into the resolved package, through array
/// subscripts), and those atomic counts were a tenth of `check`'s time; a copy of the box is one.
///
/// Unchecked `Sendable`: the box is only changed through `value`'s `_modify`, after making it
/// unique, so a box another copy (or thread) can see is never written. The public fields of a
/// boxed value are computed properties: writing two of one value at once (`swap(&r.tag, &r.item)`)
/// is an overlapping access the compiler refuses, where the plain struct allowed it.
struct SharedFields<Fields: Equatable & Sendable>: @unchecked Sendable, Equatable {
    private final class Box {
        /// Unchecked: a class's stored property is otherwise checked for exclusive access at run
        /// time on every read and write (two hundred thousand checks in a run over 400 files).
        /// Writes happen only in `value`'s `_modify`, on a box no other copy holds.
        @exclusivity(unchecked) var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    init(_ fields: Fields) {
        box = Box(fields)
    }

    var value: Fields {
        _read { yield box.fields }
        _modify {
            if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
            yield &box.fields
        }
    }

    /// The fields compared, also for copies that share a box: a request whose quantity is NaN is
    /// not equal to itself, as it was not before the box.
    static func == (lhs: SharedFields, rhs: SharedFields) -> Bool {
        lhs.box.fields == rhs.box.fields
    }

    /// The fields as a mirror shows them, so that `dump`, `print` and a failed expectation show a
    /// request's or a verdict's fields, not the box.
    var mirror: Mirror { Mirror(reflecting: box.fields) }
}
