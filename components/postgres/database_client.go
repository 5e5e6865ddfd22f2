package postgres

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/workload"
	"github.com/arhean/backstage-pulumi/internal/kube"
)

// databaseClient is one of the program's own pods that talk to PostgreSQL (the role
// Job, the backups): a shell script run with the postgres image's tools, as its
// postgres user, under restricted Pod Security, labelled so that the NetworkPolicies
// let it reach the database and nothing else.
type databaseClient struct {
	name, image, script string
	env                 []corev1.EnvVar
	volumes             []corev1.Volume
	mounts              []corev1.VolumeMount
	scheduling          workload.Scheduling
	resources           workload.ContainerResources
	// restartPolicy is OnFailure for a Job retried in place, Never for a CronJob's runs.
	restartPolicy string
	// serviceAccountName, when set, gives the pod a cloud identity (backups to a bucket).
	serviceAccountName string
	// affinity, when set, places the pod (beside the server whose claim it mounts).
	affinity *corev1.Affinity
	// initContainers run before the client's (rclone's copy into the pod, for one).
	initContainers []corev1.Container
}

func (c databaseClient) pod() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: names.DatabaseClientSelector},
		Spec: corev1.PodSpec{
			RestartPolicy:                corev1.RestartPolicy(c.restartPolicy),
			ServiceAccountName:           c.serviceAccountName,
			Affinity:                     c.affinity,
			AutomountServiceAccountToken: ptr.To(false),
			EnableServiceLinks:           ptr.To(false),
			SecurityContext:              workload.PodSecurityContext(postgresUID),
			NodeSelector:                 c.scheduling.NodeSelector,
			Tolerations:                  c.scheduling.Tolerations,
			PriorityClassName:            c.scheduling.PriorityClassName,
			InitContainers:               c.initContainers,
			Containers: []corev1.Container{{
				Name:            c.name,
				Image:           c.image,
				ImagePullPolicy: corev1.PullAlways,
				Command:         []string{"sh", "-c", c.script},
				Env:             c.env,
				Resources:       c.resources.Requirements(),
				SecurityContext: workload.ContainerSecurityContext(postgresUID),
				VolumeMounts:    c.mounts,
			}},
			Volumes: c.volumes,
		},
	}
}

// job runs the client once, retried in place until it succeeds or backoffLimit runs out.
func (c databaseClient) job(refs *kube.Refs, name string, namespace pulumi.StringInput, backoffLimit int32) *batchv1.Job {
	c.restartPolicy = "OnFailure"
	return &batchv1.Job{
		ObjectMeta: workload.ObjectMeta(refs, name, namespace, names.DatabaseClientSelector,
			workload.KubeScoreIgnoreUID("runs the postgres image's tools as its postgres user, UID 999")),
		Spec: batchv1.JobSpec{BackoffLimit: ptr.To(backoffLimit), Template: c.pod()},
	}
}

// cronJob runs the client on a schedule, one run at a time, or, suspended, only when a
// Job is started from it by hand.
func (c databaseClient) cronJob(refs *kube.Refs, name string, namespace pulumi.StringInput, schedule string, suspended bool) *batchv1.CronJob {
	c.restartPolicy = "Never"
	return &batchv1.CronJob{
		ObjectMeta: workload.ObjectMeta(refs, name, namespace, names.DatabaseClientSelector,
			workload.KubeScoreIgnoreUID("runs the postgres image's tools as its postgres user, UID 999")),
		Spec: batchv1.CronJobSpec{
			Schedule:                   schedule,
			Suspend:                    ptr.To(suspended),
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			StartingDeadlineSeconds:    ptr.To[int64](3600),
			SuccessfulJobsHistoryLimit: ptr.To[int32](3),
			FailedJobsHistoryLimit:     ptr.To[int32](3),
			JobTemplate: batchv1.JobTemplateSpec{
				Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](2), Template: c.pod()},
			},
		},
	}
}
