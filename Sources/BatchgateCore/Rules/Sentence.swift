extension String {
    /// `parts` one after the other, in a string allocated once at its full length.
    init(concatenating parts: String...) {
        self.init(concatenating: parts)
    }

    /// `parts` one after the other, in a string allocated once at its full length. The rules'
    /// sentences run to hundreds of bytes in a dozen parts: string interpolation starts small and
    /// grows its buffer several times on the way, and even into a buffer large enough each
    /// `append` costs several times the copy of its bytes, which is all this does.
    init(concatenating parts: [String]) {
        let count = parts.reduce(0) { $0 + $1.utf8.count }
        self.init(unsafeUninitializedCapacity: count) { buffer in
            var written = 0
            for var part in parts {
                written += part.withUTF8 { bytes in
                    guard let source = bytes.baseAddress, let target = buffer.baseAddress else { return 0 }
                    UnsafeMutableRawPointer(target + written).copyMemory(from: source, byteCount: bytes.count)
                    return bytes.count
                }
            }
            return written
        }
    }
}
