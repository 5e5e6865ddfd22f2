package stackrun

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOnlyAStackWhoseUpDidNotFinishRefreshesFirst(t *testing.T) {
	s := &Stack{Stack: namedAs(t, "dev"), StateDir: t.TempDir()}
	var out bytes.Buffer
	assert.Equal(t, []string{"up"}, s.refreshIfUnfinished(&out, []string{"up"}), "no mark, no refresh")
	assert.Empty(t, out.String())

	require.NoError(t, s.markUpUnfinished())
	assert.Equal(t, []string{"up", "--refresh"}, s.refreshIfUnfinished(&out, []string{"up"}))
	assert.Contains(t, out.String(), "the last up of dev did not finish")
	assert.Equal(t, []string{"preview", "--refresh", "--expect-no-changes"},
		s.refreshIfUnfinished(&out, []string{"preview", "--refresh", "--expect-no-changes"}), "a run that refreshes anyway gets no second flag")

	require.NoError(t, s.clearUnfinishedUp())
	require.NoError(t, s.clearUnfinishedUp(), "clearing twice is no error")
	assert.Equal(t, []string{"up"}, s.refreshIfUnfinished(&out, []string{"up"}))
}
