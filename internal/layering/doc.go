// Package layering has no code: its test keeps the module's imports going
// one way (cmd on top, then rules, then drift, then internal).
package layering
