// Package validate checks API input before anything is read or written:
// each check names the field it refuses, with a coded apierror, and
// refuses card data in any free text.
package validate

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // IANA time zones, whatever the host has installed

	"github.com/offsession/offsession/internal/tz"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/carddata"
	"github.com/offsession/offsession/internal/ids"
)

// Limits on metadata, as Stripe's, and on free text.
const (
	MaxMetadataKeys     = 50
	MaxMetadataKeyLen   = 40
	MaxMetadataValueLen = 500
	MaxTextLen          = 1000
)

// sensitiveKey matches metadata keys that announce card data.
var sensitiveKey = regexp.MustCompile(`(?i)(cvc|cvv|cvn|csc|cid|security.?code|card.?number|^pan$|card.?num)`)

// Text rejects free text that is too long or holds a card number.
func Text(field, s string, max int) error {
	if len(s) > max {
		return apierror.Invalid(field, "must be at most %d characters", max)
	}
	if carddata.LooksLikeCardNumber(s) {
		return apierror.InvalidReason(field, "card_data_not_allowed", "looks like a card number; offsession never stores card numbers")
	}
	return nil
}

// OptionalText is Text for an optional field.
func OptionalText(field string, s *string, max int) error {
	if s == nil {
		return nil
	}
	return Text(field, *s, max)
}

// Metadata applies Stripe's metadata limits and refuses card data.
func Metadata(field string, m map[string]string) error {
	if len(m) > MaxMetadataKeys {
		return apierror.Invalid(field, "at most %d keys", MaxMetadataKeys)
	}
	for k, v := range m {
		switch {
		case k == "":
			return apierror.Invalid(field, "keys must not be empty")
		case carddata.LooksLikeCardNumber(k):
			// The field names the map, not the key: the key is the card number.
			return apierror.InvalidReason(field, "card_data_not_allowed", "a key looks like a card number; offsession never stores card numbers")
		case len(k) > MaxMetadataKeyLen:
			return apierror.Invalid(field+"."+k, "keys must be at most %d characters", MaxMetadataKeyLen)
		case sensitiveKey.MatchString(k):
			return apierror.InvalidReason(field+"."+k, "card_data_not_allowed", "card numbers and security codes must not be stored")
		}
		if err := Text(field+"."+k, v, MaxMetadataValueLen); err != nil {
			return err
		}
	}
	return nil
}

// ID rejects a malformed ID before any lookup.
func ID(field, id, prefix string) error {
	if !ids.HasPrefix(id, prefix) {
		return apierror.InvalidReason(field, "malformed_id", "%q is not a %s_ ID", id, prefix)
	}
	return nil
}

// Country accepts an ISO 3166-1 alpha-2 code and returns it upper case.
func Country(field, c string) (string, error) {
	c = strings.ToUpper(strings.TrimSpace(c))
	if !countries[c] {
		return "", apierror.Invalid(field, "%q is not an ISO 3166-1 alpha-2 country code", c)
	}
	return c, nil
}

// TimeZone accepts an IANA time zone name.
func TimeZone(field, zone string) error {
	if zone == "" || zone == "Local" {
		return apierror.Invalid(field, "must be an IANA time zone such as Europe/Paris")
	}
	if _, err := tz.Load(zone); err != nil {
		return apierror.Invalid(field, "%q is not an IANA time zone", zone)
	}
	return nil
}

func Email(field, email string) error {
	if err := Text(field, email, 512); err != nil {
		return err
	}
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(email, " \t\n") {
		return apierror.Invalid(field, "%q is not an email address", email)
	}
	return nil
}

func IP(field, ip string) error {
	if net.ParseIP(ip) == nil {
		return apierror.Invalid(field, "%q is not an IP address", ip)
	}
	return nil
}

func URL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return apierror.Invalid(field, "%q is not an http(s) URL", raw)
	}
	return nil
}

// statementDescriptorSuffix: Stripe's rules for the card statement suffix.
var badDescriptorChars = "<>\\'\"*"

func StatementDescriptorSuffix(field, s string) error {
	switch {
	case s == "":
		return apierror.Invalid(field, "must not be empty when given")
	case len(s) > 22:
		return apierror.Invalid(field, "must be at most 22 characters")
	case strings.ContainsAny(s, badDescriptorChars):
		return apierror.Invalid(field, "must not contain any of %s", badDescriptorChars)
	}
	return Text(field, s, 22)
}

// Date reads a YYYY-MM-DD date.
func Date(field, s string) (time.Time, error) {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, apierror.Invalid(field, "%q is not a date in YYYY-MM-DD form", s)
	}
	return d, nil
}

// countries is ISO 3166-1 alpha-2.
var countries = func() map[string]bool {
	const all = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
		"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
		"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
		"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT " +
		"MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
		"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG " +
		"UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"
	m := map[string]bool{}
	for _, c := range strings.Fields(all) {
		m[c] = true
	}
	return m
}()

// FieldIndex names an element of a list field: input.processorTokens[0].
func FieldIndex(field string, i int, sub string) string {
	return fmt.Sprintf("%s[%d].%s", field, i, sub)
}
