package stackrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
)

// An interrupted deploy (a killed engine, a runner that died) leaves two things behind
// on the local file backend: the stack's lock file, and operations the state marks
// pending. Recover clears both, and only clears a lock on its own when its holder is
// provably gone.

// Lock is a lock file the file backend wrote for a running update.
type Lock struct {
	Path      string    `json:"-"`
	Pid       int       `json:"pid"`
	Username  string    `json:"username"`
	Hostname  string    `json:"hostname"`
	Timestamp time.Time `json:"timestamp"`
}

func (l Lock) String() string {
	return fmt.Sprintf("%s@%s (pid %d) since %s", l.Username, l.Hostname, l.Pid, l.Timestamp.Format(time.RFC3339))
}

// Gone says whether the lock's holder provably no longer runs: it was this host, and
// no process has its pid. A lock from another host (a CI runner) can never be proven gone.
func (l Lock) Gone() bool {
	host, err := os.Hostname()
	if err != nil || host != l.Hostname || l.Pid <= 0 {
		return false
	}
	err = syscall.Kill(l.Pid, 0)
	return errors.Is(err, syscall.ESRCH)
}

// Locks are the stack's lock files in the file backend at stateDir.
func Locks(stateDir, stack string) ([]Lock, error) {
	dir := filepath.Join(stateDir, ".pulumi", "locks", "organization", Project, stack)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var locks []Lock
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".json" {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		lock := Lock{Path: path}
		if err := json.Unmarshal(data, &lock); err != nil {
			return nil, fmt.Errorf("reading the lock %s: %w", path, err)
		}
		locks = append(locks, lock)
	}
	return locks, nil
}

// Interrupted describes what an interrupted deploy left, or "" when nothing.
func (s *Stack) Interrupted() (string, error) {
	locks, err := Locks(s.StateDir, s.Name())
	if err != nil {
		return "", err
	}
	if len(locks) > 0 {
		return fmt.Sprintf("the stack is locked by %s", locks[0]), nil
	}
	ok, err := checkpointSidecarReads(s.StateDir, s.Name())
	if err != nil {
		return "", err
	}
	if !ok {
		return fmt.Sprintf("the attributes file beside the stack's state does not read (%s%s)", checkpointPath(s.StateDir, s.Name()), sidecarExt), nil
	}
	pending, err := s.PendingOperations()
	if errors.Is(err, errUnreadableCheckpoint) {
		return fmt.Sprintf("the stack's state does not read (%v)", err), nil
	}
	if err != nil {
		return "", err
	}
	if pending > 0 {
		return fmt.Sprintf("the state holds %d pending operations from an interrupted deploy", pending), nil
	}
	return "", nil
}

// Recover clears the stack's stale locks (any lock with force), removes the blob
// attributes an interrupted write left unreadable, restores the backup of a checkpoint
// an interrupted write left unreadable, releases the objects of pending
// creates from the killed run's field manager, refreshes the state from the cluster
// dropping pending creates, and previews what the next `up` does.
func (s *Stack) Recover(ctx context.Context, force bool, out io.Writer) error {
	locks, err := Locks(s.StateDir, s.Name())
	if err != nil {
		return err
	}
	for _, lock := range locks {
		if !lock.Gone() && !force {
			return fmt.Errorf("the stack is locked by %s, which may still be running; if it is gone (a CI runner that died, another machine), run the recovery again with FORCE=1", lock)
		}
		for _, path := range []string{lock.Path, lock.Path + sidecarExt} {
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		_, _ = fmt.Fprintf(out, "recover: removed the lock of %s\n", lock)
	}
	removed, err := removeUnreadableSidecars(s.StateDir, s.Name())
	for _, line := range removed {
		_, _ = fmt.Fprintf(out, "recover: %s\n", line)
	}
	if err != nil {
		return err
	}
	restored, err := restoreCheckpointBackup(s.StateDir, s.Name())
	if err != nil {
		return err
	}
	if restored != "" {
		_, _ = fmt.Fprintf(out, "recover: %s\n", restored)
	}
	deployment, err := readDeployment(checkpointPath(s.StateDir, s.Name()))
	if err != nil {
		return err
	}
	released, err := s.releaseInterruptedCreates(ctx, pendingCreatedObjects(deployment))
	for _, line := range released {
		_, _ = fmt.Fprintf(out, "recover: %s\n", line)
	}
	if err != nil {
		return err
	}
	pending := 0
	if deployment != nil {
		pending = len(deployment.PendingOperations)
	}
	_, _ = fmt.Fprintf(out, "recover: refreshing from the cluster (%d pending operations)\n", pending)
	// A pending create that reached the cluster is adopted by the next up (server-side
	// apply upserts); one that did not is simply created again.
	if _, err := s.Refresh(ctx, optrefresh.ClearPendingCreates(), optrefresh.ProgressStreams(out)); err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	if pending, err = s.PendingOperations(); err != nil {
		return err
	}
	if pending > 0 {
		return fmt.Errorf("%d pending operations remain after the refresh", pending)
	}
	// The refresh did what the next up would have refreshed for.
	if err := s.clearUnfinishedUp(); err != nil {
		return err
	}
	preview, err := s.Preview(ctx, optpreview.ProgressStreams(out))
	if err != nil {
		return fmt.Errorf("preview: %w", err)
	}
	_, _ = fmt.Fprintf(out, "recover: the stack is unlocked and consistent; the next up will do %v\n", preview.ChangeSummary)
	return nil
}
