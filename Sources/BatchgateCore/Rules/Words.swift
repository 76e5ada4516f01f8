/// Free text split into words for the rules to look in: runs of letters and digits, lower-cased,
/// each remembering where it stands so a finding can quote the text as written.
///
/// `non` is joined to the word after it ("non-edible" is the one word `nonedible`), so that a
/// negated word ("Infused Non-Edible", "non-flavored") never counts as the word itself.
struct Words {
    struct Word {
        var key: String
        var range: Range<String.Index>
    }

    let text: String
    let words: [Word]

    init(_ text: String) {
        self.text = text
        var words: [Word] = []
        func append(_ key: String, _ range: Range<String.Index>) {
            if let last = words.last, last.key == "non",
               text[last.range.upperBound..<range.lowerBound].allSatisfy({ "- \u{2013}\u{2011}\u{A0}".contains($0) }) {
                words[words.count - 1] = Word(key: "non" + key, range: last.range.lowerBound..<range.upperBound)
            } else {
                words.append(Word(key: key, range: range))
            }
        }
        let utf8 = text.utf8
        let walkedASCII = utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            guard !bytes.contains(where: { $0 >= 0x80 }) else { return false }
            // Most names and notes are ASCII: walk the bytes, not the grapheme clusters, and write
            // each key lower-cased straight from them (a key of up to 15 bytes is then stored
            // inline, with no allocation), which costs several times less on a manifest of
            // thousands of packages.
            // At most one word in two bytes: room for them all at once, rather than growing as they come.
            words.reserveCapacity((bytes.count + 1) / 2)
            var start = 0
            while start < bytes.count {
                guard Self.isASCIIWordByte(bytes[start]) else {
                    start += 1
                    continue
                }
                var end = start + 1
                while end < bytes.count, Self.isASCIIWordByte(bytes[end]) { end += 1 }
                let key = String(unsafeUninitializedCapacity: end - start) { key in
                    for offset in 0..<(end - start) {
                        let byte = bytes[start + offset]
                        key[offset] = byte <= UInt8(ascii: "Z") && byte >= UInt8(ascii: "A") ? byte | 0x20 : byte
                    }
                    return end - start
                }
                append(key, utf8.index(utf8.startIndex, offsetBy: start)..<utf8.index(utf8.startIndex, offsetBy: end))
                start = end
            }
            return true
        }
        if walkedASCII != true {
            var index = text.startIndex
            while index < text.endIndex {
                guard Self.isWordCharacter(text[index]) else {
                    index = text.index(after: index)
                    continue
                }
                var end = text.index(after: index)
                while end < text.endIndex, Self.isWordCharacter(text[end]) { end = text.index(after: end) }
                append(text[index..<end].lowercased(), index..<end)
                index = end
            }
        }
        self.words = words
    }

    /// Every place `phrase` occurs, as word positions.
    func ranges(of phrase: WordPhrase) -> [Range<Int>] {
        let count = phrase.words.count
        guard count > 0, words.count >= count else { return [] }
        return (0...(words.count - count)).filter { phrase.matches(words[$0..<($0 + count)]) }.map { $0..<($0 + count) }
    }

    /// True when the whole text is `phrase` (with an ending allowed), nothing before or after.
    func isExactly(_ phrase: WordPhrase) -> Bool {
        words.count == phrase.words.count && phrase.matches(words[...])
    }

    /// True when the text states a unit's size: "1g", "0.5 g", "500mg", "30 ml", "3.5 grams".
    var statesUnitSize: Bool {
        for (index, word) in words.enumerated() {
            let digits = word.key.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty else { continue }
            let unit = word.key.dropFirst(digits.count)
            if Self.sizeUnits.contains(String(unit)) { return true }
            if unit.isEmpty, let next = key(at: index + 1), Self.sizeUnits.contains(next) { return true }
        }
        return false
    }

    /// True when these words are all of `original`'s and, beyond them, only numbers, sizes and
    /// words for a pack ("Live Resin 1g" to "Live Resin 1g 2-Pack"). With `sizesMayChange`, the
    /// original's sizes need not be kept ("Live Resin 1g" to "Live Resin 2-Pack").
    func onlyAddsPackWords(to original: Words, sizesMayChange: Bool = false) -> Bool {
        let kept = Set(original.words.map(\.key).filter { !sizesMayChange || !Self.isPackWord($0) })
        let present = Set(words.map(\.key))
        guard kept.isSubset(of: present) else { return false }
        return words.allSatisfy { kept.contains($0.key) || Self.isPackWord($0.key) }
    }

    /// A number, a size ("1g", "g") or a word for a pack ("2pk", "duo").
    private static func isPackWord(_ key: String) -> Bool {
        let rest = String(key.drop { $0.isASCII && $0.isNumber })
        return rest.isEmpty || sizeUnits.contains(rest) || packWords.contains(rest)
    }

    /// True when the word at `index` is joined to the one before it by spaces or hyphens alone
    /// ("no terpenes", "terpene-free"), not by other punctuation ("No. Terpenes").
    func isJoined(_ index: Int) -> Bool {
        guard index > 0, index < words.count else { return false }
        return text[words[index - 1].range.upperBound..<words[index].range.lowerBound]
            .allSatisfy { $0 == " " || $0 == "-" || $0 == "\u{A0}" || $0 == "\u{2011}" }
    }

    private static let sizeUnits: Set<String> = ["g", "gr", "gram", "grams", "mg", "oz", "ml"]
    private static let packWords: Set<String> = [
        "pack", "packs", "pk", "pks", "ct", "x", "duo", "trio", "box", "bundle", "multipack", "sampler", "set", "count",
        "case", "tin", "bag", "each", "ea", "units", "jar", "jars",
    ]

    /// The text of the words at `range`, as written.
    func text(of range: Range<Int>) -> Substring {
        text[words[range.lowerBound].range.lowerBound..<words[range.upperBound - 1].range.upperBound]
    }

    /// The word at `index`, or nil beyond either end.
    func key(at index: Int) -> String? {
        words.indices.contains(index) ? words[index].key : nil
    }

    func contains(_ phrase: WordPhrase) -> Bool {
        !ranges(of: phrase).isEmpty
    }

    private static func isASCIIWordByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A)
    }

    private static func isWordCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber
    }
}

