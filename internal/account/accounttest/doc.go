// Package accounttest holds the contract suites that every implementation of
// the account package's store interfaces runs against itself, so that the
// in-process, SQL and Redis backends are held to the same rules.
package accounttest
