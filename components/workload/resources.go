package workload

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Settings of the pods that users choose: compute resources and scheduling.

// ResourceList is the CPU and memory of requests or limits.
type ResourceList struct {
	CPU    string
	Memory string
}

// Resources are a container's requests and limits of CPU and memory.
type Resources struct {
	Requests ResourceList
	Limits   ResourceList
}

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
		if p.name == "memory" {
			if err := errors.Join(CheckMemory(request), CheckMemory(limit)); err != nil {
				return fmt.Errorf("memory %s/%s %w", p.request, p.limit, err)
			}
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

// NodeHeapMiB gives Node.js half the container's memory for its heap, the rest for
// buffers, native modules and the runtime: 2Gi keeps the 1024 MiB it always had.
func (r Resources) NodeHeapMiB() int64 { return r.MemoryLimitBytes() / 2 / (1 << 20) }

// SharedMemoryBytes sizes PostgreSQL's /dev/shm: half its memory limit (512Mi for 1Gi).
func (r Resources) SharedMemoryBytes() int64 { return r.MemoryLimitBytes() / 2 }

// SharedMemorySize is /dev/shm's size limit for a PostgreSQL container with these resources.
func (r Resources) SharedMemorySize() string { return r.SharedMemory().String() }

func (r Resources) SharedMemory() *resource.Quantity {
	return resource.NewQuantity(r.SharedMemoryBytes(), resource.BinarySI)
}

// Requirements are the container's resources with an ephemeral-storage request and limit.
func (r Resources) Requirements(ephemeral, ephemeralLimit string) corev1.ResourceRequirements {
	return ContainerResources{
		CPU: r.Requests.CPU, Memory: r.Requests.Memory, Ephemeral: ephemeral,
		CPULimit: r.Limits.CPU, MemoryLimit: r.Limits.Memory, EphemeralLimit: ephemeralLimit,
	}.Requirements()
}

// Scheduling places the Backstage and PostgreSQL pods.
type Scheduling struct {
	NodeSelector      map[string]string
	Tolerations       []corev1.Toleration
	PriorityClassName string
}

// CheckMemory refuses memory under a mebibyte: memory is counted in bytes, so a bare
// or small number is a unit left out (1 meaning 1Gi), and no container starts in less.
func CheckMemory(q resource.Quantity) error {
	if q.Value() < 1<<20 {
		return errors.New("is under a mebibyte; memory is in bytes, so write the unit, e.g. 512Mi")
	}
	return nil
}
