package components

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Pieces of pod templates and workloads that both the Backstage Deployment and the
// PostgreSQL StatefulSet use.

const hostnameTopologyKey = "kubernetes.io/hostname"

func labelSelector(labels map[string]string) *metav1.LabelSelectorArgs {
	return &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(labels)}
}

// spreadAcrossNodes prefers putting the selected pods on different nodes, so that one
// node loss does not take every replica.
func spreadAcrossNodes(selector *metav1.LabelSelectorArgs) *corev1.AffinityArgs {
	return &corev1.AffinityArgs{PodAntiAffinity: &corev1.PodAntiAffinityArgs{
		PreferredDuringSchedulingIgnoredDuringExecution: corev1.WeightedPodAffinityTermArray{corev1.WeightedPodAffinityTermArgs{
			Weight: pulumi.Int(100),
			PodAffinityTerm: &corev1.PodAffinityTermArgs{
				TopologyKey:   pulumi.String(hostnameTopologyKey),
				LabelSelector: selector,
			},
		}},
	}}
}

// tcpLivenessProbe asks only whether the process still accepts connections on a port.
func tcpLivenessProbe(port string, failures int) *corev1.ProbeArgs {
	return &corev1.ProbeArgs{
		TcpSocket:        &corev1.TCPSocketActionArgs{Port: pulumi.String(port)},
		PeriodSeconds:    pulumi.Int(30),
		TimeoutSeconds:   pulumi.Int(5),
		FailureThreshold: pulumi.Int(failures),
	}
}

func volumeMount(volume, path string) corev1.VolumeMountArgs {
	return corev1.VolumeMountArgs{Name: pulumi.String(volume), MountPath: pulumi.String(path)}
}

func readOnlyMount(volume, path string) corev1.VolumeMountArgs {
	return corev1.VolumeMountArgs{Name: pulumi.String(volume), MountPath: pulumi.String(path), ReadOnly: pulumi.Bool(true)}
}

// configMapVolume mounts a ConfigMap's keys as files.
func configMapVolume(name string, configMap pulumi.StringPtrInput) corev1.VolumeArgs {
	return corev1.VolumeArgs{
		Name:      pulumi.String(name),
		ConfigMap: &corev1.ConfigMapVolumeSourceArgs{Name: configMap},
	}
}

// scratchVolume is a size-capped emptyDir for a path a read-only image must write to.
func scratchVolume(name, sizeLimit string) corev1.VolumeArgs {
	return corev1.VolumeArgs{
		Name:     pulumi.String(name),
		EmptyDir: &corev1.EmptyDirVolumeSourceArgs{SizeLimit: pulumi.String(sizeLimit)},
	}
}

// containerResources sets requests and limits for CPU, memory and ephemeral storage, so
// that no container can starve its node of any of them.
type containerResources struct {
	cpu, memory, ephemeral                string
	cpuLimit, memoryLimit, ephemeralLimit string
}

func (r containerResources) args() *corev1.ResourceRequirementsArgs {
	return &corev1.ResourceRequirementsArgs{
		Requests: pulumi.StringMap{
			"cpu": pulumi.String(r.cpu), "memory": pulumi.String(r.memory), "ephemeral-storage": pulumi.String(r.ephemeral),
		},
		Limits: pulumi.StringMap{
			"cpu": pulumi.String(r.cpuLimit), "memory": pulumi.String(r.memoryLimit), "ephemeral-storage": pulumi.String(r.ephemeralLimit),
		},
	}
}

// disruptionBudget lets at most one selected pod be evicted at a time.
func disruptionBudget(name string, namespace pulumi.StringInput, selector map[string]string) *policyv1.PodDisruptionBudgetArgs {
	return &policyv1.PodDisruptionBudgetArgs{
		Metadata: objectMeta(name, namespace, selector, nil),
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			MaxUnavailable: pulumi.Int(1),
			Selector:       labelSelector(selector),
		},
	}
}

// intOrPercent passes "25%" as a string and "1" as a number, as the API expects.
func intOrPercent(v string) pulumi.Input {
	if parsed := intstr.Parse(v); parsed.Type == intstr.Int {
		return pulumi.Int(parsed.IntValue())
	}
	return pulumi.String(v)
}

// readWriteOnceClaim asks for size on one node, from the storage class when one is
// named, else from the cluster's default.
func readWriteOnceClaim(size, storageClass string) *corev1.PersistentVolumeClaimSpecArgs {
	spec := &corev1.PersistentVolumeClaimSpecArgs{
		AccessModes: pulumi.StringArray{pulumi.String("ReadWriteOnce")},
		Resources:   &corev1.VolumeResourceRequirementsArgs{Requests: pulumi.StringMap{"storage": pulumi.String(size)}},
	}
	if storageClass != "" {
		spec.StorageClassName = pulumi.String(storageClass)
	}
	return spec
}
