package tz

import "testing"

func TestLoad(t *testing.T) {
	a, err := Load("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load("Europe/Berlin")
	if err != nil || a != b || a.String() != "Europe/Berlin" {
		t.Fatalf("second load: %v %v %v", a, b, err)
	}
	if _, err := Load("Not/AZone"); err == nil {
		t.Fatal("an unknown zone loads")
	}
}
