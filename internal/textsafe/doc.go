// Package textsafe renders untrusted text (object names, values and
// messages from a cluster or a manifest, an override's reason, a waiver's
// owner) as inert text in each medium driftgate writes for people, so that
// cluster data can neither drive the reader's terminal, run GitHub Actions
// workflow commands in a CI log, nor add links, images, HTML or mentions to
// Markdown or Slack. Each medium has one owner here:
//
//   - Terminal and CI-log text (Line, Lines, NewWriter): control and
//     invisible format characters are shown as Go-style escapes (\x1b,
//     \u009b, \u202e, \n), and the two shapes the GitHub Actions runner
//     executes are broken: a line whose first non-blank character is ':'
//     gets that colon written as \x3a, and '[' right after '#' is written as
//     \x5b (the runner's older "##[command]" form is found anywhere in a
//     line).
//   - Markdown (Markdown, MarkdownCode, MarkdownCodeCell): prose has every
//     Markdown metacharacter escaped, <, > and & as entities, and @ or #
//     before a name or number separated by &#8203; so GitHub neither
//     notifies a team nor links an issue; code spans are fenced by more
//     backticks than the value holds.
//   - Slack mrkdwn (Slack, SlackCode, SlackMarkup): &, < and > as the
//     entities Slack documents, so <!channel> and <https://x|label> are
//     shown, not acted on.
//
// HTML needs nothing here: html/template escapes by context.
//
// A backslash in the input is not itself escaped, so "\x1b" in the output
// may be four characters of the input: the output is for reading, and the
// JSON formats keep exact values.
package textsafe
