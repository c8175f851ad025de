// Branches, tags and Call-IDs: the right length and alphabet, and unique
// (they are drawn 12 characters per random 64-bit word).
import Testing
@testable import SIP

@Suite struct IdentifierTests {
    @Test func tokensHaveTheLengthAndAlphabetAsked() {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789")
        for count in [1, 10, 11, 12, 13, 20, 24, 25, 40] {
            let token = SIPIdentifiers.randomToken(count)
            #expect(token.count == count)
            #expect(token.allSatisfy(allowed.contains))
        }
        #expect(SIPIdentifiers.branch().hasPrefix("z9hG4bK"))
        #expect(SIPIdentifiers.callID().count == 20)
    }

    @Test func tokensDoNotRepeatAndUseEveryCharacter() {
        let tokens = (0..<20_000).map { _ in SIPIdentifiers.tag() }
        #expect(Set(tokens).count == tokens.count)
        // Every position of a tag (first, middle, last digit of its draw) sees all 36 characters.
        for position in [0, 5, 9] {
            let seen = Set(tokens.map { Array($0)[position] })
            #expect(seen.count == 36)
        }
    }
}