/// A word or phrase to look for in ``Words``: each word whole, in any case; the last may carry an
/// ending (`terpene` finds "Terpenes", `flavor` finds "flavored" and "flavoring", `gummy` finds
/// "gummies").
struct WordPhrase: Sendable, Equatable {
    /// The phrase as configured, for messages.
    let text: String
    let words: [String]
    /// Every form the last word may take: itself and itself with an ending.
    private let lastForms: Set<String>

    /// Nil when `text` has no letter or digit.
    init?(_ text: String) {
        let split = Words(text).words.map(\.key)
        guard let last = split.last else { return nil }
        self.text = text.trimmingWhitespace()
        self.words = split
        self.lastForms = Self.forms(of: last)
    }

    /// The forms the first word may take: any ending when it is also the last.
    var firstWordForms: Set<String> {
        words.count == 1 ? lastForms : [words[0]]
    }

    func matches(_ candidate: ArraySlice<Words.Word>) -> Bool {
        var offset = 0
        for word in candidate {
            // The forms are worked out once, so a match is a comparison and a look-up, not string
            // surgery on every word of every note.
            guard offset == words.count - 1 ? lastForms.contains(word.key) : word.key == words[offset] else { return false }
            offset += 1
        }
        return true
    }

    /// `stem` with English endings: `flavor` gives flavors, flavored, flavoring, flavorings;
    /// `repackage` gives repackaged, repackaging (the `e` dropped); `gummy` gives gummies.
    private static func forms(of stem: String) -> Set<String> {
        var forms: Set<String> = [stem]
        for ending in ["s", "es", "ed", "ing", "ings"] { forms.insert(stem + ending) }
        if stem.hasSuffix("e") {
            forms.insert(stem + "d")
            forms.insert(stem.dropLast() + "ing")
            forms.insert(stem.dropLast() + "ings")
        }
        if stem.hasSuffix("y") {
            forms.insert(stem.dropLast() + "ies")
            forms.insert(stem.dropLast() + "ied")
        }
        // A doubled last consonant: splitting, relabelled.
        if let last = stem.last, last.isLetter, !"aeiouwxy".contains(last) {
            forms.insert(stem + String(last) + "ing")
            forms.insert(stem + String(last) + "ed")
        }
        return forms
    }
}
