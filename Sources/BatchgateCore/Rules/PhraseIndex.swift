/// Phrases filed under the forms their first word may take, so a text is read once, a look-up a
/// word, however many phrases there are. (Scanning each text once per phrase made the rules a
/// third of `batchgate check`'s time.)
struct PhraseIndex<Tag: Sendable>: Sendable {
    /// One place a phrase occurs: which phrase, with its tag, and its word positions.
    struct Occurrence {
        var phrase: WordPhrase
        var tag: Tag
        var range: Range<Int>
    }

    private var byFirstWord: [String: [(phrase: WordPhrase, tag: Tag)]] = [:]
    /// Bytes every occurrence holds, whatever its ending: the start of each phrase's first word.
    private let beginnings: InfixFinder
    /// Whether some phrase has no beginning to look for (a one-letter word that takes endings).
    private var anyText = false

    init(_ entries: [(phrase: WordPhrase, tag: Tag)]) {
        var beginnings: [String] = []
        for entry in entries {
            for form in entry.phrase.firstWordForms { byFirstWord[form, default: []].append(entry) }
            // Every form of a word holds it less its last letter ("terpen" in "terpening", "gumm"
            // in "gummies"); a word joined to a "non" before it is found from its own letters.
            var word = Substring(entry.phrase.words[0])
            if word.hasPrefix("non") { word = word.dropFirst(3) }
            if entry.phrase.words.count == 1 { word = word.dropLast() }
            if word.isEmpty || !word.utf8.allSatisfy({ $0 < 0x80 }) { anyText = true } else { beginnings.append(String(word)) }
        }
        self.beginnings = InfixFinder([beginnings])
    }

    /// False when no phrase can occur in `text`, found without splitting it into words. A text
    /// beyond ASCII may hold a word only its Unicode lower case spells, and is always read.
    func mayOccur(in text: String) -> Bool {
        anyText || !text.utf8.allSatisfy({ $0 < 0x80 }) || beginnings.firstList(in: text) != nil
    }

    /// Every occurrence in `words`, in text order (and, at one place, in the order given).
    func occurrences(in words: Words) -> [Occurrence] {
        var found: [Occurrence] = []
        for (index, word) in words.words.enumerated() {
            guard let candidates = byFirstWord[word.key] else { continue }
            for candidate in candidates {
                let end = index + candidate.phrase.words.count
                guard end <= words.words.count, candidate.phrase.matches(words.words[index..<end]) else { continue }
                found.append(Occurrence(phrase: candidate.phrase, tag: candidate.tag, range: index..<end))
            }
        }
        return found
    }
}
