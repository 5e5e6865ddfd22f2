package postgres

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/arhean/backstage-pulumi/components/workload"
	"github.com/arhean/backstage-pulumi/internal/kube"
)

// An external database's dumps in the stack's bucket (docs/decisions/0016 says why
// rclone): the postgres image has pg_dump and no S3 client, rclone's image the reverse,
// so an init container copies rclone's static binary into the pod and the postgres
// image's shell pipes pg_dump into it. Nothing is staged on a disk, so no claim is sized.

// toolsDir is where the init container puts rclone.
const toolsDir = "/tools"

// bucketCronJob runs a script with libpq's and rclone's environment: the dump on its
// schedule, the restore suspended, started by `make restore BACKUP=`.
func bucketCronJob(refs *kube.Refs, args BackupArgs, name, script string, suspended bool, in cronJobInputs) *batchv1.CronJob {
	store := in.objectStore
	env := append(databaseEnv(refs, args, in), storeEnv(args.ObjectStore.RcloneSettings(store.caFile()), args.ObjectStore.rcloneSecretEnv())...)
	env = append(env, corev1.EnvVar{Name: "TOOLS", Value: toolsDir})
	volumes, mounts := databaseCAVolumes(refs, in)
	storeVolumes, storeMounts := objectStoreVolumes(refs, store)
	volumes = append(append(volumes, storeVolumes...), workload.ScratchVolume("tmp", "64Mi"), workload.ScratchVolume("tools", "256Mi"))
	mounts = append(append(mounts, storeMounts...), workload.VolumeMount("tmp", "/tmp"), workload.ReadOnlyMount("tools", toolsDir))
	client := databaseClient{
		name: name, image: args.Image, script: script, env: env,
		volumes: volumes, mounts: mounts, scheduling: args.Scheduling,
		resources: workload.ContainerResources{
			CPU: "100m", Memory: "128Mi", Ephemeral: "16Mi",
			// The tools folder's rclone counts against the pod's ephemeral storage.
			CPULimit: "1", MemoryLimit: "512Mi", EphemeralLimit: "384Mi",
		},
		initContainers: []corev1.Container{rcloneCopy(args.RcloneImage)},
	}
	if store.serviceAccountName != nil {
		client.serviceAccountName = refs.String(store.serviceAccountName)
	}
	return client.cronJob(refs, name, args.Namespace, args.Schedule, suspended)
}

// rcloneCopy copies rclone's binary, static in its image, into the tools folder.
func rcloneCopy(image string) corev1.Container {
	return corev1.Container{
		Name:            "rclone",
		Image:           image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         []string{"cp", "/usr/local/bin/rclone", toolsDir + "/rclone"},
		Resources: workload.ContainerResources{
			CPU: "10m", Memory: "16Mi", Ephemeral: "1Mi",
			CPULimit: "100m", MemoryLimit: "64Mi", EphemeralLimit: "16Mi",
		}.Requirements(),
		SecurityContext: workload.ContainerSecurityContext(postgresUID),
		VolumeMounts:    []corev1.VolumeMount{workload.VolumeMount("tools", toolsDir)},
	}
}
