package textsafe

import "strings"

// slackEntities are the three characters Slack's mrkdwn gives meaning to
// and asks senders to escape: < opens a link, a mention or a <!channel>
// broadcast, & an entity.
var slackEntities = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Slack returns s as inert Slack mrkdwn text: &, < and > as entities, so
// <!channel>, <@U123> and <https://evil|Approved by SRE> are shown as
// typed, and control and format characters (newlines included, as \n)
// escaped as Line writes them. Line's rules for CI logs are left out: a
// Slack message is no log line.
//
// mrkdwn has no escape for *, _, ~ and `: they are left, since they can
// only make text bold, italic, struck or code, never a link or a mention.
func Slack(s string) string { return slackEntities.Replace(visible(s)) }

// SlackCode is Slack for a value between backticks: a backtick, which would
// end the code span and cannot be escaped in mrkdwn, is written as '.
func SlackCode(s string) string { return strings.ReplaceAll(Slack(s), "`", "'") }

// SlackMarkup makes text formatted elsewhere (the nightly report's Markdown
// summary, whose untrusted parts Markdown and MarkdownCode already escaped)
// safe to post as mrkdwn: < and > become entities, so a code span holding
// "<!channel>" is shown, not broadcast. & is left alone, so entities
// already in s still display as their characters.
func SlackMarkup(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(s)
}
