package postgres

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/distribution/reference"

	"github.com/arhean/backstage-pulumi/components/pins"
	"github.com/arhean/backstage-pulumi/components/workload"
)

// DefaultResources are what the PostgreSQL pod ran with before they were a setting.
var DefaultResources = workload.Resources{
	Requests: workload.ResourceList{CPU: "250m", Memory: "512Mi"},
	Limits:   workload.ResourceList{CPU: "1", Memory: "1Gi"},
}

// SizeBytes reads a PostgreSQL size such as 256MB.
func SizeBytes(size string) (int64, error) {
	m := postgresSizePattern.FindStringSubmatch(size)
	if m == nil {
		return 0, fmt.Errorf("%q is not a PostgreSQL size such as 256MB", size)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	unit := postgresUnits[m[2]]
	if err != nil || n > math.MaxInt64/unit {
		return 0, fmt.Errorf("%q is too large", size)
	}
	return n * unit, nil
}

// SharedBuffersFit is the one rule for shared_buffers' upper bound: it lives in
// /dev/shm, which is half the memory limit, so it must fit there.
func SharedBuffersFit(sharedBuffers string, r workload.Resources) error {
	bytes, err := SizeBytes(sharedBuffers)
	if err != nil {
		return err
	}
	if shm := r.SharedMemoryBytes(); bytes > shm {
		return fmt.Errorf("%s does not fit /dev/shm (%s, half the memory limit %s); lower it or raise the memory limit",
			sharedBuffers, r.SharedMemorySize(), r.Limits.Memory)
	}
	return nil
}

// PostgreSQL's memory units are powers of 1024.
var (
	postgresSizePattern = regexp.MustCompile(`^([1-9][0-9]*)(kB|MB|GB|TB)$`)
	postgresUnits       = map[string]int64{"kB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}
)

// ImageMatchesMajor refuses an image of another major than the data directory's: a
// server never starts on another major's files, so a mismatch is an outage, not an upgrade.
// The major is where the image's tag starts (postgres:16.4-bookworm is 16); the
// reference is parsed as a registry does, so a registry's port is never taken for it.
func ImageMatchesMajor(image string, major int) error {
	tagMajor := ""
	if ref, err := reference.ParseNormalizedNamed(image); err == nil {
		if tagged, ok := ref.(reference.Tagged); ok {
			tag := tagged.Tag()
			end := strings.IndexFunc(tag, func(r rune) bool { return r < '0' || r > '9' })
			if end == -1 {
				end = len(tag)
			}
			if end > 0 && (end == len(tag) || tag[end] == '.' || tag[end] == '-') {
				tagMajor = tag[:end]
			}
		}
	}
	if tagMajor == "" {
		return fmt.Errorf("%q has no tag that names its PostgreSQL major; pin one such as postgres:%d.x", image, major)
	}
	if tagMajor != strconv.Itoa(major) {
		return fmt.Errorf("%q is PostgreSQL %s but the major is %d; a major change copies the data (docs/operations.md: Upgrading PostgreSQL), it is never an image edit", image, tagMajor, major)
	}
	return nil
}

// Image is the image a server of this major runs: the given one, or the
// major's pinned image (the default major's when major is 0).
func Image(image string, major int) string {
	if image != "" {
		return image
	}
	return pins.PostgresImages[workload.OrDefault(major, DefaultMajorVersion)]
}
