package workload

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/arhean/backstage-pulumi/internal/kube"
)

// Pieces of pod templates and workloads that both the Backstage Deployment and the
// PostgreSQL StatefulSet use.

const HostnameTopologyKey = "kubernetes.io/hostname"

func LabelSelector(labels map[string]string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: labels}
}

// spreadAcrossNodes prefers putting the selected pods on different nodes, so that one
// node loss does not take every replica.
func SpreadAcrossNodes(selector *metav1.LabelSelector) *corev1.Affinity {
	return &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 100,
			PodAffinityTerm: corev1.PodAffinityTerm{
				TopologyKey:   HostnameTopologyKey,
				LabelSelector: selector,
			},
		}},
	}}
}

// tcpLivenessProbe asks only whether the process still accepts connections on a port.
func TCPLivenessProbe(port string, failures int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString(port)}},
		PeriodSeconds:    30,
		TimeoutSeconds:   5,
		FailureThreshold: failures,
	}
}

func VolumeMount(volume, path string) corev1.VolumeMount {
	return corev1.VolumeMount{Name: volume, MountPath: path}
}

func ReadOnlyMount(volume, path string) corev1.VolumeMount {
	return corev1.VolumeMount{Name: volume, MountPath: path, ReadOnly: true}
}

// configMapVolume mounts a ConfigMap's keys as files.
func ConfigMapVolume(refs *kube.Refs, name string, configMap pulumi.StringInput) corev1.Volume {
	return corev1.Volume{
		Name: name,
		VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: refs.String(configMap)},
		}},
	}
}

// scratchVolume is a size-capped emptyDir for a path a read-only image must write to.
func ScratchVolume(name, sizeLimit string) corev1.Volume {
	return corev1.Volume{
		Name:         name,
		VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(resource.MustParse(sizeLimit))}},
	}
}

// containerResources sets requests and limits for CPU, memory and ephemeral storage, so
// that no container can starve its node of any of them.
type ContainerResources struct {
	CPU, Memory, Ephemeral                string
	CPULimit, MemoryLimit, EphemeralLimit string
}

// requirements expects quantities that Resources.Validate or the program checked.
func (r ContainerResources) Requirements() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(r.CPU), corev1.ResourceMemory: resource.MustParse(r.Memory),
			corev1.ResourceEphemeralStorage: resource.MustParse(r.Ephemeral),
		},
		Limits: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(r.CPULimit), corev1.ResourceMemory: resource.MustParse(r.MemoryLimit),
			corev1.ResourceEphemeralStorage: resource.MustParse(r.EphemeralLimit),
		},
	}
}

// disruptionBudget lets at most one selected pod be evicted at a time.
func DisruptionBudget(refs *kube.Refs, name string, namespace pulumi.StringInput, selector map[string]string) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: ObjectMeta(refs, name, namespace, selector, nil),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: ptr.To(intstr.FromInt32(1)),
			Selector:       LabelSelector(selector),
		},
	}
}

// intOrPercent passes "25%" as a string and "1" as a number, as the API expects.
func IntOrPercent(v string) *intstr.IntOrString {
	return ptr.To(intstr.Parse(v))
}

// readWriteOnceClaim asks for size on one node, from the storage class when one is
// named, else from the cluster's default.
func ReadWriteOnceClaim(size, storageClass string) corev1.PersistentVolumeClaimSpec {
	spec := corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
	}
	if storageClass != "" {
		spec.StorageClassName = &storageClass
	}
	return spec
}
