import Testing
@testable import BatchgateCore

/// The word matcher the additive and named-form rules read free text with (docs/rules.md:
/// "Category names and words are compared trimmed and case-insensitively").
@Suite("Words")
struct WordsTests {
    func phrase(_ text: String) throws -> WordPhrase {
        try #require(WordPhrase(text))
    }

    /// Where `phrase` first occurs in `text`, as written; nil when it does not.
    func match(_ phrase: String, in text: String) throws -> String? {
        let words = Words(text)
        return words.ranges(of: try self.phrase(phrase)).first.map { String(words.text(of: $0)) }
    }

    @Test func splitsIntoLowerCasedRunsOfLettersAndDigits() {
        let words = Words("Blue-Dream 510 Cart, w/terps (5%THC)")
        #expect(words.words.map(\.key) == ["blue", "dream", "510", "cart", "w", "terps", "5", "thc"])
        #expect(Words("").words.isEmpty)
        #expect(Words(" -/ ,.").words.isEmpty)
    }

    @Test func eachWordRemembersWhereItStands() {
        let words = Words("  Sprayed w/ TERPENES.")
        #expect(words.words.map { String(words.text[$0.range]) } == ["Sprayed", "w", "TERPENES"])
    }

    @Test(arguments: [
        ("terpene", "Terpenes added", "Terpenes"),
        ("terpene", "TERPENE", "TERPENE"),
        ("terpene", "sprayed w/ terpene.", "terpene"),
        ("terp", "w/terps", "terps"),
        ("terp", "+ Terps", "Terps"),
        ("terp", "5%terps", "terps"),
        ("flavor", "Flavored", "Flavored"),
        ("flavor", "artificial flavoring", "flavoring"),
        ("flavor", "two flavors", "flavors"),
        ("flavour", "Flavoured", "Flavoured"),
        ("gummy", "Watermelon Gummies", "Gummies"),
        ("gummy", "gummied", "gummied"),
        ("glycerine", "glycerined", "glycerined"),
        ("MCT", "mct oil", "mct"),
        ("sugar", "Sugars", "Sugars"),
        ("box", "boxes", "boxes"),
    ])
    func matchesWholeWordsWithAnEnding(phrase: String, text: String, found: String) throws {
        #expect(try match(phrase, in: text) == found)
    }

    @Test(arguments: [
        ("sugar", "Sugarcane"),              // not a whole word
        ("terp", "Interpret"),
        ("cart", "Cartel"),
        ("cart", "Go-kart"),
        ("terpene", "terp"),                 // shorter than the word
        ("flavor", "Flavorful"),             // "ful" is no ending
        ("terp", "terpy"),
        ("terp", "terpd"),                   // "d" only after a final e
        ("sugar", "sugarly"),
        ("gummy", "gummys2"),
        ("oil", ""),
    ])
    func doesNotMatchPartsOfWordsOrOtherEndings(phrase: String, text: String) throws {
        #expect(try match(phrase, in: text) == nil)
    }

    @Test func phrasesMatchWordForWordAcrossSpacesAndHyphens() throws {
        #expect(try match("coconut oil", in: "Infused in Coconut-Oil") == "Coconut-Oil")
        #expect(try match("coconut oil", in: "coconut   oil") == "coconut   oil")
        #expect(try match("coconut oil", in: "fractionated coconut oils") == "coconut oils")
        #expect(try match("coconut oil", in: "COCONUT/OIL blend") == "COCONUT/OIL")
        // Only the last word takes an ending, and the order counts.
        #expect(try match("coconut oil", in: "coconuts oil") == nil)
        #expect(try match("coconut oil", in: "oil, coconut") == nil)
        #expect(try match("coconut oil", in: "coconut") == nil)
        #expect(try match("propylene glycol", in: "Propylene-Glycol") == "Propylene-Glycol")
        #expect(try match("pre-roll", in: "Blue Dream Pre Rolls") == "Pre Rolls")
        #expect(try match("pre-roll", in: "Pre-Rolled Cone") == "Pre-Rolled")
        #expect(try match("preroll", in: "Pre-Roll") == nil, "one word is not two")
    }

