import BatchgateCore

/// The pieces of Slack Block Kit and Teams Adaptive Card messages that alerts and digests share.
extension JSONWriter {
    /// A Slack message: `text` as the fallback, then the blocks `body` writes.
    mutating func slackMessage(fallback: String, blocks body: (inout JSONWriter) -> Void) {
        beginObject()
        key("text"); string(fallback)
        key("blocks")
        beginArray()
        body(&self)
        endArray()
        endObject()
    }

    /// A Slack header block (at most 150 characters).
    mutating func slackHeader(_ text: String) {
        slackBlock("header", textType: "plain_text", String(text.prefix(150)))
    }

    /// A Slack section block of mrkdwn text.
    mutating func slackSection(_ text: String) {
        slackBlock("section", textType: "mrkdwn", text)
    }

    /// A Slack block of `type` holding one text object of `textType`.
    private mutating func slackBlock(_ type: String, textType: String, _ text: String) {
        beginObject()
        key("type"); string(type)
        key("text")
        beginObject()
        key("type"); string(textType)
        key("text"); string(text)
        endObject()
        endObject()
    }

    /// A Slack context block with one mrkdwn element.
    mutating func slackContext(_ text: String) {
        beginObject()
        key("type"); string("context")
        key("elements")
        beginArray()
        beginObject()
        key("type"); string("mrkdwn")
        key("text"); string(text)
        endObject()
        endArray()
        endObject()
    }

    /// A Teams Workflows message with one Adaptive Card 1.4 whose body `body` writes.
    mutating func teamsCard(body: (inout JSONWriter) -> Void) {
        beginObject()
        key("type"); string("message")
        key("attachments")
        beginArray()
        beginObject()
        key("contentType"); string("application/vnd.microsoft.card.adaptive")
        key("content")
        beginObject()
        key("$schema"); string("http://adaptivecards.io/schemas/adaptive-card.json")
        key("type"); string("AdaptiveCard")
        key("version"); string("1.4")
        key("body")
        beginArray()
        body(&self)
        endArray()
        endObject()
        endObject()
        endArray()
        endObject()
    }

    /// An Adaptive Card text block that wraps; `bold` makes it a medium, bolder title.
    mutating func teamsTextBlock(_ text: String, bold: Bool = false) {
        beginObject()
        key("type"); string("TextBlock")
        key("text"); string(text)
        key("wrap"); bool(true)
        if bold {
            key("weight"); string("Bolder")
            key("size"); string("Medium")
        }
        endObject()
    }
}

/// Slack's three control characters in mrkdwn text (`&`, `<`, `>`), escaped so that a file name
/// cannot become a link or a mention.
func escapeMrkdwn(_ text: String) -> String {
    text.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;")
}
