// Package model holds the GraphQL types that gqlgen generates because no Go
// type of ours is bound to them.
package model
