package components

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Settings of the pods that users choose: compute resources, scheduling, and the
// secret-valued maps. Their JSON names are the stack keys' field names.

// ResourceList is the CPU and memory of requests or limits.
type ResourceList struct {
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`
}

// Resources are a container's requests and limits of CPU and memory.
type Resources struct {
	Requests ResourceList `json:"requests"`
	Limits   ResourceList `json:"limits"`
}

// DefaultBackstageResources and DefaultPostgresResources are what the pods ran with
// before these were settings.
var (
	DefaultBackstageResources = Resources{
		Requests: ResourceList{CPU: "250m", Memory: "512Mi"},
		Limits:   ResourceList{CPU: "1", Memory: "2Gi"},
	}
	DefaultPostgresResources = Resources{
		Requests: ResourceList{CPU: "250m", Memory: "512Mi"},
		Limits:   ResourceList{CPU: "1", Memory: "1Gi"},
	}
)

// Validate checks every quantity and that no request exceeds its limit.
func (r Resources) Validate() error {
	pairs := []struct {
		name           string
		request, limit string
	}{{"cpu", r.Requests.CPU, r.Limits.CPU}, {"memory", r.Requests.Memory, r.Limits.Memory}}
	for _, p := range pairs {
		if p.request == "" || p.limit == "" {
			return fmt.Errorf("needs requests.%s and limits.%s (e.g. requests: {cpu: 250m, memory: 512Mi}, limits: {cpu: \"1\", memory: 2Gi})", p.name, p.name)
		}
		request, err := resource.ParseQuantity(p.request)
		if err != nil {
			return fmt.Errorf("requests.%s %q is not a Kubernetes quantity (e.g. 250m, 512Mi)", p.name, p.request)
		}
		limit, err := resource.ParseQuantity(p.limit)
		if err != nil {
			return fmt.Errorf("limits.%s %q is not a Kubernetes quantity (e.g. 1, 2Gi)", p.name, p.limit)
		}
		if request.Sign() <= 0 {
			return fmt.Errorf("requests.%s is %s; it must be more than 0", p.name, p.request)
		}
		if request.Cmp(limit) > 0 {
			return fmt.Errorf("requests.%s %s is above limits.%s %s; a request must fit its limit", p.name, p.request, p.name, p.limit)
		}
	}
	return nil
}

// MemoryLimitBytes is the memory limit in bytes (0 when it does not parse).
func (r Resources) MemoryLimitBytes() int64 {
	q, err := resource.ParseQuantity(r.Limits.Memory)
	if err != nil {
		return 0
	}
	return q.Value()
}

// nodeHeapMiB gives Node.js half the container's memory for its heap, the rest for
// buffers, native modules and the runtime: 2Gi keeps the 1024 MiB it always had.
func (r Resources) nodeHeapMiB() int64 { return r.MemoryLimitBytes() / 2 / (1 << 20) }

// sharedMemoryBytes sizes PostgreSQL's /dev/shm: half its memory limit (512Mi for 1Gi).
func (r Resources) sharedMemoryBytes() int64 { return r.MemoryLimitBytes() / 2 }

// SharedMemorySize is /dev/shm's size limit for a PostgreSQL container with these resources.
func (r Resources) SharedMemorySize() string { return r.sharedMemory().String() }

func (r Resources) sharedMemory() *resource.Quantity {
	return resource.NewQuantity(r.sharedMemoryBytes(), resource.BinarySI)
}

func (r Resources) requirements(ephemeral, ephemeralLimit string) corev1.ResourceRequirements {
	return containerResources{
		cpu: r.Requests.CPU, memory: r.Requests.Memory, ephemeral: ephemeral,
		cpuLimit: r.Limits.CPU, memoryLimit: r.Limits.Memory, ephemeralLimit: ephemeralLimit,
	}.requirements()
}

// PostgresSizeBytes reads a PostgreSQL size such as 256MB.
func PostgresSizeBytes(size string) (int64, error) {
	m := postgresSizePattern.FindStringSubmatch(size)
	if m == nil {
		return 0, fmt.Errorf("%q is not a PostgreSQL size such as 256MB", size)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is too large", size)
	}
	return n * postgresUnits[m[2]], nil
}

// SharedBuffersFit is the one rule for shared_buffers' upper bound: it lives in
// /dev/shm, which is half the memory limit, so it must fit there.
func SharedBuffersFit(sharedBuffers string, r Resources) error {
	bytes, err := PostgresSizeBytes(sharedBuffers)
	if err != nil {
		return err
	}
	if shm := r.sharedMemoryBytes(); bytes > shm {
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

// PostgresImage is the image a server of this major runs: the given one, or the
// major's pinned image (the default major's when major is 0).
func PostgresImage(image string, major int) string {
	if image != "" {
		return image
	}
	return PostgresImages[orDefault(major, DefaultPostgresMajorVersion)]
}

// Scheduling places the Backstage and PostgreSQL pods.
type Scheduling struct {
	NodeSelector      map[string]string
	Tolerations       []corev1.Toleration
	PriorityClassName string
}

// SecretStrings is a map of secret values: each becomes a secret output as it is read,
// so none can reach state or an object unencrypted.
type SecretStrings map[string]pulumi.StringInput

// UnmarshalJSON reads a stack's map of strings and marks every value secret.
func (m *SecretStrings) UnmarshalJSON(data []byte) error {
	var plain map[string]string
	if err := json.Unmarshal(data, &plain); err != nil {
		return fmt.Errorf("is not a map of names to strings: %w", err)
	}
	*m = SecretStrings{}
	for k, v := range plain {
		(*m)[k] = pulumi.ToSecret(pulumi.String(v)).(pulumi.StringOutput)
	}
	return nil
}

// RegistryAuth is a registry login the program turns into a pull Secret.
type RegistryAuth struct {
	Server   string
	Username string
	Password pulumi.StringInput
}

// UnmarshalJSON reads {server, username, password} and keeps the password secret.
func (a *RegistryAuth) UnmarshalJSON(data []byte) error {
	var plain struct {
		Server, Username, Password string
	}
	if err := json.Unmarshal(data, &plain); err != nil {
		return fmt.Errorf("is not {server, username, password}: %w", err)
	}
	if plain.Server == "" || plain.Username == "" || plain.Password == "" {
		return fmt.Errorf("needs server, username and password")
	}
	a.Server, a.Username = plain.Server, plain.Username
	a.Password = pulumi.ToSecret(pulumi.String(plain.Password)).(pulumi.StringOutput)
	return nil
}

// dockerConfigJSON is the body of a kubernetes.io/dockerconfigjson Secret.
func (a *RegistryAuth) dockerConfigJSON() pulumi.StringOutput {
	return pulumi.ToSecret(a.Password.ToStringOutput().ApplyT(func(password string) (string, error) {
		auth := map[string]any{"auths": map[string]any{a.Server: map[string]string{
			"username": a.Username, "password": password,
		}}}
		out, err := json.Marshal(auth)
		return string(out), err
	})).(pulumi.StringOutput)
}

// envNamePrefixesOwned are the environment the program sets itself; a user's env or
// secretEnv may not shadow them.
var envNamePrefixesOwned = []string{"POSTGRES_", "APP_CONFIG_"}

var envNamesOwned = []string{
	"NODE_ENV", "NODE_OPTIONS", "NODE_EXTRA_CA_CERTS", "LOG_LEVEL", "APP_BASE_URL", "BACKEND_URL",
	"BACKEND_SECRET", "GITHUB_TOKEN", "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET",
}

// EnvNameOwned says whether the program sets this variable itself.
func EnvNameOwned(name string) bool {
	for _, owned := range envNamesOwned {
		if name == owned {
			return true
		}
	}
	for _, prefix := range envNamePrefixesOwned {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}
