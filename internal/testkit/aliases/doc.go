// Package aliases searches configuration space for pairs of snowfall serve processes that reach
// one real resource (a state file, a lease store) through different spellings.
package aliases
