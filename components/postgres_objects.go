package components

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The desired objects of the database, one plain function each.

// The official postgres image's `postgres` user; the data volume is group-owned by it.
const postgresUID = 999

// pgdata is a subfolder of the volume, since the volume's root may hold lost+found.
const pgdata = "/var/lib/postgresql/data/pgdata"

func postgresSecret(spec postgresSpec, password pulumi.StringInput) *corev1.SecretArgs {
	return &corev1.SecretArgs{
		Metadata:   objectMeta(PostgresName, spec.Namespace, PostgresSelector, nil),
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.StringMap{"password": password},
	}
}

// postgresService is headless: the StatefulSet's governing Service, resolving to the one pod.
func postgresService(spec postgresSpec) *corev1.ServiceArgs {
	return &corev1.ServiceArgs{
		Metadata: objectMeta(PostgresName, spec.Namespace, PostgresSelector,
			pulumi.StringMap{skipAwaitAnnotation: pulumi.String("true")}),
		Spec: &corev1.ServiceSpecArgs{
			ClusterIP: pulumi.String("None"),
			Selector:  pulumi.ToStringMap(PostgresSelector),
			Ports: corev1.ServicePortArray{corev1.ServicePortArgs{
				Name: pulumi.String("tcp-postgresql"), Port: pulumi.Int(PostgresPort), TargetPort: pulumi.String("tcp-postgresql"),
			}},
		},
	}
}

func postgresStatefulSet(spec postgresSpec, serviceName pulumi.StringInput, secretName pulumi.StringPtrInput) *appsv1.StatefulSetArgs {
	claimSpec := &corev1.PersistentVolumeClaimSpecArgs{
		AccessModes: pulumi.StringArray{pulumi.String("ReadWriteOnce")},
		Resources:   &corev1.VolumeResourceRequirementsArgs{Requests: pulumi.StringMap{"storage": pulumi.String(spec.StorageSize)}},
	}
	if spec.StorageClass != "" {
		claimSpec.StorageClassName = pulumi.String(spec.StorageClass)
	}
	return &appsv1.StatefulSetArgs{
		Metadata: objectMeta(PostgresName, spec.Namespace, PostgresSelector,
			kubeScoreIgnoreUID("the official postgres image runs as its postgres user, UID 999, which owns PGDATA; runAsNonRoot is enforced")),
		Spec: &appsv1.StatefulSetSpecArgs{
			ServiceName:         serviceName,
			Replicas:            pulumi.Int(1),
			PodManagementPolicy: pulumi.String("OrderedReady"),
			UpdateStrategy:      &appsv1.StatefulSetUpdateStrategyArgs{Type: pulumi.String("RollingUpdate")},
			Selector:            labelSelector(PostgresSelector),
			// Neither deleting the StatefulSet nor scaling it down may delete the data.
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs{
				WhenDeleted: pulumi.String("Retain"),
				WhenScaled:  pulumi.String("Retain"),
			},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: pulumi.ToStringMap(PostgresSelector)},
				Spec: &corev1.PodSpecArgs{
					NodeSelector:                 spec.Scheduling.nodeSelector(),
					Tolerations:                  spec.Scheduling.tolerations(),
					PriorityClassName:            spec.Scheduling.priorityClassName(),
					AutomountServiceAccountToken: pulumi.Bool(false),
					EnableServiceLinks:           pulumi.Bool(false),
					SecurityContext:              podSecurityContext(postgresUID),
					Containers:                   corev1.ContainerArray{postgresContainer(spec, secretName)},
					Volumes: corev1.VolumeArray{
						scratchVolume("run", "16Mi"),
						scratchVolume("tmp", "256Mi"),
						// shared_buffers lives in shared memory; the runtime's 64Mi default is too small.
						corev1.VolumeArgs{Name: pulumi.String("shm"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{
							Medium: pulumi.String("Memory"), SizeLimit: pulumi.String(spec.Resources.SharedMemorySize()),
						}},
					},
				},
			},
			VolumeClaimTemplates: corev1.PersistentVolumeClaimTypeArray{corev1.PersistentVolumeClaimTypeArgs{
				Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("data"), Labels: pulumi.ToStringMap(PostgresSelector)},
				Spec:     claimSpec,
			}},
		},
	}
}

func postgresContainer(spec postgresSpec, secretName pulumi.StringPtrInput) corev1.ContainerArgs {
	isReady := pulumi.ToStringArray([]string{"pg_isready", "-h", "127.0.0.1", "-p", fmt.Sprint(PostgresPort), "-U", spec.User, "-d", PostgresDatabase})
	probe := func(period, failures int) *corev1.ProbeArgs {
		return &corev1.ProbeArgs{
			Exec:             &corev1.ExecActionArgs{Command: isReady},
			PeriodSeconds:    pulumi.Int(period),
			TimeoutSeconds:   pulumi.Int(5),
			FailureThreshold: pulumi.Int(failures),
		}
	}
	return corev1.ContainerArgs{
		Name:            pulumi.String("postgresql"),
		Image:           pulumi.String(spec.Image),
		ImagePullPolicy: pulumi.String("Always"),
		Args: pulumi.ToStringArray([]string{
			"-c", fmt.Sprintf("max_connections=%d", spec.MaxConnections),
			"-c", "shared_buffers=" + spec.SharedBuffers,
		}),
		Ports: corev1.ContainerPortArray{corev1.ContainerPortArgs{
			Name: pulumi.String("tcp-postgresql"), ContainerPort: pulumi.Int(PostgresPort),
		}},
		Env: corev1.EnvVarArray{
			corev1.EnvVarArgs{Name: pulumi.String("POSTGRES_DB"), Value: pulumi.String(PostgresDatabase)},
			corev1.EnvVarArgs{Name: pulumi.String("POSTGRES_USER"), Value: pulumi.String(spec.User)},
			corev1.EnvVarArgs{Name: pulumi.String("POSTGRES_PASSWORD"), ValueFrom: &corev1.EnvVarSourceArgs{
				SecretKeyRef: &corev1.SecretKeySelectorArgs{Name: secretName, Key: pulumi.String("password")},
			}},
			corev1.EnvVarArgs{Name: pulumi.String("PGDATA"), Value: pulumi.String(pgdata)},
		},
		StartupProbe:   probe(5, 60),
		ReadinessProbe: probe(10, 3),
		// Liveness only asks whether the server still accepts connections; pg_isready
		// also fails during recovery, which must not be interrupted.
		LivenessProbe:   tcpLivenessProbe("tcp-postgresql", 6),
		Resources:       spec.Resources.args("64Mi", "1Gi"),
		SecurityContext: containerSecurityContext(postgresUID),
		VolumeMounts: corev1.VolumeMountArray{
			volumeMount("data", "/var/lib/postgresql/data"),
			volumeMount("run", "/var/run/postgresql"),
			volumeMount("tmp", "/tmp"),
			volumeMount("shm", "/dev/shm"),
		},
	}
}
