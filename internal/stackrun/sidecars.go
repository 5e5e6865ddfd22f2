package stackrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The file backend (gocloud.dev's fileblob) keeps each blob's attributes in a sidecar,
// <blob>.attrs, and writes a blob by truncating and rewriting the sidecar first and
// renaming the blob's temporary file into place after. A kill between the two leaves
// the sidecar empty or cut short beside a checkpoint that reads, and every CLI command
// then fails with `failed to load checkpoint: EOF`: the backend reads the sidecar with
// the blob and cannot decode it. fileblob treats a missing sidecar as a blob without
// attributes (the backend sets none it reads back), so an unreadable one is removed.

const sidecarExt = ".attrs"

// stackBlobDirs are the file backend's folders that hold the stack's blobs, each with
// the prefix its files' names start with ("" for all): the checkpoint and its backups,
// the history of its updates, and its locks.
func stackBlobDirs(stateDir, stack string) map[string]string {
	root := filepath.Join(stateDir, ".pulumi")
	return map[string]string{
		filepath.Join(root, "stacks", Project):                       stack + ".json",
		filepath.Join(root, "history", Project, stack):               "",
		filepath.Join(root, "locks", "organization", Project, stack): "",
	}
}

// unreadableSidecars are the stack's blob sidecars that do not decode.
func unreadableSidecars(stateDir, stack string) ([]string, error) {
	var broken []string
	for dir, prefix := range stackBlobDirs(stateDir, stack) {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, sidecarExt) {
				continue
			}
			path := filepath.Join(dir, name)
			ok, err := sidecarReads(path)
			if err != nil {
				return nil, err
			}
			if !ok {
				broken = append(broken, path)
			}
		}
	}
	return broken, nil
}

// sidecarReads says whether the sidecar at path decodes as fileblob decodes it.
func sidecarReads(path string) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	var attrs map[string]any
	return json.Unmarshal(data, &attrs) == nil, nil
}

// checkpointSidecarReads says whether the checkpoint's own sidecar, which every CLI
// command reads, decodes (or is absent).
func checkpointSidecarReads(stateDir, stack string) (bool, error) {
	path := checkpointPath(stateDir, stack) + sidecarExt
	if !exists(path) {
		return true, nil
	}
	return sidecarReads(path)
}

// removeUnreadableSidecars removes the stack's sidecars that do not decode and says
// which it removed.
func removeUnreadableSidecars(stateDir, stack string) ([]string, error) {
	broken, err := unreadableSidecars(stateDir, stack)
	if err != nil {
		return nil, err
	}
	var said []string
	for _, path := range broken {
		if err := os.Remove(path); err != nil {
			return said, err
		}
		said = append(said, fmt.Sprintf("removed %s, a blob's attributes an interrupted write left unreadable (the file backend reads a blob without them)", path))
	}
	return said, nil
}
