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

    init(_ entries: [(phrase: WordPhrase, tag: Tag)]) {
        for entry in entries {
            for form in entry.phrase.firstWordForms { byFirstWord[form, default: []].append(entry) }
        }
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
