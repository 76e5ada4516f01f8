import Testing
@testable import BatchgateAlerts

@Suite("Retry policy")
struct RetryPolicyTests {
    let policy = RetryPolicy()

    @Test(arguments: [200, 201, 202, 204, 299])
    func anyTwoHundredIsDelivered(status: Int) {
        #expect(policy.verdict(after: .answered(status: status, retryAfter: nil), attempt: 1, age: 0, jitter: 0.5) == .delivered)
    }

    @Test func backsOffExponentiallyFromOneSecondToTenMinutes() {
        func delay(_ attempt: Int, jitter: Double) -> Double? {
            if case .retry(let seconds) = policy.verdict(after: .failed("timeout"), attempt: attempt, age: 0, jitter: jitter) {
                return seconds
            }
            return nil
        }
        #expect(delay(1, jitter: 1) == 1)
        #expect(delay(2, jitter: 1) == 2)
        #expect(delay(3, jitter: 1) == 4)
        #expect(delay(10, jitter: 1) == 512)
        #expect(delay(11, jitter: 1) == 600, "capped at ten minutes")
        #expect(delay(200, jitter: 1) == 600)
        #expect(delay(4, jitter: 0) == 4, "jitter keeps at least half of the backoff")
        #expect(delay(4, jitter: 0.5) == 6)
    }

    @Test func honoursRetryAfterOn429And503() {
        #expect(policy.verdict(after: .answered(status: 429, retryAfter: 30), attempt: 1, age: 0, jitter: 0) == .retry(afterSeconds: 30))
        #expect(policy.verdict(after: .answered(status: 503, retryAfter: 90), attempt: 2, age: 10, jitter: 0) == .retry(afterSeconds: 90))
        #expect(policy.verdict(after: .answered(status: 429, retryAfter: 0), attempt: 3, age: 0, jitter: 1) == .retry(afterSeconds: 4),
                "a Retry-After shorter than the backoff does not shorten it")
        #expect(policy.verdict(after: .answered(status: 429, retryAfter: nil), attempt: 1, age: 0, jitter: 1) == .retry(afterSeconds: 1))
    }

    @Test(arguments: [400, 401, 403, 404, 410, 413, 422])
    func otherClientErrorsAreARefusalOfTheContent(status: Int) {
        #expect(policy.verdict(after: .answered(status: status, retryAfter: nil), attempt: 1, age: 0, jitter: 0.5) == .refusedContent)
    }

    @Test func a408IsTriedAgainLikeATimeout() {
        #expect(policy.verdict(after: .answered(status: 408, retryAfter: nil), attempt: 1, age: 0, jitter: 1) == .retry(afterSeconds: 1))
    }

    @Test func anSMTPRefusalOfTheMessageIsOneOfTheContentAndOfTheLoginIsFinal() {
        #expect(policy.verdict(after: .refusedContent("500 Line too long"), attempt: 1, age: 0, jitter: 0) == .refusedContent)
        let login = policy.verdict(after: .refused("the SMTP server refused the login"), attempt: 1, age: 0, jitter: 0)
        #expect(login == .giveUp(reason: "sending it again would not help"), "the reason does not repeat the answer")
    }

    @Test func serverErrorsAndFailuresRetryUntilTheMaximumAge() {
        #expect(policy.verdict(after: .answered(status: 500, retryAfter: nil), attempt: 5, age: 3_600, jitter: 1) == .retry(afterSeconds: 16))
        // The last try comes at the maximum age itself, not a backoff (up to 10 min) before it…
        let late = policy.verdict(after: .answered(status: 502, retryAfter: nil), attempt: 150, age: 86_000, jitter: 1)
        #expect(late == .retry(afterSeconds: 400))
        let timeout = policy.verdict(after: .failed("Timeout was reached"), attempt: 150, age: 86_399, jitter: 0)
        #expect(timeout == .retry(afterSeconds: 1))
        // …and only an alert that old is given up.
        let old = policy.verdict(after: .answered(status: 502, retryAfter: nil), attempt: 151, age: 86_400, jitter: 1)
        #expect(old == .giveUp(reason: "still failing at its maximum age, alerts.maxAge 1d"), "the answer is not repeated in the reason")
    }

    @Test func aRetryAfterIsHonouredUpToTheLongestBackoff() {
        // A day-long hint alone must not make a fresh alert look too old to keep.
        #expect(policy.verdict(after: .answered(status: 503, retryAfter: 100_000), attempt: 1, age: 0, jitter: 0)
                == .retry(afterSeconds: 600))
        let late = policy.verdict(after: .answered(status: 503, retryAfter: 100_000), attempt: 9, age: 86_000, jitter: 0)
        #expect(late == .retry(afterSeconds: 400), "the hint is cut to what is left of the maximum age")
    }
}
