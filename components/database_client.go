package components

import (
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// databaseClient is one of the program's own pods that talk to PostgreSQL (the role
// Job, the backups): a shell script run with the postgres image's tools, as its
// postgres user, under restricted Pod Security, labelled so that the NetworkPolicies
// let it reach the database and nothing else.
type databaseClient struct {
	name, image, script string
	env                 corev1.EnvVarArray
	volumes             corev1.VolumeArray
	mounts              corev1.VolumeMountArray
	scheduling          Scheduling
	resources           containerResources
	// restartPolicy is OnFailure for a Job retried in place, Never for a CronJob's runs.
	restartPolicy string
}

func (c databaseClient) pod() *corev1.PodTemplateSpecArgs {
	return &corev1.PodTemplateSpecArgs{
		Metadata: &metav1.ObjectMetaArgs{Labels: pulumi.ToStringMap(DatabaseClientSelector)},
		Spec: &corev1.PodSpecArgs{
			RestartPolicy:                pulumi.String(c.restartPolicy),
			AutomountServiceAccountToken: pulumi.Bool(false),
			EnableServiceLinks:           pulumi.Bool(false),
			SecurityContext:              podSecurityContext(postgresUID),
			NodeSelector:                 c.scheduling.nodeSelector(),
			Tolerations:                  c.scheduling.tolerations(),
			PriorityClassName:            c.scheduling.priorityClassName(),
			Containers: corev1.ContainerArray{corev1.ContainerArgs{
				Name:            pulumi.String(c.name),
				Image:           pulumi.String(c.image),
				ImagePullPolicy: pulumi.String("Always"),
				Command:         pulumi.ToStringArray([]string{"sh", "-c", c.script}),
				Env:             c.env,
				Resources:       c.resources.args(),
				SecurityContext: containerSecurityContext(postgresUID),
				VolumeMounts:    c.mounts,
			}},
			Volumes: c.volumes,
		},
	}
}

// job runs the client once, retried in place until it succeeds or backoffLimit runs out.
func (c databaseClient) job(name string, namespace pulumi.StringInput, backoffLimit int) *batchv1.JobArgs {
	c.restartPolicy = "OnFailure"
	return &batchv1.JobArgs{
		Metadata: objectMeta(name, namespace, DatabaseClientSelector,
			kubeScoreIgnoreUID("runs the postgres image's tools as its postgres user, UID 999")),
		Spec: &batchv1.JobSpecArgs{BackoffLimit: pulumi.Int(backoffLimit), Template: c.pod()},
	}
}
