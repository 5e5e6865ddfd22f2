package network

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

func prefixes(cidrs ...string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(cidrs))
	for _, c := range cidrs {
		out = append(out, netip.MustParsePrefix(c))
	}
	return out
}

// CIDRs whose union is the address space are refused like a /0; a union with a gap
// anywhere is not.
func TestCoversAllSeesAUnionOfCIDRs(t *testing.T) {
	for _, c := range []struct {
		cidrs []string
		ipv4  bool
		want  bool
	}{
		{[]string{"0.0.0.0/0"}, true, true},
		{[]string{"0.0.0.0/1", "128.0.0.0/1"}, true, true},
		{[]string{"128.0.0.0/1", "0.0.0.0/2", "64.0.0.0/2"}, true, true},
		{[]string{"0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2"}, true, true},
		{[]string{"0.0.0.0/1", "128.0.0.0/2", "224.0.0.0/3"}, true, false},
		{[]string{"0.0.0.0/1", "128.0.0.0/2"}, true, false},
		{[]string{"1.0.0.0/8", "0.0.0.0/8", "2.0.0.0/7"}, true, false},
		{[]string{"10.0.0.0/8"}, true, false},
		{[]string{"::/1", "8000::/1"}, false, true},
		{[]string{"::/1", "8000::/1"}, true, false},
		{[]string{"::/1"}, false, false},
	} {
		assert.Equal(t, c.want, coversAll(prefixes(c.cidrs...), c.ipv4), "%v", c.cidrs)
	}
}

func TestLastAddr(t *testing.T) {
	assert.Equal(t, "10.255.255.255", lastAddr(netip.MustParsePrefix("10.0.0.0/8")).String())
	assert.Equal(t, "10.1.2.3", lastAddr(netip.MustParsePrefix("10.1.2.3/32")).String())
	assert.Equal(t, "fd00::ffff", lastAddr(netip.MustParsePrefix("fd00::/112")).String())
}
