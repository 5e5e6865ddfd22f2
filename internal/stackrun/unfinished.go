package stackrun

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// An up that fails or is cancelled can leave a change it applied in the cluster and not
// in the state: a Ctrl-C while the provider waits for a rollout cancels the wait, and
// the provider, unable to read the object back, returns no new state. Pulumi diffs the
// program against the state, so the next up would report nothing to do while the
// cluster runs the newer spec (seen here: an image bump cancelled 0.9 s in). So an up
// marks its stack before it starts and clears the mark when it succeeds; while the mark
// is there, previews and ups refresh from the cluster first (0.2 s more). Refreshing on
// every run would cost each no-op those 0.2 s.

func (s *Stack) unfinishedUpMark() string {
	return filepath.Join(s.StateDir, "unfinished-up-"+s.Name())
}

// refreshIfUnfinished adds --refresh to args when the stack's last up did not finish,
// and says so on out.
func (s *Stack) refreshIfUnfinished(out io.Writer, args []string) []string {
	if !exists(s.unfinishedUpMark()) || slices.Contains(args, "--refresh") {
		return args
	}
	_, _ = fmt.Fprintf(out, "stack: the last up of %s did not finish, so this run refreshes from the cluster first (a change it applied may be there and not in the state)\n", s.Name())
	return append(args, "--refresh")
}

func (s *Stack) markUpUnfinished() error {
	return os.WriteFile(s.unfinishedUpMark(), nil, 0o600)
}

func (s *Stack) clearUnfinishedUp() error {
	if err := os.Remove(s.unfinishedUpMark()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
