// Package tz loads time zones once: time.LoadLocation reads the zone's file
// on every call, and the engine asks for a customer's zone at every retry
// decision.
package tz

import (
	"sync"
	"time"
)

var cache sync.Map // name → *time.Location

// Load returns the named time zone, as time.LoadLocation does.
func Load(name string) (*time.Location, error) {
	if l, ok := cache.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	cache.Store(name, l)
	return l, nil
}
