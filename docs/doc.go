// Package docs holds no code: it is the home of README.md's pages (docs/*.md) and of the test that
// keeps every command and Go snippet they show alive. docs_test.go runs each command it can run
// hermetically, and checks that every other one is run by a CI step (.ci/run and the scripts it
// calls) or names a test that exists; example_test.go holds the Go snippets as Example functions.
package docs
