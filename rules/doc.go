// Package rules holds driftgate's rule sets: the schema, loading with
// line-numbered errors, the built-in pack, evaluation and waivers.
package rules
