import Foundation
import Testing
import BatchgateSystem

@Suite("Base64")
struct Base64Tests {
    /// RFC 4648 §10's vectors, and every byte value against Foundation's encoder.
    @Test func matchesTheStandard() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (text, encoded) in vectors { #expect(Base64.string(Array(text.utf8)) == encoded, "\(text)") }
        #expect(Base64.string(Array(0...255)) == Data(Array(0...255)).base64EncodedString())
    }
}
