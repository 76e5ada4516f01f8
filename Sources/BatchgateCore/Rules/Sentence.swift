extension String {
    /// `parts` one after the other, in a string allocated once at its full length. The rules'
    /// sentences run to hundreds of bytes in a dozen parts, and string interpolation, which starts
    /// small and grows its buffer several times on the way, made writing them a large part of
    /// evaluating a package.
    init(concatenating parts: String...) {
        self.init()
        reserveCapacity(parts.reduce(0) { $0 + $1.utf8.count })
        for part in parts { append(part) }
    }
}
