package stackrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// The local file backend keeps a stack's state in .pulumi/stacks/<project>/<stack>.json
// and, before every write, copies the previous one to .json.bak. The driver reads it
// directly for what an interrupted deploy left (`pulumi stack export` would cost a CLI
// process and a key derivation on every up), and restores the backup when a write
// killed part-way left the checkpoint unreadable.

// errUnreadableCheckpoint marks a checkpoint file that exists but does not parse: a
// write the kill cut short.
var errUnreadableCheckpoint = errors.New("unreadable checkpoint")

func checkpointPath(stateDir, stack string) string {
	return filepath.Join(stateDir, ".pulumi", "stacks", Project, stack+".json")
}

// readDeployment reads a checkpoint file's latest deployment: nil for a stack that has
// none yet (or no file), errUnreadableCheckpoint for a file that does not parse.
func readDeployment(path string) (*apitype.DeploymentV3, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var versioned apitype.VersionedCheckpoint
	if err := json.Unmarshal(data, &versioned); err != nil || versioned.Checkpoint == nil {
		return nil, fmt.Errorf("%s (%d bytes): %w", path, len(data), errUnreadableCheckpoint)
	}
	if versioned.Version < 3 || versioned.Version > apitype.DeploymentSchemaVersionLatest {
		return nil, fmt.Errorf("%s: checkpoint version %d, which this driver does not read; use the CLI (`pulumi stack export`)", path, versioned.Version)
	}
	var checkpoint apitype.CheckpointV3
	if err := json.Unmarshal(versioned.Checkpoint, &checkpoint); err != nil {
		return nil, fmt.Errorf("%s: %w", path, errors.Join(err, errUnreadableCheckpoint))
	}
	return checkpoint.Latest, nil
}

// PendingOperations counts the operations the state still marks as in flight.
func (s *Stack) PendingOperations() (int, error) {
	deployment, err := readDeployment(checkpointPath(s.StateDir, s.Name()))
	if err != nil || deployment == nil {
		return 0, err
	}
	return len(deployment.PendingOperations), nil
}

// restoreCheckpointBackup replaces an unreadable checkpoint with the backend's backup
// of the one before it, keeping the unreadable file beside it for a post-mortem. It
// says what it did, or "" when the checkpoint reads.
func restoreCheckpointBackup(stateDir, stack string) (string, error) {
	path := checkpointPath(stateDir, stack)
	_, err := readDeployment(path)
	if !errors.Is(err, errUnreadableCheckpoint) {
		return "", err
	}
	backup := path + ".bak"
	_, bakErr := readDeployment(backup)
	if bakErr == nil && !exists(backup) {
		bakErr = errors.New("there is none")
	}
	if bakErr != nil {
		return "", fmt.Errorf("%w, and its backup %s does not read either (%v): copy the newest *.checkpoint.json under %s (one per finished update) over %s, then recover again",
			err, backup, bakErr, filepath.Join(stateDir, ".pulumi", "history", Project, stack), path)
	}
	kept := fmt.Sprintf("%s.unreadable-%d", path, time.Now().Unix())
	if err := os.Rename(path, kept); err != nil {
		return "", err
	}
	// The blob store's attributes (an MD5 of the content) must describe the file they sit beside.
	for _, suffix := range []string{"", ".attrs"} {
		data, err := os.ReadFile(backup + suffix)
		if errors.Is(err, os.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(path+suffix, data, 0o600); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("the checkpoint was unreadable (%v), left by an interrupted write; restored the backend's backup of the state before it (the unreadable file is kept as %s)", err, kept), nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