    @Test func nonIsJoinedToTheWordAfterIt() throws {
        #expect(Words("Infused Non-Edible").words.map(\.key) == ["infused", "nonedible"])
        #expect(Words("non edible").words.map(\.key) == ["nonedible"])
        #expect(Words("Non - Flavored").words.map(\.key) == ["nonflavored"])
        #expect(try match("edible", in: "Infused Non-Edible") == nil)
        #expect(try match("flavor", in: "non-flavored") == nil)
        #expect(try match("flavor", in: "NON FLAVORED") == nil)
        // Only across a hyphen or a space: punctuation ends the negation.
        #expect(try match("terpene", in: "GMO: non. Terpenes added") == "Terpenes")
        #expect(try match("terpene", in: "non-GMO, terpenes added") == "terpenes")
        // A "non" word elsewhere is left alone.
        #expect(Words("nonstop").words.map(\.key) == ["nonstop"])
        #expect(Words("Non").words.map(\.key) == ["non"])
        // The joined word is quoted as written.
        #expect(try match("non-edible", in: "Infused Non-Edible") == "Non-Edible")
    }

    @Test func caseDoesNotMatter() throws {
        #expect(try match("TeRpEnE", in: "terpenes") == "terpenes")
        #expect(try match("terpene", in: "TERPENES") == "TERPENES")
        #expect(try match("Coconut Oil", in: "cOcOnUt oIl") == "cOcOnUt oIl")
    }

    @Test func unicodeLettersAreLetters() throws {
        let words = Words("Crème Brûlée – 3.5g")
        #expect(words.words.map(\.key) == ["crème", "brûlée", "3", "5g"])
        #expect(try match("brûlée", in: "CRÈME BRÛLÉE") == "BRÛLÉE")
        // Text with any non-ASCII character goes the slow way and must find the same words.
        #expect(try match("terp", in: "Blue Dream – added terps") == "terps")
        #expect(try match("coconut oil", in: "in coconut\u{00A0}oil") == "coconut\u{00A0}oil")
        #expect(try match("edible", in: "Infused Non-Edible – Crème") == nil)
        #expect(Words("terps’ blend").words.map(\.key) == ["terps", "blend"])
    }

    @Test func aPhraseNeedsALetterOrDigit() {
        #expect(WordPhrase("--") == nil)
        #expect(WordPhrase("   ") == nil)
        #expect(WordPhrase(" Coconut Oil ")?.text == "Coconut Oil")
        #expect(WordPhrase("Coconut-Oil")?.words == ["coconut", "oil"])
        #expect(RuleSettings.problem(phrase: "%%") == "\"%%\" has no letter or digit to look for")
        #expect(RuleSettings.problem(phrase: "stevia") == nil)
    }

    @Test func everyDefaultAdditiveWordIsAPhrase() {
        for word in RuleSettings.defaultAdditiveWords {
            #expect(WordPhrase(word) != nil, "\(word)")
        }
    }

    @Test func firstMatchIsTheEarliest() throws {
        #expect(try match("terp", in: "Terps, then more terps") == "Terps")
        let text = "Sugar Cane with sugar"
        let words = Words(text)
        let found = try #require(words.ranges(of: try phrase("sugar")).first.map(words.text(of:)))
        #expect(found.startIndex == text.startIndex)
    }
}

/// The index reads a text once and finds what scanning it once per phrase would.
@Suite("Phrase index")
struct PhraseIndexTests {
    @Test func findsEveryPhraseInTextOrderWithEndingsAndAcrossHyphens() throws {
        let phrases = ["terpene", "coconut oil", "MCT", "gummy"].compactMap(WordPhrase.init)
        let index = PhraseIndex(phrases.map { (phrase: $0, tag: $0.text) })
        let words = Words("Gummies with coconut-oil, MCT and terpenes; more Terpenes")
        let found = index.occurrences(in: words)
        #expect(found.map(\.tag) == ["gummy", "coconut oil", "MCT", "terpene", "terpene"])
        #expect(found.map { String(words.text(of: $0.range)) } == ["Gummies", "coconut-oil", "MCT", "terpenes", "Terpenes"])
        // The same as asking each phrase in turn.
        for phrase in phrases {
            #expect(found.filter { $0.tag == phrase.text }.map(\.range) == words.ranges(of: phrase), "\(phrase.text)")
        }
        #expect(index.occurrences(in: Words("coconut water, oil")).isEmpty)
    }
}
